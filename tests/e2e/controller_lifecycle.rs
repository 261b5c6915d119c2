//! The controller end to end, with real guests, TAPs, bridges and sled:
//! `slicer apply` a group with `count: 2` (two VMs answer exec with
//! distinct IPs reachable over the bridge), scale to 3 and back to 1, roll
//! a RAM change keeping the disk's files, kill -9 a VM's QEMU (relaunched),
//! kill -9 the daemon (the restart adopts the same PIDs), then delete the
//! group and check nothing is left.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::time::Duration;

use slicer_e2e::TestDaemon;

const BOOT: Duration = Duration::from_secs(120);

fn group_yaml(count: u32, ram_mb: u32) -> String {
    format!(
        r#"config:
  host_groups:
    - name: e2e
      count: {count}
      vcpu: 1
      ram_mb: {ram_mb}
      storage: image
      storage_size: 512M
      network:
        bridge: bre2e0
        tap_prefix: e2etap
        gateway: 10.231.0.1/24
"#
    )
}

fn exec(daemon: &TestDaemon, vm: &str, command: &str) -> anyhow::Result<String> {
    daemon.cli_ok(&["vm", "exec", vm, "--", command])
}

fn mem_total_kib(daemon: &TestDaemon, vm: &str) -> anyhow::Result<u64> {
    let text = exec(daemon, vm, "grep MemTotal /proc/meminfo")?;
    Ok(text
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_group_lifecycle_with_real_guests() -> anyhow::Result<()> {
    let mut daemon = TestDaemon::new(env!("CARGO_BIN_EXE_slicer-e2e-cli"))?;
    let empty = daemon.path("empty.yaml");
    std::fs::write(&empty, "config:\n  host_groups: []\n")?;
    let hosts = daemon.path("hosts.yaml");
    daemon.start(&empty).await?;

    // Apply: created, then unchanged; a dry run prints the diff only.
    std::fs::write(&hosts, group_yaml(2, 256))?;
    let hosts_arg = hosts.to_str().unwrap();
    assert_eq!(
        daemon.cli_ok(&["apply", "-f", hosts_arg])?.trim(),
        "hostgroup/e2e created"
    );
    assert_eq!(
        daemon.cli_ok(&["apply", "-f", hosts_arg])?.trim(),
        "hostgroup/e2e unchanged"
    );
    let dry = daemon.path("dry.yaml");
    std::fs::write(&dry, group_yaml(5, 256))?;
    let out = daemon.cli_ok(&["apply", "-f", dry.to_str().unwrap(), "--dry-run"])?;
    assert!(
        out.contains("hostgroup/e2e updated (dry run)") && out.contains("count: 2 -> 5"),
        "{out}"
    );
    let stored = daemon.cli_ok(&["get", "hostgroups", "-o", "yaml"])?;
    assert!(
        stored.contains("count: 2"),
        "a dry run changed nothing: {stored}"
    );
    // The stored groups round-trip: applying them back is unchanged.
    let round = daemon.path("round.yaml");
    std::fs::write(&round, &stored)?;
    assert_eq!(
        daemon
            .cli_ok(&["apply", "-f", round.to_str().unwrap()])?
            .trim(),
        "hostgroup/e2e unchanged"
    );

    // Two services with distinct addresses, reachable from the host side.
    let nodes = daemon.wait_running(&["e2e-1", "e2e-2"], BOOT).await?;
    let mut ips: Vec<String> = nodes.iter().map(|n| n.ip.clone()).collect();
    ips.dedup();
    assert_eq!(ips.len(), 2, "{nodes:?}");
    for node in &nodes {
        assert_eq!(
            exec(&daemon, &node.hostname, "hostname")?.trim(),
            node.hostname
        );
        let ip = node.ip.split('/').next().unwrap();
        let ping = daemon.in_netns(&["ping", "-c", "1", "-W", "5", ip])?;
        assert!(
            ping.status.success(),
            "ping {ip}: {}",
            String::from_utf8_lossy(&ping.stdout)
        );
        let inside = exec(
            &daemon,
            &node.hostname,
            "ping -c 1 -W 5 10.231.0.1 >/dev/null && echo ok",
        )?;
        assert_eq!(inside.trim(), "ok", "the guest reaches its gateway");
    }
    // Exit codes come back through the CLI.
    let failed = daemon.cli(&["vm", "exec", "e2e-1", "--", "exit 7"])?;
    assert_eq!(failed.status.code(), Some(7));
    // Services are protected.
    let refused = daemon
        .client()
        .delete_node("e2e", "e2e-1")
        .await
        .unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(403), "{refused}");

    // Scale to 3, then back to 1: the highest indexes go, with their
    // TAPs and disks.
    std::fs::write(&hosts, group_yaml(3, 256))?;
    daemon.cli_ok(&["apply", "-f", hosts_arg])?;
    daemon
        .wait_running(&["e2e-1", "e2e-2", "e2e-3"], BOOT)
        .await?;
    std::fs::write(&hosts, group_yaml(1, 256))?;
    daemon.cli_ok(&["apply", "-f", hosts_arg])?;
    daemon.wait_running(&["e2e-1"], BOOT).await?;
    assert_eq!(daemon.links("e2etap")?, ["e2etap1"]);
    assert_eq!(daemon.entries(&daemon.data().disks_dir()), ["e2e-1.img"]);

    // Roll a RAM change: the VM restarts with more memory, its files kept.
    exec(&daemon, "e2e-1", "echo kept > /root/marker && sync")?;
    let before = mem_total_kib(&daemon, "e2e-1")?;
    let old_pid = daemon.vmm_pid("e2e-1").unwrap();
    std::fs::write(&hosts, group_yaml(1, 384))?;
    let out = daemon.cli_ok(&["apply", "-f", hosts_arg])?;
    assert!(out.contains("ram_bytes"), "{out}");
    let deadline = std::time::Instant::now() + BOOT;
    loop {
        let nodes = daemon.nodes().await?;
        if nodes[0].ram_bytes == 384 << 20
            && nodes[0].status == "Running"
            && daemon.vmm_pid("e2e-1").is_some_and(|p| p != old_pid)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rolling never finished\n{}",
            daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    daemon.wait_running(&["e2e-1"], BOOT).await?;
    let after = mem_total_kib(&daemon, "e2e-1")?;
    assert!(
        after > before + 100 * 1024,
        "MemTotal {before} -> {after} KiB"
    );
    assert_eq!(exec(&daemon, "e2e-1", "cat /root/marker")?.trim(), "kept");

    // kill -9 the VM's QEMU: the service comes back on the same disk.
    let pid = daemon.vmm_pid("e2e-1").unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    let deadline = std::time::Instant::now() + BOOT;
    while daemon.vmm_pid("e2e-1").is_none_or(|p| p == pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "not relaunched\n{}",
            daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    daemon.wait_running(&["e2e-1"], BOOT).await?;
    assert_eq!(exec(&daemon, "e2e-1", "cat /root/marker")?.trim(), "kept");

    // kill -9 the daemon: the VM keeps running; the restart adopts it.
    let pid = daemon.vmm_pid("e2e-1").unwrap();
    daemon.kill9()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        daemon.vmm_pid("e2e-1"),
        Some(pid),
        "the vm survived the daemon"
    );
    daemon.start(&empty).await?;
    daemon.wait_running(&["e2e-1"], BOOT).await?;
    assert_eq!(
        daemon.vmm_pid("e2e-1"),
        Some(pid),
        "adopted, not relaunched"
    );
    assert_eq!(exec(&daemon, "e2e-1", "hostname")?.trim(), "e2e-1");

    // Delete the group: nothing is left.
    let prune = daemon.cli_ok(&["apply", "-f", empty.to_str().unwrap(), "--prune"])?;
    assert_eq!(prune.trim(), "hostgroup/e2e deleted");
    let deadline = std::time::Instant::now() + BOOT;
    while !daemon.nodes().await?.is_empty() || !daemon.client().host_groups().await?.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "group not deleted\n{}",
            daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    daemon.stop()?;
    assert!(
        daemon.processes().is_empty(),
        "processes left: {:?}",
        daemon.processes()
    );
    assert!(daemon.links("e2etap")?.is_empty(), "taps left");
    assert!(daemon.links("bre2e0")?.is_empty(), "bridge left");
    assert!(
        daemon.entries(&daemon.data().disks_dir()).is_empty(),
        "disks left"
    );
    assert!(
        daemon.entries(&daemon.data().run_root()).is_empty(),
        "run dirs left"
    );
    let store = slicer_controller::store::Store::open(&daemon.data().store_dir())?;
    let ipam = slicer_controller::network::Ipam::new(&store)?;
    assert!(
        ipam.owners()?.is_empty(),
        "leases left: {:?}",
        ipam.owners()?
    );
    Ok(())
}
