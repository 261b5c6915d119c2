//! The Cloud Hypervisor driver: one `cloud-hypervisor --api-socket`
//! process per VM, created and booted over its HTTP API.
//!
//! As with Firecracker, [`CloudHypervisorDriver::spawn`] starts the
//! process and [`CloudHypervisorDriver::configure`] +
//! [`CloudHypervisorDriver::start`] talk to whatever answers on the socket.

pub mod api;
pub mod config;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use self::api::{RestoreConfig, VmSnapshotConfig, VmmPingResponse, paths};
use super::accel::AccelChoice;
use super::api_socket::{ApiSocket, ApiSocketError};
use super::api_vmm::{self, ApiVmmError};
use super::bring_up::bring_up;
use super::process::ProcessRecord;
use super::{Capabilities, Hypervisor, HypervisorError, HypervisorKind, VmHandle, VmSpec, run_dir};

/// Cloud Hypervisor binary name looked up on `PATH`.
pub const CLOUD_HYPERVISOR_BINARY: &str = "cloud-hypervisor";

const KIND: HypervisorKind = HypervisorKind::CloudHypervisor;

/// How long the VMM gets to exit after `vmm.shutdown` before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// File names inside a Cloud Hypervisor VM's run directory.
mod files {
    pub const API_SOCKET: &str = "ch.sock";
    pub const HYBRID_VSOCK_SOCKET: &str = "vsock";
    pub const LOG: &str = "cloud-hypervisor.log";
}

/// Sockets removed before a start and after a kill.
const SOCKETS: &[&str] = &[files::API_SOCKET, files::HYBRID_VSOCK_SOCKET];

/// The Cloud Hypervisor driver and the host facts it launches with.
#[derive(Debug, Clone)]
pub struct CloudHypervisorDriver {
    binary: PathBuf,
    kvm_reason: String,
    shutdown_grace: Duration,
}

impl CloudHypervisorDriver {
    /// A driver running `binary`. `accel` must be KVM.
    pub fn new(binary: PathBuf, accel: &AccelChoice) -> Result<Self, ApiVmmError> {
        api_vmm::require_kvm(KIND, accel)?;
        Ok(Self {
            binary,
            kvm_reason: accel.reason.clone(),
            shutdown_grace: SHUTDOWN_GRACE,
        })
    }

    /// Find Cloud Hypervisor in `search_dirs` and check that KVM works.
    pub fn detect_with(search_dirs: &[PathBuf], accel: &AccelChoice) -> Result<Self, ApiVmmError> {
        let binary = api_vmm::find_binary(KIND, CLOUD_HYPERVISOR_BINARY, search_dirs)?;
        Self::new(binary, accel)
    }

    /// How long [`Hypervisor::kill`] waits after `vmm.shutdown` before
    /// SIGKILL.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Start the Cloud Hypervisor process for `spec`, detached and without
    /// a VM. Its API socket may not answer yet.
    pub fn spawn(&self, spec: &VmSpec) -> Result<VmHandle, HypervisorError> {
        run_dir::prepare(&spec.run_dir, SOCKETS)?;
        let api = spec.run_dir.join(files::API_SOCKET);
        let mut socket_arg = std::ffi::OsString::from("path=");
        socket_arg.push(&api);
        let args = [std::ffi::OsString::from("--api-socket"), socket_arg];
        let vmm = ProcessRecord::spawn(&self.binary, &args, &spec.run_dir.join(files::LOG))
            .map_err(ApiVmmError::process(KIND, &spec.name))?;
        Ok(VmHandle {
            name: spec.name.clone(),
            kind: KIND,
            vmm,
            sidecars: Vec::new(),
            vsock_socket: spec.run_dir.join(files::HYBRID_VSOCK_SOCKET),
            control_socket: api,
            console_log: spec.console_log.clone(),
            run_dir: spec.run_dir.clone(),
        })
    }

    /// Create the VM of `spec` in the VMM (`vm.create`), with its hybrid
    /// vsock socket at `vsock`.
    pub async fn configure(
        &self,
        api: &ApiSocket,
        spec: &VmSpec,
        vsock: &Path,
    ) -> Result<(), ApiSocketError> {
        api.put(paths::VM_CREATE, &config::vm_config(spec, vsock))
            .await
    }

    /// Boot the created VM.
    pub async fn start(&self, api: &ApiSocket) -> Result<(), ApiSocketError> {
        api.put_empty(paths::VM_BOOT).await
    }
}

/// Readiness is `vmm.ping`, and the VMM's log says why a start failed.
async fn start_up<F, Fut>(
    driver: &CloudHypervisorDriver,
    handle: &VmHandle,
    steps: F,
) -> Result<(), HypervisorError>
where
    F: FnOnce(ApiSocket) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiSocketError>>,
{
    let log = handle.run_dir.join(files::LOG);
    bring_up(driver, handle, paths::VMM_PING, &log, steps).await
}

async fn put_empty(handle: &VmHandle, path: &'static str) -> Result<(), HypervisorError> {
    api_vmm::request(KIND, handle, |api| async move { api.put_empty(path).await }).await
}

/// `file:///dir`, the URL form Cloud Hypervisor takes for snapshot
/// directories.
fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

#[async_trait]
impl Hypervisor for CloudHypervisorDriver {
    fn kind(&self) -> HypervisorKind {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exits_on_guest_poweroff: true,
            pause: true,
            snapshot: true,
        }
    }

    fn describe(&self) -> String {
        format!(
            "cloud-hypervisor ({}) with kvm: {}",
            self.binary.display(),
            self.kvm_reason
        )
    }

    async fn launch(&self, spec: &VmSpec) -> Result<VmHandle, HypervisorError> {
        let handle = self.spawn(spec)?;
        tracing::debug!(vm = %spec.name, pid = handle.vmm.pid, "started cloud-hypervisor");
        let vsock = handle.vsock_socket.clone();
        let steps = |api: ApiSocket| async move {
            self.configure(&api, spec, &vsock).await?;
            self.start(&api).await
        };
        start_up(self, &handle, steps).await?;
        Ok(handle)
    }

    async fn kill(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        api_vmm::stop(KIND, handle, SOCKETS, |api| async move {
            // vm.shutdown stops the guest at once; vmm.shutdown then ends
            // the process, which vm.shutdown alone leaves running.
            if let Err(err) = api.put_empty(paths::VM_SHUTDOWN).await {
                tracing::debug!(vm = %handle.name, error = %err, "vm.shutdown failed");
            }
            if let Err(err) = api.put_empty(paths::VMM_SHUTDOWN).await {
                tracing::debug!(vm = %handle.name, error = %err, "vmm.shutdown failed");
            }
            self.shutdown_grace
        })
        .await
    }

    async fn pause(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        put_empty(handle, paths::VM_PAUSE).await
    }

    async fn resume(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        put_empty(handle, paths::VM_RESUME).await
    }

    async fn ping(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        api_vmm::request(KIND, handle, |api| async move {
            api.get::<VmmPingResponse>(paths::VMM_PING).await.map(drop)
        })
        .await
    }

    async fn snapshot(&self, handle: &VmHandle, dir: &Path) -> Result<(), HypervisorError> {
        self.pause(handle).await?;
        let config = VmSnapshotConfig {
            destination_url: file_url(dir),
        };
        api_vmm::request(KIND, handle, |api| async move {
            api.put(paths::VM_SNAPSHOT, &config).await
        })
        .await
    }

    async fn restore(&self, spec: &VmSpec, dir: &Path) -> Result<VmHandle, HypervisorError> {
        let handle = self.spawn(spec)?;
        // Resume with vm.resume rather than RestoreConfig.resume, a field
        // that older Cloud Hypervisor releases do not accept.
        let config = RestoreConfig {
            source_url: file_url(dir),
            resume: None,
        };
        let steps = |api: ApiSocket| async move {
            api.put(paths::VM_RESTORE, &config).await?;
            api.put_empty(paths::VM_RESUME).await
        };
        start_up(self, &handle, steps).await?;
        Ok(handle)
    }
}

#[cfg(test)]
mod tests;
