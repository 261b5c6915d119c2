//! The QEMU driver: `qemu-system-x86_64 -M microvm` with KVM where it
//! works and TCG elsewhere, vsock through `vhost-device-vsock`, control
//! through QMP.

mod args;
mod qmp;
mod vhost_vsock;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nix::sys::signal::Signal;
pub use qmp::QmpError;

use super::accel::{AccelChoice, HostProbe};
use super::process::ProcessRecord;
use super::{Capabilities, Hypervisor, HypervisorError, HypervisorKind, VmHandle, VmSpec};

/// QEMU binary name looked up on `PATH`.
pub const QEMU_BINARY: &str = "qemu-system-x86_64";
/// vsock backend binary name looked up on `PATH`.
pub const VHOST_VSOCK_BINARY: &str = "vhost-device-vsock";

/// How long QEMU may take to open its QMP socket after start.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of one QMP command.
const QMP_TIMEOUT: Duration = Duration::from_secs(3);
/// How long QEMU gets to exit after QMP `quit` before SIGKILL.
const QUIT_GRACE: Duration = Duration::from_secs(3);

/// File names inside a QEMU VM's run directory.
mod files {
    pub const VHOST_USER_SOCKET: &str = "vhost.sock";
    pub const HYBRID_VSOCK_SOCKET: &str = "vsock";
    pub const QMP_SOCKET: &str = "qmp.sock";
    pub const QEMU_LOG: &str = "qemu.log";
    pub const VHOST_LOG: &str = "vhost-device-vsock.log";
}

/// Errors of the QEMU driver.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum QemuError {
    /// cannot find {binary} in {searched}
    BinaryNotFound {
        /// The program looked for.
        binary: String,
        /// Extra directories searched.
        searched: String,
    },
    /// {program} exited during start-up: {log_tail}
    SidecarExited {
        /// The program.
        program: String,
        /// Last lines of its log.
        log_tail: String,
    },
    /// qemu for vm {vm} exited during start-up: {log_tail}
    QemuExited {
        /// The VM.
        vm: String,
        /// Last lines of QEMU's log.
        log_tail: String,
    },
    /// socket {socket} did not appear within {waited:?}
    SocketTimeout {
        /// The socket waited for.
        socket: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// process error
    Process(#[from] super::process::ProcessError),
    /// qmp error
    Qmp(#[from] QmpError),
}

/// The QEMU driver and the host facts it launches with.
#[derive(Debug, Clone)]
pub struct QemuDriver {
    qemu: PathBuf,
    vhost_vsock: PathBuf,
    accel: AccelChoice,
    tsc_khz: Option<u64>,
}

impl QemuDriver {
    /// Find the binaries and probe the host for KVM and the TSC rate.
    pub fn detect() -> Result<Self, QemuError> {
        Self::detect_with(
            &super::binary::search_dirs_from_env(),
            HostProbe::default().choose(),
        )
    }

    /// Like [`QemuDriver::detect`], with the binary search directories and
    /// the acceleration decided by the caller (the hypervisor choice).
    pub fn detect_with(search_dirs: &[PathBuf], accel: AccelChoice) -> Result<Self, QemuError> {
        Ok(Self {
            qemu: find_binary_in(QEMU_BINARY, search_dirs)?,
            vhost_vsock: find_binary_in(VHOST_VSOCK_BINARY, search_dirs)?,
            accel,
            tsc_khz: super::tsc::host_tsc_khz(),
        })
    }

    /// The acceleration in use and why.
    pub fn accel(&self) -> &AccelChoice {
        &self.accel
    }

    fn handle_for(&self, spec: &VmSpec, vmm: ProcessRecord, sidecar: ProcessRecord) -> VmHandle {
        VmHandle {
            name: spec.name.clone(),
            kind: HypervisorKind::Qemu,
            vmm,
            sidecars: vec![sidecar],
            vsock_socket: spec.run_dir.join(files::HYBRID_VSOCK_SOCKET),
            control_socket: spec.run_dir.join(files::QMP_SOCKET),
            console_log: spec.console_log.clone(),
            run_dir: spec.run_dir.clone(),
        }
    }

    async fn wait_for_qmp(&self, spec: &VmSpec, qemu: &ProcessRecord) -> Result<(), QemuError> {
        let qmp = spec.run_dir.join(files::QMP_SOCKET);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !qmp.exists() {
            if !qemu.is_alive() {
                return Err(QemuError::QemuExited {
                    vm: spec.name.clone(),
                    log_tail: super::process::log_tail(&spec.run_dir.join(files::QEMU_LOG)),
                });
            }
            if Instant::now() >= deadline {
                return Err(QemuError::SocketTimeout {
                    socket: qmp,
                    waited: STARTUP_TIMEOUT,
                });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }
}

#[async_trait]
impl Hypervisor for QemuDriver {
    fn kind(&self) -> HypervisorKind {
        HypervisorKind::Qemu
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exits_on_guest_poweroff: true,
            pause: true,
            snapshot: false,
        }
    }

    fn describe(&self) -> String {
        format!(
            "qemu ({}) with {}: {}",
            self.qemu.display(),
            self.accel.accel,
            self.accel.reason
        )
    }

    async fn launch(&self, spec: &VmSpec) -> Result<VmHandle, HypervisorError> {
        super::run_dir::prepare(&spec.run_dir, SOCKETS)?;
        let vhost_user = spec.run_dir.join(files::VHOST_USER_SOCKET);
        let qmp = spec.run_dir.join(files::QMP_SOCKET);
        let sidecar = vhost_vsock::start(
            &self.vhost_vsock,
            &vhost_user,
            &spec.run_dir.join(files::HYBRID_VSOCK_SOCKET),
            &spec.run_dir.join(files::VHOST_LOG),
        )?;
        let args = args::qemu_args(
            spec,
            self.accel.accel,
            self.tsc_khz,
            args::QemuSockets {
                vhost_user: &vhost_user,
                qmp: &qmp,
            },
        );
        tracing::debug!(vm = %spec.name, ?args, "starting qemu");
        let qemu =
            match ProcessRecord::spawn(&self.qemu, &args, &spec.run_dir.join(files::QEMU_LOG)) {
                Ok(qemu) => qemu,
                Err(err) => {
                    sidecar.terminate(Duration::from_secs(1)).await?;
                    return Err(QemuError::from(err).into());
                }
            };
        let handle = self.handle_for(spec, qemu, sidecar);
        if let Err(err) = self.wait_for_qmp(spec, &handle.vmm).await {
            self.kill(&handle).await?;
            return Err(err.into());
        }
        handle.save()?;
        Ok(handle)
    }

    async fn kill(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        if handle.is_running() {
            if let Err(err) = qmp::execute(&handle.control_socket, "quit", QMP_TIMEOUT).await {
                tracing::debug!(vm = %handle.name, error = %err, "qmp quit failed; killing qemu");
            }
            if !handle.wait_exit(QUIT_GRACE).await {
                handle
                    .vmm
                    .signal(Signal::SIGKILL)
                    .map_err(QemuError::from)?;
                handle.wait_exit(QUIT_GRACE).await;
            }
        }
        for sidecar in &handle.sidecars {
            sidecar
                .terminate(Duration::from_secs(2))
                .await
                .map_err(QemuError::from)?;
        }
        super::run_dir::remove_sockets(&handle.run_dir, SOCKETS);
        Ok(())
    }

    async fn pause(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        qmp::execute(&handle.control_socket, "stop", QMP_TIMEOUT)
            .await
            .map_err(QemuError::from)?;
        Ok(())
    }

    async fn resume(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        qmp::execute(&handle.control_socket, "cont", QMP_TIMEOUT)
            .await
            .map_err(QemuError::from)?;
        Ok(())
    }

    async fn ping(&self, handle: &VmHandle) -> Result<(), HypervisorError> {
        qmp::execute(&handle.control_socket, "query-status", QMP_TIMEOUT)
            .await
            .map_err(QemuError::from)?;
        Ok(())
    }
}

/// Sockets in a QEMU run directory, removed before a start and after a kill.
const SOCKETS: &[&str] = &[
    files::VHOST_USER_SOCKET,
    files::HYBRID_VSOCK_SOCKET,
    files::QMP_SOCKET,
];

/// Find `binary` on `PATH`, then in [`super::binary::EXTRA_BIN_DIRS`].
pub fn find_binary(binary: &str) -> Result<PathBuf, QemuError> {
    find_binary_in(binary, &super::binary::search_dirs_from_env())
}

fn find_binary_in(binary: &str, dirs: &[PathBuf]) -> Result<PathBuf, QemuError> {
    super::binary::find_in(binary, dirs).ok_or_else(|| QemuError::BinaryNotFound {
        binary: binary.to_owned(),
        searched: super::binary::display_dirs(dirs),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::hypervisor::VmProbe;
    use crate::hypervisor::accel::Accel;
    use crate::hypervisor::test_utils::{sample_spec, script};

    fn driver(dir: &Path) -> QemuDriver {
        script(dir, QEMU_BINARY, "exit 0");
        script(dir, VHOST_VSOCK_BINARY, "exit 0");
        let accel = AccelChoice {
            accel: Accel::Tcg,
            reason: "test".into(),
        };
        QemuDriver::detect_with(&[dir.to_owned()], accel).unwrap()
    }

    #[tokio::test]
    async fn snapshots_are_refused_by_the_trait_default() {
        let dir = tempfile::tempdir().unwrap();
        let driver = driver(dir.path());
        assert!(!driver.capabilities().snapshot);
        let spec = sample_spec(&dir.path().join("run"));
        let err = driver.restore(&spec, dir.path()).await.unwrap_err();
        assert_eq!(err.to_string(), "qemu cannot restore a vm from a snapshot");
    }

    #[tokio::test]
    async fn a_live_qemu_without_qmp_is_still_starting() {
        let dir = tempfile::tempdir().unwrap();
        let driver = driver(dir.path());
        let spec = sample_spec(&dir.path().join("run"));
        let vmm =
            ProcessRecord::spawn(Path::new("/bin/sleep"), ["30"], &dir.path().join("log")).unwrap();
        let sidecar = vmm.clone();
        let handle = driver.handle_for(&spec, vmm, sidecar);
        assert_eq!(driver.probe(&handle).await, VmProbe::Starting);
        handle.vmm.terminate(Duration::from_secs(2)).await.unwrap();
        assert_eq!(driver.probe(&handle).await, VmProbe::Gone);
    }
}
