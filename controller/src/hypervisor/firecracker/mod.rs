//! The Firecracker driver: one `firecracker --api-sock` process per VM,
//! configured over its HTTP API, optionally under the `jailer`.
//!
//! Launch is split in two steps so each can be tested alone:
//! [`FirecrackerDriver::spawn`] starts the process and
//! [`FirecrackerDriver::configure`] + [`FirecrackerDriver::start`] talk to
//! whatever answers on the API socket.

pub mod api;
pub mod config;
pub mod jailer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use self::api::{
    ActionType, InstanceActionInfo, InstanceInfo, MemoryBackend, MemoryBackendType,
    SnapshotCreateParams, SnapshotLoadParams, SnapshotType, Vm, VmState, paths,
};
use self::config::VmmPaths;
use self::jailer::{Jail, JailerConfig, JailerError, jail_files};
use super::accel::AccelChoice;
use super::api_socket::{ApiSocket, ApiSocketError};
use super::api_vmm::{self, ApiVmmError};
use super::bring_up::bring_up;
use super::process::ProcessRecord;
use super::{Capabilities, Hypervisor, HypervisorError, HypervisorKind, VmHandle, VmSpec, run_dir};

/// Firecracker binary name looked up on `PATH`.
pub const FIRECRACKER_BINARY: &str = "firecracker";

const KIND: HypervisorKind = HypervisorKind::Firecracker;

/// How long a guest gets to react to Ctrl-Alt-Del before SIGKILL.
const CTRL_ALT_DEL_GRACE: Duration = Duration::from_secs(3);

/// File names inside a Firecracker VM's run directory.
mod files {
    pub const API_SOCKET: &str = "firecracker.sock";
    pub const HYBRID_VSOCK_SOCKET: &str = "vsock";
    pub const LOG: &str = "firecracker.log";
    pub const METRICS: &str = "firecracker.metrics";
    pub const SNAPSHOT_STATE: &str = "vmstate";
    pub const SNAPSHOT_MEMORY: &str = "memory";
}

/// Sockets removed before a start and after a kill.
const SOCKETS: &[&str] = &[files::API_SOCKET, files::HYBRID_VSOCK_SOCKET];

/// Errors of the Firecracker driver's jailer support; the errors it
/// shares with Cloud Hypervisor are [`ApiVmmError`]s.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum FirecrackerError {
    /// cannot prepare the jail of vm {vm}
    Jail {
        /// The VM.
        vm: String,
        /// What failed.
        #[source]
        source: JailerError,
    },
    /// snapshots of jailed vms are not supported yet (vm {vm})
    JailedSnapshot {
        /// The VM.
        vm: String,
    },
}

/// The Firecracker driver and the host facts it launches with.
#[derive(Debug, Clone)]
pub struct FirecrackerDriver {
    firecracker: PathBuf,
    kvm_reason: String,
    jailer: Option<JailerConfig>,
    ctrl_alt_del_grace: Duration,
}

/// A spawned Firecracker whose API has not been configured yet.
#[derive(Debug)]
pub struct Spawned {
    /// The handle the VM will have.
    pub handle: VmHandle,
    /// Its files as Firecracker sees them.
    pub paths: VmmPaths,
}

impl FirecrackerDriver {
    /// A driver running `firecracker`. `accel` must be KVM: Firecracker has
    /// no software emulation.
    pub fn new(firecracker: PathBuf, accel: &AccelChoice) -> Result<Self, ApiVmmError> {
        api_vmm::require_kvm(KIND, accel)?;
        Ok(Self {
            firecracker,
            kvm_reason: accel.reason.clone(),
            jailer: None,
            ctrl_alt_del_grace: CTRL_ALT_DEL_GRACE,
        })
    }

    /// Find Firecracker in `search_dirs` and check that KVM works.
    pub fn detect_with(search_dirs: &[PathBuf], accel: &AccelChoice) -> Result<Self, ApiVmmError> {
        let firecracker = api_vmm::find_binary(KIND, FIRECRACKER_BINARY, search_dirs)?;
        Self::new(firecracker, accel)
    }

    /// Run every VM under the jailer with `jailer`.
    pub fn with_jailer(mut self, jailer: JailerConfig) -> Self {
        self.jailer = Some(jailer);
        self
    }

    /// How long [`Hypervisor::kill`] waits after Ctrl-Alt-Del before SIGKILL.
    pub fn with_ctrl_alt_del_grace(mut self, grace: Duration) -> Self {
        self.ctrl_alt_del_grace = grace;
        self
    }

    fn jail(&self, vm: &str) -> Option<(Jail, &JailerConfig)> {
        self.jailer
            .as_ref()
            .map(|config| (config.jail(&self.firecracker, vm), config))
    }

    /// Start the Firecracker process for `spec`, detached, with an empty
    /// configuration. Its API socket may not answer yet.
    pub fn spawn(&self, spec: &VmSpec) -> Result<Spawned, HypervisorError> {
        run_dir::prepare(&spec.run_dir, SOCKETS)?;
        // The serial console is Firecracker's stdout, so the console log
        // also receives what Firecracker prints before its logger is set.
        let (vmm, paths, control_socket, vsock_socket) = match self.jail(&spec.name) {
            None => {
                let log = spec.run_dir.join(files::LOG);
                let metrics = spec.run_dir.join(files::METRICS);
                run_dir::touch(&log)?;
                run_dir::touch(&metrics)?;
                let api = spec.run_dir.join(files::API_SOCKET);
                let vsock = spec.run_dir.join(files::HYBRID_VSOCK_SOCKET);
                let paths = config::host_paths(spec, &vsock, &log, &metrics);
                let args = [std::ffi::OsString::from("--api-sock"), api.clone().into()];
                let vmm = ProcessRecord::spawn(&self.firecracker, &args, &spec.console_log)
                    .map_err(ApiVmmError::process(KIND, &spec.name))?;
                (vmm, paths, api, vsock)
            }
            Some((jail, jailer)) => {
                let paths = jail
                    .prepare(spec, jailer.uid, jailer.gid)
                    .map_err(|source| FirecrackerError::Jail {
                        vm: spec.name.clone(),
                        source,
                    })?;
                let args = jailer.args(&self.firecracker, &jail);
                let vmm = ProcessRecord::spawn(&jailer.jailer, &args, &spec.console_log)
                    .map_err(ApiVmmError::process(KIND, &spec.name))?;
                (
                    vmm,
                    paths,
                    jail.host_path(jail_files::API_SOCKET),
                    jail.host_path(jail_files::VSOCK),
                )
            }
        };
        let handle = VmHandle {
            name: spec.name.clone(),
            kind: KIND,
            vmm,
            sidecars: Vec::new(),
            vsock_socket,
            control_socket,
            console_log: spec.console_log.clone(),
            run_dir: spec.run_dir.clone(),
        };
        Ok(Spawned { handle, paths })
    }

    /// Send the whole pre-boot configuration of `spec`. The logger and
    /// metrics come first so that Firecracker logs why a later request
    /// failed.
    pub async fn configure(
        &self,
        api: &ApiSocket,
        spec: &VmSpec,
        paths: &VmmPaths,
    ) -> Result<(), ApiSocketError> {
        let config = config::vm_config(spec, paths);
        api.put(paths::LOGGER, &config.logger).await?;
        api.put(paths::METRICS, &config.metrics).await?;
        api.put(paths::BOOT_SOURCE, &config.boot_source).await?;
        api.put(paths::MACHINE_CONFIG, &config.machine).await?;
        api.put(paths::ROOT_DRIVE, &config.root_drive).await?;
        if let Some(eth0) = &config.eth0 {
            api.put(paths::ETH0, eth0).await?;
        }
        api.put(paths::VSOCK, &config.vsock).await
    }

    /// Boot the configured guest.
    pub async fn start(&self, api: &ApiSocket) -> Result<(), ApiSocketError> {
        action(api, ActionType::InstanceStart).await
    }

    /// Write a full snapshot of a paused VM to `state` and `memory`.
    pub async fn create_snapshot(
        &self,
        api: &ApiSocket,
        state: &Path,
        memory: &Path,
    ) -> Result<(), ApiSocketError> {
        let params = SnapshotCreateParams {
            snapshot_path: state.display().to_string(),
            mem_file_path: memory.display().to_string(),
            snapshot_type: Some(SnapshotType::Full),
        };
        api.put(paths::SNAPSHOT_CREATE, &params).await
    }

    /// Load a snapshot into a fresh Firecracker (after only the logger and
    /// metrics were set), resuming the vCPUs if `resume`.
    pub async fn load_snapshot(
        &self,
        api: &ApiSocket,
        state: &Path,
        memory: &Path,
        resume: bool,
    ) -> Result<(), ApiSocketError> {
        let params = SnapshotLoadParams {
            snapshot_path: state.display().to_string(),
            mem_backend: MemoryBackend {
                backend_type: MemoryBackendType::File,
                backend_path: memory.display().to_string(),
            },
            resume_vm: Some(resume),
        };
        api.put(paths::SNAPSHOT_LOAD, &params).await
    }
}

/// Readiness is `GET /`, and Firecracker's output (the console log) says
/// why a start failed.
async fn start_up<F, Fut>(
    driver: &FirecrackerDriver,
    handle: &VmHandle,
    steps: F,
) -> Result<(), HypervisorError>
where
    F: FnOnce(ApiSocket) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiSocketError>>,
{
    bring_up(driver, handle, paths::INSTANCE, &handle.console_log, steps).await
}

async fn action(api: &ApiSocket, action_type: ActionType) -> Result<(), ApiSocketError> {
    api.put(paths::ACTIONS, &InstanceActionInfo { action_type })
        .await
}

async fn set_state(handle: &VmHandle, state: VmState) -> Result<(), HypervisorError> {
    api_vmm::request(KIND, handle, |api| async move {
        api.patch(paths::VM, &Vm { state }).await
    })
    .await
}

#[async_trait]
impl Hypervisor for FirecrackerDriver {
    fn kind(&self) -> HypervisorKind {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exits_on_guest_poweroff: false,
            pause: true,
            snapshot: true,
        }
    }

    fn describe(&self) -> String {
        let jail = self.jailer.as_ref().map_or_else(String::new, |j| {
            format!(
                ", jailed as {}:{} under {}",
                j.uid,
                j.gid,
                j.chroot_base.display()
            )
        });
        format!(
            "firecracker ({}) with kvm{jail}: {}",
            self.firecracker.display(),
            self.kvm_reason
        )
    }

    async fn launch(&self, spec: &VmSpec) -> Result<VmHandle, HypervisorError> {
        let spawned = self.spawn(spec)?;
        tracing::debug!(vm = %spec.name, pid = spawned.handle.vmm.pid, "started firecracker");
        let steps = |api: ApiSocket| async move {
            self.configure(&api, spec, &spawned.paths).await?;
            self.start(&api).await
        };
        start_up(self, &spawned.handle, steps).await?;
        Ok(spawned.handle)
    }

    async fn kill(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        api_vmm::stop(KIND, handle, SOCKETS, |api| async move {
            match action(&api, ActionType::SendCtrlAltDel).await {
                Ok(()) => self.ctrl_alt_del_grace,
                Err(err) => {
                    tracing::debug!(vm = %handle.name, error = %err, "ctrl-alt-del failed; killing firecracker");
                    Duration::ZERO
                }
            }
        })
        .await?;
        if let Some((jail, _)) = self.jail(&handle.name) {
            jail.remove();
        }
        Ok(())
    }

    async fn pause(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        set_state(handle, VmState::Paused).await
    }

    async fn resume(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        set_state(handle, VmState::Resumed).await
    }

    async fn ping(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        api_vmm::request(KIND, handle, |api| async move {
            api.get::<InstanceInfo>(paths::INSTANCE).await.map(drop)
        })
        .await
    }

    async fn snapshot(&self, handle: &VmHandle, dir: &Path) -> Result<(), HypervisorError> {
        if self.jailer.is_some() {
            return Err(FirecrackerError::JailedSnapshot {
                vm: handle.name.clone(),
            }
            .into());
        }
        self.pause(handle).await?;
        let (state, memory) = (
            dir.join(files::SNAPSHOT_STATE),
            dir.join(files::SNAPSHOT_MEMORY),
        );
        api_vmm::request(KIND, handle, |api| async move {
            self.create_snapshot(&api, &state, &memory).await
        })
        .await
    }

    async fn restore(&self, spec: &VmSpec, dir: &Path) -> Result<VmHandle, HypervisorError> {
        if self.jailer.is_some() {
            return Err(FirecrackerError::JailedSnapshot {
                vm: spec.name.clone(),
            }
            .into());
        }
        let spawned = self.spawn(spec)?;
        let config = config::vm_config(spec, &spawned.paths);
        let steps = |api: ApiSocket| async move {
            api.put(paths::LOGGER, &config.logger).await?;
            api.put(paths::METRICS, &config.metrics).await?;
            self.load_snapshot(
                &api,
                &dir.join(files::SNAPSHOT_STATE),
                &dir.join(files::SNAPSHOT_MEMORY),
                true,
            )
            .await
        };
        start_up(self, &spawned.handle, steps).await?;
        Ok(spawned.handle)
    }
}

#[cfg(test)]
mod tests;
