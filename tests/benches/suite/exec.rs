//! Exec figures: round trips of `/bin/true` (buffered) through the API
//! (client → daemon → agent) against direct agent calls over the same
//! VM's hybrid-vsock socket, interleaved so drift hits both equally.

use std::time::{Duration, Instant};

use slicer_api::types::ExecQuery;
use slicer_controller::hypervisor::VmHandle;
use slicer_e2e::in_process::InProcessDaemon;

use crate::Plan;
use crate::figures::{Table, percentile_ms};
use crate::real::{create_retrying, delete};

/// `/bin/true` without a shell.
pub fn true_query() -> ExecQuery {
    ExecQuery {
        cmd: "/bin/true".into(),
        shell: Some(String::new()),
        ..ExecQuery::default()
    }
}

fn latency_row(table: &mut Table, measure: &str, samples: &[Duration], note: String) {
    let max = samples.iter().max().copied().unwrap_or_default();
    table.cells(
        "exec",
        measure,
        format!("p50 {:.2} ms", percentile_ms(samples, 50)),
        format!("p99 {:.2} ms", percentile_ms(samples, 99)),
        format!("{:.2} ms", max.as_secs_f64() * 1e3),
        note,
    );
}

pub async fn run(daemon: &InProcessDaemon, plan: &Plan, table: &mut Table) -> anyhow::Result<()> {
    let client = &daemon.client;
    let (host, _, _) = create_retrying(client, "bmin").await?;
    let handle = VmHandle::load(&daemon.data().run_dir(&host))?
        .ok_or_else(|| anyhow::anyhow!("{host} has no handle"))?;
    let agent = handle.agent();
    let query = true_query();
    let (mut api, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..plan.exec_calls {
        let t = Instant::now();
        let result = client.exec_buffered(&host, &query).await?;
        api.push(t.elapsed());
        anyhow::ensure!(result.exit_code == 0, "api exec failed: {result:?}");
        let t = Instant::now();
        let result = agent.exec_buffered(&query, None).await?;
        direct.push(t.elapsed());
        anyhow::ensure!(result.exit_code == 0, "direct exec failed: {result:?}");
    }
    delete(client, "bmin", &host).await?;
    let n = plan.exec_calls;
    latency_row(
        table,
        "`/bin/true` buffered, direct agent (baseline)",
        &direct,
        format!("{n} calls, new vsock connection each"),
    );
    let ratio = percentile_ms(&api, 50) / percentile_ms(&direct, 50);
    latency_row(
        table,
        "`/bin/true` buffered, through the API",
        &api,
        format!("{n} calls; p50 ratio {ratio:.2}"),
    );
    Ok(())
}
