//! Guest metrics through the daemon, with one real guest: `GET
//! /node/{h}/stats` carries the agent's sample (memory, CPUs, disk, load,
//! counters), `slicer vm top --once` prints it as a table with rates, and
//! a paused VM shows `-` with the reason in the API's `error`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::time::Duration;

use slicer_e2e::TestDaemon;

const BOOT: Duration = Duration::from_secs(120);
const VM: &str = "st-1";

const CONFIG: &str = r#"config:
  host_groups:
    - name: st
      count: 1
      vcpu: 1
      ram_mb: 256
      storage: image
      storage_size: 512M
"#;

/// The cells of `vm top`'s row for `VM`, and the header's columns.
fn top_row(output: &str) -> (Vec<String>, Vec<String>) {
    let mut lines = output.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let row = lines
        .map(str::trim_start)
        .find(|line| line.starts_with(VM))
        .unwrap_or_else(|| panic!("no row for {VM} in:\n{output}"));
    (header, row.split_whitespace().map(str::to_owned).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_metrics_and_vm_top() -> anyhow::Result<()> {
    let mut daemon = TestDaemon::new(env!("CARGO_BIN_EXE_slicer-e2e-cli"))?;
    let config = daemon.path("stats.yaml");
    std::fs::write(&config, CONFIG)?;
    daemon.start(&config).await?;
    daemon.wait_running(&[VM], BOOT).await?;
    let client = daemon.client();
    // The agent answers once the VM is Running; metrics come from it.
    let mut stats = client.node_stats(Some(VM)).await?;
    for _ in 0..30 {
        if stats[0].snapshot.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        stats = client.node_stats(Some(VM)).await?;
    }
    let stat = &stats[0];
    let snapshot = stat
        .snapshot
        .as_ref()
        .unwrap_or_else(|| panic!("no metrics: {:?}", stat.error));
    assert_eq!(stat.node.hostname, VM);
    assert_eq!(snapshot.total_cpus, 1);
    assert!(
        snapshot.total_memory > 128 << 20 && snapshot.total_memory <= 256 << 20,
        "MemTotal of a 256 MiB guest: {}",
        snapshot.total_memory
    );
    assert!(snapshot.memory_used > 0 && snapshot.memory_used < snapshot.total_memory);
    assert!(snapshot.disk_space_total > 0 && snapshot.disk_space_free <= snapshot.disk_space_total);
    assert!(
        snapshot.disk_read_total > 0.0,
        "the guest read its root disk"
    );
    assert!(!snapshot.uptime.is_empty() && snapshot.timestamp.ends_with('Z'));
    assert_eq!(snapshot.arch, "amd64");
    assert!(stat.error.is_none());
    let all = client.node_stats(None).await?;
    assert_eq!(all.len(), 1);
    assert!(all[0].snapshot.is_some());

    // Writes between the two samples of `--once` show as a disk write rate.
    daemon.cli_ok(&[
        "vm",
        "bg",
        "exec",
        VM,
        "--shell",
        "/bin/sh",
        "--",
        "for i in 1 2 3 4 5 6; do dd if=/dev/zero of=/fill bs=1M count=8 conv=fsync 2>/dev/null; sleep 0.3; done",
    ])?;
    let out = daemon.cli_ok(&["vm", "top", VM, "--once", "--interval", "1s"])?;
    let (header, row) = top_row(&out);
    assert_eq!(header[0], "HOST");
    assert_eq!(header.len(), 15, "{out}");
    assert_eq!(row.len(), header.len(), "{out}");
    let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
    assert_eq!(cell("CPU"), "1", "{out}");
    let written = cell("DW/s");
    assert!(
        written != "-" && written != "0B",
        "dd's writes between the two samples show as a rate: {out}"
    );
    assert_ne!(cell("MEM_FREE"), "-", "{out}");

    // Paused: `-` in the table, the reason in the API.
    client.pause(VM).await?;
    let stats = client.node_stats(Some(VM)).await?;
    assert!(stats[0].snapshot.is_none());
    let error = stats[0].error.clone().unwrap_or_default();
    assert!(error.contains("paused"), "{error}");
    let out = daemon.cli_ok(&["vm", "top", VM, "--once", "--interval", "200ms"])?;
    let (_, row) = top_row(&out);
    assert!(row[2..].iter().all(|c| c == "-"), "{out}");
    client.resume(VM).await?;
    Ok(())
}
