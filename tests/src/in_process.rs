//! [`InProcessDaemon`]: the daemon's store, controllers and REST API (guest
//! routes included) run inside the test process, wired as `slicer up`
//! wires them (`controller/src/daemon/run.rs`), but over drivers the caller
//! picks (the real QEMU/Linux/image-file ones, or the simulated ones), on a
//! temporary data directory whose `images/` points at the built images.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use async_trait::async_trait;
use slicer_api::client::{Endpoint, SlicerClient};
use slicer_controller::config::HostGroupSpec;
use slicer_controller::daemon::{DaemonBackend, apply_groups, group_triggers};
use slicer_controller::hypervisor::Hypervisor;
use slicer_controller::lifecycle::{Context, GroupReconciler, TapRegistry, Timing, VmReconciler};
use slicer_controller::model::{EventLog, Vm};
use slicer_controller::network::{HostNetwork, Ipam};
use slicer_controller::paths::DataDir;
use slicer_controller::reconcile::{Action, Reconciler, RunnerConfig, run, watch_kind};
use slicer_controller::storage::DiskBackend;
use slicer_controller::store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where the built images live on a host that ran `deploy/install.sh`.
pub const SYSTEM_IMAGES: &str = "/var/lib/slicer/images";

/// The drivers and tuning of one in-process daemon.
#[derive(Debug, Clone)]
pub struct DaemonParts {
    /// The VMM driver.
    pub hypervisor: Arc<dyn Hypervisor>,
    /// Host networking.
    pub network: Arc<dyn HostNetwork>,
    /// Per-VM disks.
    pub disks: Arc<dyn DiskBackend>,
    /// Controller time limits.
    pub timing: Timing,
    /// Worker pool and resync of both controllers.
    pub runner: RunnerConfig,
}

/// A reconciler that counts its passes, so a benchmark can report how many
/// reconciles the controllers ran.
#[derive(Debug)]
struct Counted<R> {
    inner: R,
    passes: Arc<AtomicU64>,
}

#[async_trait]
impl<R: Reconciler> Reconciler for Counted<R> {
    type Error = R::Error;

    async fn reconcile(&self, key: &str) -> Result<Action, Self::Error> {
        self.passes.fetch_add(1, Ordering::Relaxed);
        self.inner.reconcile(key).await
    }

    async fn keys(&self) -> Vec<String> {
        self.inner.keys().await
    }

    fn error_policy(&self, key: &str, error: &Self::Error, attempt: u32) -> Action {
        self.inner.error_policy(key, error, attempt)
    }
}

/// A running daemon inside this process.
#[derive(Debug)]
pub struct InProcessDaemon {
    /// What the controllers share.
    pub ctx: Context,
    /// A typed client of its API socket.
    pub client: SlicerClient,
    socket: PathBuf,
    vm_passes: Arc<AtomicU64>,
    group_passes: Arc<AtomicU64>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    dir: tempfile::TempDir,
}

impl InProcessDaemon {
    /// Make a data directory under `scratch` (with `images/` linked to
    /// `images`), open the store, start both controllers and the API.
    pub async fn start(scratch: &Path, images: &Path, parts: DaemonParts) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("daemon-")
            .tempdir_in(scratch)
            .context("cannot create the daemon's data directory")?;
        std::os::unix::fs::symlink(images, dir.path().join("images"))
            .context("cannot link the images into the data directory")?;
        let data = DataDir::new(dir.path());
        let store = Store::open(&data.store_dir())?;
        let ctx = Context {
            ipam: Ipam::new(&store)?,
            taps: TapRegistry::new(&store)?,
            events: EventLog::new(&store),
            store: store.clone(),
            data: data.clone(),
            hypervisor: parts.hypervisor.clone(),
            network: parts.network,
            disks: parts.disks,
            timing: parts.timing,
        };
        let shutdown = CancellationToken::new();
        let vm_passes = Arc::new(AtomicU64::new(0));
        let group_passes = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(run(
            Arc::new(Counted {
                inner: VmReconciler::new(ctx.clone()),
                passes: vm_passes.clone(),
            }),
            parts.runner,
            watch_kind::<Vm>(&store),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(run(
            Arc::new(Counted {
                inner: GroupReconciler::new(ctx.clone()),
                passes: group_passes.clone(),
            }),
            parts.runner,
            group_triggers(&store),
            shutdown.clone(),
        )));
        let socket = data.api_socket();
        let backend = Arc::new(DaemonBackend::new(
            ctx.clone(),
            parts.hypervisor.describe(),
            dir.path().to_owned(),
            None,
        ));
        let stop = shutdown.clone();
        let api_socket = socket.clone();
        // The whole app, guest routes (cp, fs, background exec) included,
        // as `slicer up` serves it on its socket.
        let guest: Arc<dyn slicer_api::server::GuestBackend> = backend.clone();
        let app = slicer_api::server::app(backend, guest, None);
        tasks.push(tokio::spawn(async move {
            if let Err(err) =
                slicer_api::server::serve_unix_app(&api_socket, app, stop.cancelled_owned()).await
            {
                eprintln!("in-process daemon: api server failed: {err}");
            }
        }));
        let client = SlicerClient::new(Endpoint::Unix(socket.clone()), None);
        for _ in 0..500 {
            if client.healthz().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        client.healthz().await.context("the api never answered")?;
        Ok(Self {
            ctx,
            client,
            socket,
            vm_passes,
            group_passes,
            shutdown,
            tasks,
            dir,
        })
    }

    /// Store `yaml`'s host groups, as `slicer apply` does.
    pub fn apply_yaml(&self, yaml: &str) -> anyhow::Result<Vec<HostGroupSpec>> {
        let (_, groups) =
            slicer_controller::config::parse(yaml, Path::new("bench.yaml"), self.dir.path())?;
        apply_groups(&self.ctx.store, &groups, false)?;
        Ok(groups)
    }

    /// The data directory.
    pub fn data(&self) -> &DataDir {
        &self.ctx.data
    }

    /// The API socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// VM and group reconcile passes run so far.
    pub fn passes(&self) -> (u64, u64) {
        (
            self.vm_passes.load(Ordering::Relaxed),
            self.group_passes.load(Ordering::Relaxed),
        )
    }

    /// Stop the controllers and the API (running reconciles finish) and
    /// remove the data directory. VMs still stored are not torn down:
    /// delete them first.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        self.ctx.store.flush()?;
        drop(self.dir);
        Ok(())
    }
}
