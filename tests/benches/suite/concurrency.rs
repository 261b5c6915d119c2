//! Concurrency figures: N sandboxes (with a NIC on the group's bridge)
//! created at once through the API with `wait=agent`; time until the last
//! one is ready. N = 1 is the baseline of the ratios. A batch in which a
//! boot stalls is counted as failed in the note, not in the figure.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use slicer_e2e::in_process::InProcessDaemon;

use crate::Plan;
use crate::figures::{Summary, Table, ratio};
use crate::real::{clear, create, delete};

const SIZES: [usize; 4] = [1, 2, 4, 8];

pub async fn run(daemon: &InProcessDaemon, plan: &Plan, table: &mut Table) -> anyhow::Result<()> {
    let client = &daemon.client;
    let mut single = None;
    for n in SIZES {
        let mut all_ready = Vec::new();
        let mut first_ready = Vec::new();
        let mut failed = Vec::new();
        for _ in 0..plan.concurrency_runs {
            let start = Instant::now();
            let created = join_all((0..n).map(|_| create(client, "conc"))).await;
            let took = start.elapsed();
            let mut hosts = Vec::new();
            let mut errors = Vec::new();
            let mut each = Vec::new();
            for result in created {
                match result {
                    Ok((host, t)) => {
                        hosts.push(host);
                        each.push(t);
                    }
                    Err(err) => errors.push(format!("{err:#}")),
                }
            }
            join_all(hosts.iter().map(|h| delete(client, "conc", h))).await;
            clear(client, "conc").await;
            if let Some(error) = errors.first() {
                // A batch with a stalled boot has no "all ready" time; it
                // is reported, not retried, so the figure stays honest.
                eprintln!("bench: {n} at once: {}", errors.join("; "));
                failed.push(format!(
                    "{} of {n} not ready ({})",
                    errors.len(),
                    error
                        .chars()
                        .take(160)
                        .collect::<String>()
                        .replace('|', "/")
                ));
                continue;
            }
            all_ready.push(took);
            first_ready.push(each.iter().min().copied().unwrap_or(Duration::ZERO));
        }
        let summary = Summary::of_ms(&all_ready);
        let first = Summary::of_ms(&first_ready);
        if n == 1 {
            single = summary;
        }
        table.summary(
            "concurrency",
            format!("{n} sandboxes at once → all ready"),
            summary,
            "ms",
            format!(
                "first ready {:.0} ms; vs N=1 {}{}{}",
                first.map_or(f64::NAN, |s| s.median),
                ratio(summary, single),
                if n == 1 { " (baseline)" } else { "" },
                if failed.is_empty() {
                    String::new()
                } else {
                    format!("; {} run(s) failed: {}", failed.len(), failed.join("; "))
                }
            ),
        );
    }
    Ok(())
}
