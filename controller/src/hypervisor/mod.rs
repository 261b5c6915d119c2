//! Hypervisor drivers behind one trait.
//!
//! A driver only translates a neutral [`VmSpec`] into its VMM's
//! configuration and control calls. Process supervision
//! ([`process`]), the saved [`VmHandle`] and the graceful-stop sequence
//! are shared, so the reconciler never branches on the hypervisor: it
//! branches on [`Capabilities`] where behaviour differs.

pub mod accel;
pub mod api_socket;
mod api_vmm;
pub mod binary;
mod bring_up;
pub mod choice;
pub mod cloud_hypervisor;
pub mod firecracker;
mod handle;
mod probe;
pub mod process;
pub mod qemu;
mod run_dir;
pub mod spec;
pub mod sweep;
#[cfg(test)]
mod test_utils;
pub mod tsc;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use api_vmm::ApiVmmError;
use async_trait::async_trait;
pub use handle::{HANDLE_FILE, HandleError, VmHandle};
pub use probe::VmProbe;
use serde::{Deserialize, Serialize};
use slicer_api::types::ShutdownAction;
pub use spec::VmSpec;

/// Which VMM a driver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HypervisorKind {
    /// QEMU (`qemu-system-x86_64`, `microvm` machine).
    Qemu,
    /// Firecracker.
    Firecracker,
    /// Cloud Hypervisor.
    CloudHypervisor,
}

impl std::fmt::Display for HypervisorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Qemu => "qemu",
            Self::Firecracker => "firecracker",
            Self::CloudHypervisor => "cloud-hypervisor",
        })
    }
}

/// What a driver can do, so callers branch on abilities, not on names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The VMM process exits when the guest powers off. Firecracker only
    /// exits on a guest reboot, so a graceful stop asks for a reboot there.
    pub exits_on_guest_poweroff: bool,
    /// vCPUs can be paused and resumed.
    pub pause: bool,
    /// The VM's state can be saved with [`Hypervisor::snapshot`] and a VM
    /// started from it with [`Hypervisor::restore`].
    pub snapshot: bool,
}

/// How a stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// The VMM was already gone.
    AlreadyStopped,
    /// The guest shut down when asked.
    Graceful,
    /// The guest did not stop in time (or could not be asked) and the VMM
    /// was killed.
    Forced,
}

/// Errors of hypervisor drivers.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum HypervisorError {
    /// qemu driver failed
    Qemu(#[from] qemu::QemuError),
    /// process supervision failed
    Process(#[from] process::ProcessError),
    /// vm handle error
    Handle(#[from] HandleError),
    /// firecracker driver failed
    Firecracker(#[from] firecracker::FirecrackerError),
    /// {vmm} driver failed
    ApiVmm {
        /// The driver.
        vmm: HypervisorKind,
        /// What failed.
        #[source]
        source: ApiVmmError,
    },
    /// cannot prepare run directory {path}
    RunDir {
        /// The run directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// control socket {socket} does not accept connections
    ControlSocket {
        /// The control socket.
        socket: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// {kind} cannot {operation}
    Unsupported {
        /// The driver asked.
        kind: HypervisorKind,
        /// What it was asked to do.
        operation: &'static str,
    },
}

impl From<ApiVmmError> for HypervisorError {
    fn from(source: ApiVmmError) -> Self {
        Self::ApiVmm {
            vmm: source.vmm(),
            source,
        }
    }
}

/// A hypervisor driver: launches VMMs and controls them.
#[async_trait]
pub trait Hypervisor: Send + Sync + std::fmt::Debug {
    /// Which VMM this driver runs.
    fn kind(&self) -> HypervisorKind;

    /// What this driver can do.
    fn capabilities(&self) -> Capabilities;

    /// One line for `slicer info` and the daemon log: binary, acceleration
    /// and why it was chosen.
    fn describe(&self) -> String;

    /// Start the VMM (and its sidecars) for `spec`, detached from the
    /// daemon, and save the handle in `spec.run_dir`. Returns once the VMM
    /// runs; the guest is still booting.
    async fn launch(&self, spec: &VmSpec) -> Result<VmHandle, HypervisorError>;

    /// Stop the VMM now, without asking the guest, and remove its sidecars
    /// and sockets. Idempotent: a VM that is already gone is cleaned up.
    async fn kill(&self, handle: &VmHandle) -> Result<(), HypervisorError>;

    /// Freeze the vCPUs.
    async fn pause(&self, handle: &VmHandle) -> Result<(), HypervisorError>;

    /// Continue frozen vCPUs.
    async fn resume(&self, handle: &VmHandle) -> Result<(), HypervisorError>;

    /// Ask the VMM's control socket whether it answers (QMP for QEMU, the
    /// HTTP API for Firecracker and Cloud Hypervisor).
    ///
    /// The default only checks that the socket accepts a connection;
    /// drivers override it with a real request.
    async fn ping(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        tokio::net::UnixStream::connect(&handle.control_socket)
            .await
            .map(drop)
            .map_err(|source| HypervisorError::ControlSocket {
                socket: handle.control_socket.clone(),
                source,
            })
    }

    /// Find out what became of a VM launched earlier, possibly by another
    /// daemon process: used to adopt VMs after a restart.
    ///
    /// The process identity (pid and start time) decides [`VmProbe::Gone`];
    /// a live process whose control socket answers [`Hypervisor::ping`] is
    /// [`VmProbe::Running`], otherwise [`VmProbe::Starting`].
    async fn probe(&self, handle: &VmHandle) -> VmProbe {
        if !handle.is_running() {
            return VmProbe::Gone;
        }
        match self.ping(handle).await {
            Ok(()) => VmProbe::Running,
            Err(err) => {
                tracing::debug!(vm = %handle.name, error = %err, "vmm runs but its control socket does not answer");
                VmProbe::Starting
            }
        }
    }

    /// Save the VM's state (devices and memory) into the directory `dir`,
    /// which must exist. The vCPUs are paused first and stay paused: the
    /// caller resumes or kills the VM afterwards.
    ///
    /// Only drivers with [`Capabilities::snapshot`] implement it.
    async fn snapshot(&self, handle: &VmHandle, dir: &Path) -> Result<(), HypervisorError> {
        let _ = (handle, dir);
        Err(HypervisorError::Unsupported {
            kind: self.kind(),
            operation: "snapshot a vm",
        })
    }

    /// Start a new VMM for `spec` from the state saved by
    /// [`Hypervisor::snapshot`] in `dir`, and resume it. The snapshot must
    /// come from a VM with the same run directory, disk and TAP.
    ///
    /// Only drivers with [`Capabilities::snapshot`] implement it.
    async fn restore(&self, spec: &VmSpec, dir: &Path) -> Result<VmHandle, HypervisorError> {
        let _ = (spec, dir);
        Err(HypervisorError::Unsupported {
            kind: self.kind(),
            operation: "restore a vm from a snapshot",
        })
    }

    /// Stop gracefully: ask the guest agent to shut down, wait up to
    /// `grace` for the VMM to exit, then [`Hypervisor::kill`].
    async fn shutdown(
        &self,
        handle: &VmHandle,
        grace: Duration,
    ) -> Result<StopOutcome, HypervisorError> {
        if !handle.is_running() {
            self.kill(handle).await?;
            return Ok(StopOutcome::AlreadyStopped);
        }
        let action = if self.capabilities().exits_on_guest_poweroff {
            ShutdownAction::Shutdown
        } else {
            ShutdownAction::Reboot
        };
        let outcome = match handle.agent().shutdown(action).await {
            Ok(()) if handle.wait_exit(grace).await => StopOutcome::Graceful,
            Ok(()) => StopOutcome::Forced,
            Err(err) => {
                tracing::warn!(vm = %handle.name, error = %err, "cannot ask the guest to shut down; killing it");
                StopOutcome::Forced
            }
        };
        self.kill(handle).await?;
        Ok(outcome)
    }
}
