//! The benchmark suite (issue 6): boot, exec, copy, disk clone,
//! concurrency and control-plane scale, each against a baseline measured
//! in the same invocation. Prints one table; asserts nothing about speed.
//!
//! Run: `sudo cargo bench -p slicer-e2e --bench suite` (images must exist
//! in `/var/lib/slicer/images`). `SLICER_BENCH_QUICK=1` repeats less;
//! `SLICER_BENCH_ONLY=boot,scale` runs a subset; `SLICER_BENCH_SCALE_VMS`
//! changes the simulated fleet size (default 10000).
//!
//! The whole process moves into a private network namespace first, so the
//! daemon's bridges and TAPs never touch the host's links.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    missing_docs
)]

mod boot;
mod concurrency;
mod copy;
mod disk;
mod exec;
mod figures;
mod real;
mod scale;
mod vsock_stream;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use figures::Table;
use slicer_e2e::Rig;

/// How much to repeat; `SLICER_BENCH_QUICK=1` picks the small plan.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub quick: bool,
    pub boot_runs: usize,
    pub full_runs: usize,
    pub exec_calls: usize,
    pub copy_bytes: usize,
    pub copy_rounds: usize,
    pub disk_runs: usize,
    pub concurrency_runs: usize,
    pub scale_vms: usize,
    pub list_calls: usize,
    pub scale_timeout: Duration,
}

impl Plan {
    fn from_env() -> Self {
        let quick = std::env::var("SLICER_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
        let scale_vms = std::env::var("SLICER_BENCH_SCALE_VMS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        if quick {
            Self {
                quick,
                boot_runs: 3,
                full_runs: 1,
                exec_calls: 200,
                copy_bytes: 64 << 20,
                copy_rounds: 1,
                disk_runs: 3,
                concurrency_runs: 1,
                scale_vms,
                list_calls: 20,
                scale_timeout: Duration::from_secs(240),
            }
        } else {
            Self {
                quick,
                boot_runs: 5,
                full_runs: 3,
                exec_calls: 500,
                copy_bytes: 256 << 20,
                copy_rounds: 2,
                disk_runs: 5,
                concurrency_runs: 2,
                scale_vms,
                list_calls: 50,
                scale_timeout: Duration::from_secs(360),
            }
        }
    }
}

fn wanted(section: &str) -> bool {
    match std::env::var("SLICER_BENCH_ONLY") {
        Ok(only) if !only.is_empty() => only.split(',').any(|s| s.trim() == section),
        _ => true,
    }
}

fn host_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".to_owned());
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{cpus} CPUs ({cpu}), {:.1} GiB",
        mem_kib as f64 / (1024.0 * 1024.0)
    )
}

/// The 1, 5 and 15 minute load averages: the machine is shared, and a
/// busy one stretches every guest figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> anyhow::Result<()> {
    // Controller warnings (failed reconciles, a lagging store watch) are
    // part of what a run shows; `SLICER_BENCH_LOG` picks another level.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLICER_BENCH_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    // Before any thread exists, so every runtime thread and every process
    // spawned later (QEMU, vhost-device-vsock) shares the namespace.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .context("unshare(CLONE_NEWNET) failed: the suite needs root")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(suite())
}

async fn suite() -> anyhow::Result<()> {
    let started = Instant::now();
    let plan = Plan::from_env();
    let rig = Rig::new()?;
    let driver = slicer_controller::hypervisor::Hypervisor::describe(rig.driver().as_ref());
    let load_at_start = load_average();
    eprintln!("bench: {} load {load_at_start} plan={plan:?}", host_line());
    let mut table = Table::default();
    let mut sections = Vec::new();

    macro_rules! section {
        ($name:literal, $body:expr) => {
            if wanted($name) {
                let t = Instant::now();
                if let Err(err) = $body {
                    eprintln!("bench: {} failed: {err:#}", $name);
                    table.cells(
                        $name,
                        "FAILED",
                        "",
                        "",
                        "",
                        format!("{err:#}").replace('|', "/"),
                    );
                }
                eprintln!(
                    "bench: section {} took {:.1} s",
                    $name,
                    t.elapsed().as_secs_f64()
                );
                sections.push(($name, t.elapsed()));
            }
        };
    }

    let needs_real = ["boot", "exec", "copy", "concurrency"]
        .iter()
        .any(|s| wanted(s));
    let daemon = if needs_real {
        Some(real::start(&rig).await?)
    } else {
        None
    };
    if let Some(daemon) = &daemon {
        section!("boot", boot::run(&rig, daemon, &plan, &mut table).await);
        section!("exec", exec::run(daemon, &plan, &mut table).await);
        section!("copy", copy::run(&rig, daemon, &plan, &mut table).await);
        section!(
            "concurrency",
            concurrency::run(daemon, &plan, &mut table).await
        );
    }
    if let Some(daemon) = daemon {
        daemon.stop().await?;
    }
    section!("disk", disk::run(&rig, &plan, &mut table));
    section!("scale", scale::run(&rig, &plan, &mut table).await);

    let total = started.elapsed();
    println!();
    println!("slicer benchmark suite: {}", host_line());
    println!("driver: {driver}");
    println!(
        "load average at start {load_at_start}, at end {}",
        load_average()
    );
    println!(
        "plan: {}; total {:.1} s ({})",
        if plan.quick { "quick" } else { "full" },
        total.as_secs_f64(),
        sections
            .iter()
            .map(|(name, d)| format!("{name} {:.0} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    print!("{}", table.markdown());
    Ok(())
}
