//! Crash safety: kill -9 the daemon at random points during 30 sandbox
//! create/delete operations, restart it each time, let it converge, delete
//! everything, and check that nothing leaked: no VMM process, TAP device,
//! disk, run directory, lease or TAP record. Prints the counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::time::{Duration, Instant};

use slicer_api::types::{CreateNodeQuery, CreateNodeRequest};
use slicer_e2e::TestDaemon;

const POOL: &str = r#"config:
  host_groups:
    - name: crash
      count: 0
      vcpu: 1
      ram_mb: 256
      storage: image
      storage_size: 512M
      network:
        bridge: brcrash0
        tap_prefix: crashtap
        gateway: 10.232.0.1/24
"#;

/// A small xorshift generator: the seed is printed so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_creates_and_deletes_leaks_nothing() -> anyhow::Result<()> {
    let seed = std::env::var("SLICER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
                .wrapping_mul(2_654_435_761)
                | 1
        });
    eprintln!("crash test: seed {seed} (SLICER_CRASH_SEED={seed} replays it)");
    let mut rng = Rng(u64::from(seed));
    let mut daemon = TestDaemon::new(env!("CARGO_BIN_EXE_slicer-e2e-cli"))?;
    let config = daemon.path("pool.yaml");
    std::fs::write(&config, POOL)?;
    daemon.start(&config).await?;

    let (mut creates, mut deletes, mut kills, mut failed_calls) = (0, 0, 0, 0);
    for _ in 0..30 {
        let live: Vec<String> = daemon
            .nodes()
            .await?
            .into_iter()
            .map(|n| n.hostname)
            .collect();
        let create = live.is_empty() || (live.len() < 3 && rng.below(2) == 0);
        let client = daemon.client();
        let victim_index = usize::try_from(rng.below(live.len() as u64)).unwrap();
        let op = async {
            if create {
                client
                    .create_node(
                        "crash",
                        &CreateNodeQuery::default(),
                        &CreateNodeRequest::default(),
                    )
                    .await
                    .map(drop)
            } else {
                let victim = &live[victim_index];
                client.delete_node("crash", victim).await.map(drop)
            }
        };
        if create {
            creates += 1;
        } else {
            deletes += 1;
        }
        if rng.below(3) == 0 {
            // Kill the daemon part-way through this operation.
            let delay = Duration::from_millis(rng.below(1500));
            let killed_mid_op = tokio::select! {
                result = op => { failed_calls += usize::from(result.is_err()); false }
                () = tokio::time::sleep(delay) => true,
            };
            if !killed_mid_op {
                tokio::time::sleep(Duration::from_millis(rng.below(1500))).await;
            }
            daemon.kill9()?;
            kills += 1;
            daemon.start(&config).await?;
        } else if op.await.is_err() {
            failed_calls += 1;
        }
    }

    // Converge, then delete everything that is left.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let nodes = daemon.nodes().await?;
        if nodes.is_empty() {
            break;
        }
        for node in &nodes {
            let _ = daemon.client().delete_node("crash", &node.hostname).await;
        }
        assert!(
            Instant::now() < deadline,
            "sandboxes never went away\n{}",
            daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    daemon.stop()?;

    let processes = daemon.processes().len();
    let taps = daemon.links("crashtap")?.len();
    let disks = daemon.entries(&daemon.data().disks_dir()).len();
    let run_dirs = daemon.entries(&daemon.data().run_root()).len();
    let store = slicer_controller::store::Store::open(&daemon.data().store_dir())?;
    let leases = slicer_controller::network::Ipam::new(&store)?
        .owners()?
        .len();
    let tap_records = slicer_controller::lifecycle::TapRegistry::new(&store)?
        .list()?
        .len();
    eprintln!(
        "crash test: 30 operations ({creates} creates, {deletes} deletes, {failed_calls} interrupted or refused calls), {kills} daemon kills; \
         leftovers: processes {processes}, taps {taps}, disks {disks}, run dirs {run_dirs}, leases {leases}, tap records {tap_records}"
    );
    assert_eq!(
        (processes, taps, disks, run_dirs, leases, tap_records),
        (0, 0, 0, 0, 0, 0),
        "seed {seed} leaked"
    );
    Ok(())
}
