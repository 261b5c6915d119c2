//! Hypervisor drivers behind one trait.
//!
//! A driver only translates a neutral [`VmSpec`] into its VMM's
//! configuration and control calls. Process supervision
//! ([`process`]), the saved [`VmHandle`] and the graceful-stop sequence
//! are shared, so the reconciler never branches on the hypervisor: it
//! branches on [`Capabilities`] where behaviour differs.

pub mod accel;
mod handle;
pub mod process;
pub mod qemu;
pub mod spec;
pub mod tsc;

use std::time::Duration;

use async_trait::async_trait;
pub use handle::{HANDLE_FILE, HandleError, VmHandle};
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

/// What a driver can do, so callers branch on abilities, not on names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The VMM process exits when the guest powers off. Firecracker only
    /// exits on a guest reboot, so a graceful stop asks for a reboot there.
    pub exits_on_guest_poweroff: bool,
    /// vCPUs can be paused and resumed.
    pub pause: bool,
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
    /// cannot prepare run directory {path}
    RunDir {
        /// The run directory.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
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
