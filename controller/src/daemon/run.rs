//! The daemon's start, run and stop.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::apply::apply_groups;
use super::auth::{TokenSource, api_token};
use super::backend::DaemonBackend;
use crate::config::HypervisorName;
use crate::config::{ApiConfig, HostGroupSpec};
use crate::hypervisor::Hypervisor;
use crate::hypervisor::choice::choose;
use crate::lifecycle::{
    Context, GroupReconciler, TapRegistry, Timing, VmReconciler, collect_orphans, group_of,
    stop_for_daemon_shutdown,
};
use crate::model::{EventLog, Vm, VmExit, VmPhase, VmRole};
use crate::network::{HostNetwork, Ipam, LinuxNetwork};
use crate::paths::DataDir;
use crate::reconcile::{RunnerConfig, run, watch_kind};
use crate::storage::ImageFiles;
use crate::store::Store;

/// TCP address of the API when the config names none.
const DEFAULT_BIND: &str = "127.0.0.1";
/// TCP port of the API when the config names none.
const DEFAULT_PORT: u16 = 8080;

/// What `slicer up` was asked for.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The Slicer-format config file.
    pub config: PathBuf,
    /// Host data directory.
    pub data: DataDir,
    /// API Unix socket; default `<data>/slicer.sock` unless the config
    /// names a socket path in `api.bind_address`.
    pub socket: Option<PathBuf>,
    /// Leave every VM running on a clean stop (for restarts and upgrades).
    pub keep_vms: bool,
}

/// Run the daemon until SIGTERM or Ctrl-C.
pub async fn up(options: UpOptions) -> anyhow::Result<()> {
    let base_dir = std::env::current_dir().context("cannot read the working directory")?;
    let (config, mut groups) = crate::config::load(&options.config, &base_dir)?;
    for group in &mut groups {
        if group.image.is_none() {
            group.image.clone_from(&config.config.image);
        }
    }
    let data = options.data.clone();
    std::fs::create_dir_all(data.root())
        .with_context(|| format!("cannot create {}", data.root().display()))?;
    let store = Store::open(&data.store_dir())?;
    let configured = match config.config.hypervisor.as_deref() {
        Some("qemu") => Some(HypervisorName::Qemu),
        Some("firecracker") => Some(HypervisorName::Firecracker),
        Some("cloud-hypervisor") => Some(HypervisorName::CloudHypervisor),
        _ => None,
    };
    let chosen = choose(configured)?;
    let hypervisor_line = format!("{} ({})", chosen.driver.describe(), chosen.reason);
    tracing::info!(hypervisor = %hypervisor_line, "hypervisor chosen");
    let hypervisor: Arc<dyn Hypervisor> = chosen.driver;
    let network: Arc<dyn HostNetwork> = Arc::new(LinuxNetwork::new()?);
    let ctx = Context {
        ipam: Ipam::new(&store)?,
        taps: TapRegistry::new(&store)?,
        events: EventLog::new(&store),
        store: store.clone(),
        data: data.clone(),
        hypervisor,
        network,
        disks: Arc::new(ImageFiles),
        timing: Timing::default(),
    };

    let report = collect_orphans(&ctx).await?;
    if !report.is_empty() {
        tracing::info!(?report, "removed what belonged to no vm");
    }
    relaunch_stopped_services(&ctx)?;
    let changes = apply_groups(&store, &groups, false)?;
    for change in &changes {
        tracing::info!(group = %change.group, action = ?change.action, "host group from {}", options.config.display());
    }
    for stored in store.list::<HostGroupSpec>()? {
        if !groups.iter().any(|g| g.name == stored.meta.name) {
            tracing::warn!(group = %stored.meta.name, "host group is stored but not in {}; kept (slicer apply --prune removes it)", options.config.display());
        }
    }

    let shutdown = CancellationToken::new();
    let runner = RunnerConfig {
        workers: 8,
        resync_every: std::time::Duration::from_secs(30),
    };
    let vm_task = tokio::spawn(run(
        Arc::new(VmReconciler::new(ctx.clone())),
        runner,
        watch_kind::<Vm>(&store),
        shutdown.clone(),
    ));
    let group_task = tokio::spawn(run(
        Arc::new(GroupReconciler::new(ctx.clone())),
        runner,
        group_triggers(&store),
        shutdown.clone(),
    ));

    let api = config.config.api.clone().unwrap_or_default();
    let socket = options.socket.clone().unwrap_or_else(|| {
        api.bind_address
            .as_deref()
            .filter(|b| is_socket_path(b))
            .map_or_else(|| data.api_socket(), PathBuf::from)
    });
    let backend: Arc<DaemonBackend> = Arc::new(DaemonBackend::new(
        ctx.clone(),
        hypervisor_line,
        base_dir,
        config.config.image.clone(),
    ));
    let api_stop = shutdown.clone();
    let api_socket = socket.clone();
    let guest: Arc<dyn slicer_api::server::GuestBackend> = backend.clone();
    let app = slicer_api::server::app(backend.clone(), guest, None);
    let api_task = tokio::spawn(async move {
        slicer_api::server::serve_unix_app(&api_socket, app, api_stop.cancelled_owned()).await
    });
    tracing::info!(socket = %socket.display(), "slicer api listening");
    eprintln!(
        "slicer: api on {} (slicer --url {} vm list)",
        socket.display(),
        socket.display()
    );
    let tcp_task = serve_tcp(&api, &data, backend, config.config.api.is_some(), &shutdown).await?;

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
        _ = term.recv() => tracing::info!("terminated; stopping"),
        result = api_task => {
            result??;
            anyhow::bail!("the api server stopped");
        }
        Some(result) = async { match tcp_task { Some(task) => Some(task.await), None => None } } => {
            result??;
            anyhow::bail!("the tcp api server stopped");
        }
    }
    shutdown.cancel();
    let _ = vm_task.await;
    let _ = group_task.await;
    if options.keep_vms {
        tracing::info!("--keep-vms: leaving every vm running");
    } else {
        let graceful = config.config.graceful_shutdown.unwrap_or(true);
        let (stopped, deleted) = stop_for_daemon_shutdown(&ctx, graceful).await?;
        tracing::info!(
            stopped,
            deleted,
            graceful,
            "vms stopped for the daemon's shutdown"
        );
    }
    let _ = std::fs::remove_file(&socket);
    store.flush()?;
    Ok(())
}

/// Whether an `api.bind_address` names a Unix socket rather than a TCP
/// address (`reference/slicer.md` §2.1).
fn is_socket_path(bind: &str) -> bool {
    bind.starts_with('/')
        || bind.starts_with("./")
        || bind.starts_with("~/")
        || bind.ends_with(".sock")
}

/// Serve the TCP API (`api.bind_address:api.port`, default
/// `127.0.0.1:8080`) with bearer auth unless turned off. A bind failure is
/// fatal when the config asked for TCP, and only a warning for the
/// implicit default, so a second daemon on a host still serves its socket.
async fn serve_tcp(
    api: &ApiConfig,
    data: &DataDir,
    backend: Arc<DaemonBackend>,
    explicit: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
    if api.bind_address.as_deref().is_some_and(is_socket_path) {
        return Ok(None);
    }
    let host = api.bind_address.as_deref().unwrap_or(DEFAULT_BIND);
    let port = api.port.unwrap_or(DEFAULT_PORT);
    let address = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(err) if !explicit => {
            tracing::warn!(%address, error = %err, "cannot listen on the default tcp api address; serving the unix socket only (set config.api to choose)");
            eprintln!("slicer: warning: no tcp api: cannot listen on {address}: {err}");
            return Ok(None);
        }
        Err(err) => {
            return Err(err).with_context(|| format!("cannot listen on api address {address}"));
        }
    };
    let token = api_token(data, api.auth.as_ref())?;
    match &token {
        Some((_, TokenSource::File(path))) => eprintln!(
            "slicer: api on http://{address} (bearer token in {})",
            path.display()
        ),
        Some((_, TokenSource::Config)) => {
            eprintln!("slicer: api on http://{address} (bearer token from api.auth.token)")
        }
        None => eprintln!("slicer: api on http://{address} (no auth: api.auth.enabled is false)"),
    }
    tracing::info!(%address, auth = token.is_some(), "slicer tcp api listening");
    let stop = shutdown.clone();
    Ok(Some(tokio::spawn(async move {
        let guest: Arc<dyn slicer_api::server::GuestBackend> = backend.clone();
        let app = slicer_api::server::app(backend, guest, token.map(|(token, _)| token));
        slicer_api::server::serve_tcp_app(listener, app, stop.cancelled_owned()).await
    })))
}

/// Services are launched again at every daemon start, even those whose
/// guest stopped on its own (`reference/slicer.md` §3.2).
fn relaunch_stopped_services(ctx: &Context) -> anyhow::Result<()> {
    for vm in ctx.store.list::<Vm>()? {
        let stopped = vm.status.phase == VmPhase::Stopped
            && matches!(
                vm.status.last_exit,
                Some(VmExit::GuestStopped | VmExit::ProcessDied)
            );
        if vm.spec.role == VmRole::Service && stopped {
            ctx.store
                .modify::<Vm, std::convert::Infallible>(&vm.meta.name, |vm| {
                    vm.spec.launch_nonce += 1;
                    Ok(())
                })?
                .map_err(|never| match never {})?;
        }
    }
    Ok(())
}

/// Group keys from group changes and from changes of their VMs (so a
/// rolling change moves on when a VM becomes ready).
pub fn group_triggers(store: &Store) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut groups = watch_kind::<HostGroupSpec>(store);
    let mut vms = watch_kind::<Vm>(store);
    tokio::spawn(async move {
        loop {
            let key = tokio::select! {
                Some(group) = groups.recv() => group,
                Some(vm) = vms.recv() => match group_of(&vm) {
                    Some(group) => group.to_owned(),
                    None => continue,
                },
                else => return,
            };
            if tx.send(key).is_err() {
                return;
            }
        }
    });
    rx
}
