//! The in-process daemon over the real drivers (QEMU, Linux networking,
//! image files), with the groups the guest figures use, and the API calls
//! they share.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slicer_api::client::SlicerClient;
use slicer_api::types::{CreateNodeQuery, CreateNodeRequest, TagFilter, WaitFor};
use slicer_controller::lifecycle::Timing;
use slicer_controller::network::LinuxNetwork;
use slicer_controller::reconcile::RunnerConfig;
use slicer_controller::storage::ImageFiles;
use slicer_e2e::Rig;
use slicer_e2e::in_process::{DaemonParts, InProcessDaemon, SYSTEM_IMAGES};

/// `bmin`/`bfull` match the rig's guests (1 vCPU; 256 MiB and 1 GiB, no
/// NIC, disks the size of the image, so none is grown) so API and driver boots compare like with like; `conc` has a NIC
/// on a bridge, as sandboxes usually do.
const GROUPS: &str = r#"
config:
  host_groups:
  - name: bmin
    count: 0
    vcpu: 1
    ram_mb: 256
    storage: image
    storage_size: 512M
  - name: bfull
    count: 0
    vcpu: 1
    ram_mb: 1024
    storage: image
    storage_size: 2G
    image: full
  - name: conc
    count: 0
    vcpu: 1
    ram_mb: 256
    storage: image
    storage_size: 512M
    network:
      bridge: brbench0
      tap_prefix: conc
      gateway: 10.231.0.1/24
"#;

/// Start the daemon the guest figures share.
pub async fn start(rig: &Rig) -> anyhow::Result<InProcessDaemon> {
    let parts = DaemonParts {
        hypervisor: rig.driver().clone(),
        network: Arc::new(LinuxNetwork::new()?),
        disks: Arc::new(ImageFiles),
        timing: Timing::default(),
        runner: RunnerConfig {
            workers: 8,
            resync_every: Duration::from_secs(30),
        },
    };
    let daemon = InProcessDaemon::start(rig.scratch(), Path::new(SYSTEM_IMAGES), parts).await?;
    daemon.apply_yaml(GROUPS)?;
    Ok(daemon)
}

/// Create a sandbox in `group` and wait for its agent: (hostname, time).
pub async fn create(client: &SlicerClient, group: &str) -> anyhow::Result<(String, Duration)> {
    let start = Instant::now();
    let created = client
        .create_node(
            group,
            &CreateNodeQuery {
                wait: Some(WaitFor::Agent),
                timeout: Some("180s".to_owned()),
            },
            &CreateNodeRequest::default(),
        )
        .await?;
    Ok((created.hostname, start.elapsed()))
}

/// Delete a sandbox and wait for its teardown.
pub async fn delete(client: &SlicerClient, group: &str, hostname: &str) -> anyhow::Result<()> {
    let response = client.delete_node(group, hostname).await?;
    anyhow::ensure!(
        response.error.is_none(),
        "delete of {hostname}: {}",
        response.message
    );
    Ok(())
}

/// Attempts a boot gets before its figure fails: a loaded shared host
/// stalls a TCG boot now and then, and one retry is enough to tell a stall
/// from a fault. Retries are counted and printed with the figure.
pub const BOOT_ATTEMPTS: u32 = 2;

/// [`create`], retried once after a failure (the group is emptied first,
/// so a half-created sandbox does not linger): (hostname, time of the
/// attempt that worked, which attempt that was).
pub async fn create_retrying(
    client: &SlicerClient,
    group: &str,
) -> anyhow::Result<(String, Duration, u32)> {
    let mut failures = Vec::new();
    for attempt in 1..=BOOT_ATTEMPTS {
        match create(client, group).await {
            Ok((host, took)) => return Ok((host, took, attempt)),
            Err(err) => {
                eprintln!("bench: create in {group}, attempt {attempt} failed: {err:#}");
                failures.push(format!("attempt {attempt}: {err:#}"));
                clear(client, group).await;
            }
        }
    }
    anyhow::bail!("create in {group} failed: {}", failures.join("; "))
}

/// Delete every sandbox of `group`, ignoring failures (best effort).
pub async fn clear(client: &SlicerClient, group: &str) {
    let nodes = client
        .nodes(Some(group), &TagFilter::default())
        .await
        .unwrap_or_default();
    for node in nodes {
        let _ = delete(client, group, &node.hostname).await;
    }
}
