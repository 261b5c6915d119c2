//! What the API-driven drivers (Firecracker, Cloud Hypervisor) share
//! besides their start-up sequence ([`super::bring_up`]): one error type
//! that names the VMM, the VM and the value involved, the KVM requirement,
//! single requests on a running VM's API socket, and the stop.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use super::accel::{Accel, AccelChoice};
use super::api_socket::{ApiSocket, ApiSocketError};
use super::process::ProcessError;
use super::{HypervisorError, HypervisorKind, VmHandle, run_dir};

/// Timeout of one API request while stopping; a wedged VMM must not hold
/// up the kill.
const STOP_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Errors of a driver that controls its VMM over an HTTP API socket.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum ApiVmmError {
    /// cannot find {binary} in {searched}
    BinaryNotFound {
        /// The driver.
        vmm: HypervisorKind,
        /// The program looked for.
        binary: String,
        /// The directories searched.
        searched: String,
    },
    /// {vmm} needs a usable /dev/kvm: {reason}
    NoKvm {
        /// The driver.
        vmm: HypervisorKind,
        /// Why KVM is not usable.
        reason: String,
    },
    /// {vmm} for vm {vm} did not start; its output ends: {log_tail}
    Start {
        /// The driver.
        vmm: HypervisorKind,
        /// The VM.
        vm: String,
        /// Last lines of the VMM's output.
        log_tail: String,
        /// What failed.
        #[source]
        source: Box<ApiSocketError>,
    },
    /// {vmm} api request for vm {vm} failed
    Api {
        /// The driver.
        vmm: HypervisorKind,
        /// The VM.
        vm: String,
        /// The failed request.
        #[source]
        source: Box<ApiSocketError>,
    },
    /// cannot run the {vmm} process of vm {vm}
    Process {
        /// The driver.
        vmm: HypervisorKind,
        /// The VM.
        vm: String,
        /// What failed.
        #[source]
        source: ProcessError,
    },
}

impl ApiVmmError {
    /// The driver that failed.
    pub fn vmm(&self) -> HypervisorKind {
        match self {
            Self::BinaryNotFound { vmm, .. }
            | Self::NoKvm { vmm, .. }
            | Self::Start { vmm, .. }
            | Self::Api { vmm, .. }
            | Self::Process { vmm, .. } => *vmm,
        }
    }

    /// A process failure of `vmm` running vm `vm`, for `map_err`.
    pub(crate) fn process(vmm: HypervisorKind, vm: &str) -> impl FnOnce(ProcessError) -> Self + '_ {
        move |source| Self::Process {
            vmm,
            vm: vm.to_owned(),
            source,
        }
    }
}

/// Refuse a host without working KVM: `vmm` has no software emulation.
pub(crate) fn require_kvm(vmm: HypervisorKind, accel: &AccelChoice) -> Result<(), ApiVmmError> {
    if accel.accel == Accel::Kvm {
        Ok(())
    } else {
        Err(ApiVmmError::NoKvm {
            vmm,
            reason: accel.reason.clone(),
        })
    }
}

/// The `binary` of `vmm` in `search_dirs`.
pub(crate) fn find_binary(
    vmm: HypervisorKind,
    binary: &str,
    search_dirs: &[PathBuf],
) -> Result<PathBuf, ApiVmmError> {
    super::binary::find_in(binary, search_dirs).ok_or_else(|| ApiVmmError::BinaryNotFound {
        vmm,
        binary: binary.to_owned(),
        searched: super::binary::display_dirs(search_dirs),
    })
}

/// Run `send` on the API socket of the VM of `handle`, run by `vmm`; a
/// failure names the VM.
pub(crate) async fn request<T, F, Fut>(
    vmm: HypervisorKind,
    handle: &VmHandle,
    send: F,
) -> Result<T, HypervisorError>
where
    F: FnOnce(ApiSocket) -> Fut,
    Fut: Future<Output = Result<T, ApiSocketError>>,
{
    send(ApiSocket::new(&handle.control_socket))
        .await
        .map_err(|source| {
            ApiVmmError::Api {
                vmm,
                vm: handle.name.clone(),
                source: Box::new(source),
            }
            .into()
        })
}

/// Stop the VMM of `handle`, run by `vmm`, and remove its `sockets` from
/// the run directory. A running VMM is first asked over its API (each
/// request bounded by a short timeout); `ask` sends the driver's requests
/// and says how long the VMM then gets to exit before SIGKILL.
pub(crate) async fn stop<F, Fut>(
    vmm: HypervisorKind,
    handle: &VmHandle,
    sockets: &[&str],
    ask: F,
) -> Result<(), HypervisorError>
where
    F: FnOnce(ApiSocket) -> Fut,
    Fut: Future<Output = Duration>,
{
    if handle.is_running() {
        let api = ApiSocket::new(&handle.control_socket).with_timeout(STOP_REQUEST_TIMEOUT);
        let grace = ask(api).await;
        handle
            .vmm
            .kill_unless_exited(grace)
            .await
            .map_err(ApiVmmError::process(vmm, &handle.name))?;
    }
    run_dir::remove_sockets(&handle.run_dir, sockets);
    Ok(())
}
