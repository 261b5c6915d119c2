//! [`VmHandle`]: what a launched VM leaves behind (processes and sockets),
//! saved in its run directory so a restarted daemon can find it again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::HypervisorKind;
use super::process::ProcessRecord;
use crate::agent_client::AgentClient;

/// File in the run directory that holds the serialized handle.
pub const HANDLE_FILE: &str = "vm.json";

/// Errors reading or writing a handle.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum HandleError {
    /// cannot write vm handle {path}
    Write {
        /// The handle file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// cannot read vm handle {path}
    Read {
        /// The handle file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// vm handle {path} is corrupt
    Corrupt {
        /// The handle file.
        path: PathBuf,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
}

/// The running parts of one VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmHandle {
    /// VM name.
    pub name: String,
    /// Which VMM runs it.
    pub kind: HypervisorKind,
    /// The VMM process.
    pub vmm: ProcessRecord,
    /// Helper processes that live and die with the VMM (vsock backends).
    pub sidecars: Vec<ProcessRecord>,
    /// Hybrid-vsock Unix socket leading to the guest agent.
    pub vsock_socket: PathBuf,
    /// The VMM's control socket (QMP, or the Firecracker/Cloud Hypervisor API).
    pub control_socket: PathBuf,
    /// The guest's serial console log.
    pub console_log: PathBuf,
    /// The run directory holding all of the above.
    pub run_dir: PathBuf,
}

impl VmHandle {
    /// Write the handle atomically into its run directory.
    pub fn save(&self) -> Result<(), HandleError> {
        let path = self.run_dir.join(HANDLE_FILE);
        let write_err = |source| HandleError::Write {
            path: path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|source| HandleError::Corrupt {
            path: path.clone(),
            source,
        })?;
        let tmp = self.run_dir.join(format!(".{HANDLE_FILE}.tmp"));
        std::fs::write(&tmp, json).map_err(write_err)?;
        std::fs::rename(&tmp, &path).map_err(write_err)
    }

    /// Load the handle saved in `run_dir`, if there is one.
    pub fn load(run_dir: &Path) -> Result<Option<Self>, HandleError> {
        let path = run_dir.join(HANDLE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(HandleError::Read { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| HandleError::Corrupt { path, source })
    }

    /// Whether the VMM process still runs.
    pub fn is_running(&self) -> bool {
        self.vmm.is_alive()
    }

    /// Wait for the VMM to exit; `true` if it did within `timeout`.
    pub async fn wait_exit(&self, timeout: Duration) -> bool {
        self.vmm.wait_exit(timeout).await
    }

    /// A client for this VM's guest agent.
    pub fn agent(&self) -> AgentClient {
        AgentClient::new(&self.vsock_socket)
    }
}
