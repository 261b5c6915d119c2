//! The `vhost-device-vsock` sidecar: QEMU's vsock backend on hosts without
//! `/dev/vhost-vsock`. It serves QEMU a vhost-user socket and exposes the
//! guest's vsock as a hybrid-vsock Unix socket, exactly like Firecracker
//! and Cloud Hypervisor do natively.

use std::path::Path;
use std::time::{Duration, Instant};

use super::QemuError;
use crate::hypervisor::process::ProcessRecord;

/// Guest CID; every VM has its own backend process, so all can use 3.
const GUEST_CID: u32 = 3;
/// How long the backend may take to create its vhost-user socket.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(5);

/// Start the backend and wait until its vhost-user socket exists.
pub fn start(
    binary: &Path,
    vhost_user_socket: &Path,
    hybrid_socket: &Path,
    log: &Path,
) -> Result<ProcessRecord, QemuError> {
    let args = [
        "--guest-cid".to_owned(),
        GUEST_CID.to_string(),
        "--socket".to_owned(),
        vhost_user_socket.display().to_string(),
        "--uds-path".to_owned(),
        hybrid_socket.display().to_string(),
    ];
    let record = ProcessRecord::spawn(binary, &args, log)?;
    let deadline = Instant::now() + SOCKET_TIMEOUT;
    while !vhost_user_socket.exists() {
        if !record.is_alive() {
            return Err(QemuError::SidecarExited {
                program: record.program.clone(),
                log_tail: crate::hypervisor::process::log_tail(log),
            });
        }
        if Instant::now() >= deadline {
            let _ = record.signal(nix::sys::signal::Signal::SIGKILL);
            return Err(QemuError::SocketTimeout {
                socket: vhost_user_socket.to_owned(),
                waited: SOCKET_TIMEOUT,
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(record)
}
