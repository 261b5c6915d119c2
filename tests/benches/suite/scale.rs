//! Control plane at scale: the real store, controllers and API over the
//! simulated hypervisor, network and disks (`slicer_e2e::sim`), with a
//! fleet of host-group services (default 10 groups × 1000). Measures time
//! to converge, reconciles per second, `GET /nodes` latency, daemon memory
//! and store size per VM, then deletes everything and counts leftovers.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use slicer_api::types::TagFilter;
use slicer_controller::config::HostGroupSpec;
use slicer_controller::daemon::apply_groups;
use slicer_controller::lifecycle::Timing;
use slicer_controller::model::Vm;
use slicer_controller::reconcile::RunnerConfig;
use slicer_e2e::Rig;
use slicer_e2e::in_process::{DaemonParts, InProcessDaemon, SYSTEM_IMAGES};
use slicer_e2e::sim::{SimulatedAgent, SimulatedDisks, SimulatedHypervisor, SimulatedNetwork};

use crate::Plan;
use crate::figures::{Table, percentile_ms};

const GROUPS: usize = 10;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Bytes allocated under `dir`, recursively.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

fn fleet_yaml(vms: usize) -> String {
    let mut yaml = String::from("config:\n  host_groups:\n");
    for g in 0..GROUPS {
        let count = vms / GROUPS + usize::from(g < vms % GROUPS);
        yaml.push_str(&format!(
            "  - name: sim{g}\n    count: {count}\n    vcpu: 1\n    ram_mb: 256\n    storage: image\n    storage_size: 1G\n    network:\n      bridge: simbr{g}\n      tap_prefix: sim{g}t\n      gateway: 10.{}.0.1/20\n",
            100 + g
        ));
    }
    yaml
}

fn running(daemon: &InProcessDaemon) -> usize {
    daemon.ctx.store.list::<Vm>().map_or(0, |vms| {
        vms.iter()
            .filter(|vm| vm.status.phase == slicer_controller::model::VmPhase::Running)
            .count()
    })
}

pub async fn run(rig: &Rig, plan: &Plan, table: &mut Table) -> anyhow::Result<()> {
    let vms = plan.scale_vms;
    let dir = rig.scratch().join("scale");
    std::fs::create_dir_all(&dir)?;
    let agent = SimulatedAgent::serve(&dir.join("agent.sock"))?;
    let hypervisor = Arc::new(SimulatedHypervisor::new(agent.socket().to_owned())?);
    let network = Arc::new(SimulatedNetwork::default());
    let disks = Arc::new(SimulatedDisks::default());
    let rss_before = rss_kib();
    // What a daemon for thousands of VMs would set: more workers (the work
    // is I/O-bound), and rare periodic checks.
    let runner = RunnerConfig {
        workers: 32,
        resync_every: Duration::from_secs(600),
    };
    let timing = Timing {
        agent_ready: Duration::from_secs(30),
        stop_grace: Duration::from_secs(1),
        watch_running: Duration::from_secs(60),
    };
    let daemon = InProcessDaemon::start(
        &dir,
        Path::new(SYSTEM_IMAGES),
        DaemonParts {
            hypervisor: hypervisor.clone(),
            network: network.clone(),
            disks: disks.clone(),
            timing,
            runner,
        },
    )
    .await?;
    let tuning = format!(
        "{GROUPS} groups; workers {}, resync {} s, watch_running {} s",
        runner.workers,
        runner.resync_every.as_secs(),
        timing.watch_running.as_secs()
    );

    let start = Instant::now();
    daemon.apply_yaml(&fleet_yaml(vms))?;
    let mut ready = 0;
    let mut half = None;
    let deadline = start + plan.scale_timeout;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ready = running(&daemon);
        if half.is_none() && ready * 2 >= vms {
            half = Some(start.elapsed());
        }
        eprintln!(
            "bench: scale: {ready}/{vms} running after {:.0} s (passes {:?})",
            start.elapsed().as_secs_f64(),
            daemon.passes()
        );
        if ready >= vms {
            break;
        }
    }
    let converge = start.elapsed();
    let (vm_passes, group_passes) = daemon.passes();
    let converged = ready >= vms;
    table.cells(
        "scale (simulated)",
        format!("apply {vms} services → all Running"),
        if converged {
            format!("{:.1} s", converge.as_secs_f64())
        } else {
            format!("> {:.0} s", converge.as_secs_f64())
        },
        half.map_or(String::new(), |h| {
            format!("half at {:.1} s", h.as_secs_f64())
        }),
        "",
        format!(
            "{ready}/{vms} Running; {:.0} VMs/s; {tuning}",
            ready as f64 / converge.as_secs_f64()
        ),
    );
    table.cells(
        "scale (simulated)",
        "reconcile passes during converge",
        format!("{:.0} /s", vm_passes as f64 / converge.as_secs_f64()),
        "",
        "",
        format!(
            "{vm_passes} vm passes ({:.1} per VM), {group_passes} group passes; agent saw {} health, {} provision",
            vm_passes as f64 / vms as f64,
            agent.counters().health.load(Ordering::Relaxed),
            agent.counters().provision.load(Ordering::Relaxed)
        ),
    );

    // Steady state: nothing changes, so every pass now is overhead.
    let (v0, g0) = daemon.passes();
    let idle = Duration::from_secs(if plan.quick { 5 } else { 10 });
    tokio::time::sleep(idle).await;
    let (v1, g1) = daemon.passes();
    table.cells(
        "scale (simulated)",
        "reconcile passes with nothing to do",
        format!("{:.0} /s", (v1 - v0) as f64 / idle.as_secs_f64()),
        "",
        "",
        format!(
            "vm {:.0}/s, group {:.0}/s over {} s idle",
            (v1 - v0) as f64 / idle.as_secs_f64(),
            (g1 - g0) as f64 / idle.as_secs_f64(),
            idle.as_secs()
        ),
    );

    let mut lists = Vec::new();
    let mut listed = 0;
    for _ in 0..plan.list_calls {
        let t = Instant::now();
        listed = daemon
            .client
            .nodes(None, &TagFilter::default())
            .await?
            .len();
        lists.push(t.elapsed());
    }
    table.cells(
        "scale (simulated)",
        format!("`GET /nodes` with {listed} VMs"),
        format!("p50 {:.0} ms", percentile_ms(&lists, 50)),
        format!("p99 {:.0} ms", percentile_ms(&lists, 99)),
        format!("{:.0} ms", percentile_ms(&lists, 100)),
        format!("{} calls, one at a time, controllers running", lists.len()),
    );

    let rss_after = rss_kib();
    daemon.ctx.store.flush()?;
    let sled = disk_usage(&daemon.data().store_dir());
    table.cells(
        "scale (simulated)",
        "daemon memory per VM",
        format!(
            "{:.1} KiB",
            rss_after.saturating_sub(rss_before) as f64 / ready.max(1) as f64
        ),
        "",
        "",
        format!(
            "VmRSS {} → {} MiB (whole bench process; simulated drivers included)",
            rss_before >> 10,
            rss_after >> 10
        ),
    );
    table.cells(
        "scale (simulated)",
        "sled store on disk",
        format!("{:.1} MiB", sled as f64 / (1 << 20) as f64),
        "",
        "",
        format!(
            "{:.1} KiB per VM (objects, events, leases, TAP registry)",
            sled as f64 / 1024.0 / vms as f64
        ),
    );

    let start = Instant::now();
    apply_groups(&daemon.ctx.store, &[], true)?;
    let deadline = start + plan.scale_timeout;
    let mut left = (usize::MAX, usize::MAX);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        left = (
            daemon.ctx.store.names::<Vm>()?.len(),
            daemon.ctx.store.names::<HostGroupSpec>()?.len(),
        );
        eprintln!(
            "bench: scale delete: {} vms, {} groups left after {:.0} s",
            left.0,
            left.1,
            start.elapsed().as_secs_f64()
        );
        if left == (0, 0) {
            break;
        }
    }
    let deleted = start.elapsed();
    let run_dirs = std::fs::read_dir(daemon.data().run_root()).map_or(0, Iterator::count);
    let leases = daemon.ctx.ipam.owners()?.len();
    let taps = daemon.ctx.taps.list()?.len();
    table.cells(
        "scale (simulated)",
        format!("delete all {vms} (prune the groups)"),
        if left == (0, 0) {
            format!("{:.1} s", deleted.as_secs_f64())
        } else {
            format!("> {:.0} s", deleted.as_secs_f64())
        },
        "",
        "",
        format!(
            "leftovers: {} vm objects, {} groups, {leases} leases, {taps} TAP registry entries, {run_dirs} run dirs, {} simulated TAPs, {} bridges, {} disks",
            left.0,
            left.1,
            network.tap_count(),
            network.bridge_count(),
            disks.count()
        ),
    );
    daemon.stop().await?;
    eprintln!(
        "bench: scale: simulated hypervisor launched {}, stopped {}",
        hypervisor.launches(),
        hypervisor.stops()
    );
    drop(agent);
    Ok(())
}
