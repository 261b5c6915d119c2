//! [`VmError`]: why a VM reconcile failed, naming the VM and the cause.

use std::path::PathBuf;
use std::time::Duration;

use crate::agent_client::AgentClientError;
use crate::hypervisor::{HandleError, HypervisorError};
use crate::image::ImageError;
use crate::network::{IpamError, NetworkError};
use crate::storage::DiskError;
use crate::store::StoreError;

/// Why a VM reconcile failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum VmError {
    /// store access failed for vm {vm}
    Store {
        /// The VM.
        vm: String,
        /// The underlying error.
        #[source]
        source: StoreError,
    },
    /// cannot open image {image} for vm {vm}
    Image {
        /// The VM.
        vm: String,
        /// The image name.
        image: String,
        /// The underlying error.
        #[source]
        source: ImageError,
    },
    /// cannot prepare the disk of vm {vm}
    Disk {
        /// The VM.
        vm: String,
        /// The underlying error.
        #[source]
        source: DiskError,
    },
    /// cannot lease an address for vm {vm}
    Lease {
        /// The VM.
        vm: String,
        /// The underlying error.
        #[source]
        source: IpamError,
    },
    /// cannot set up the network of vm {vm}
    Network {
        /// The VM.
        vm: String,
        /// The underlying error.
        #[source]
        source: NetworkError,
    },
    /// cannot read the saved handle of vm {vm}
    Handle {
        /// The VM.
        vm: String,
        /// The underlying error.
        #[source]
        source: HandleError,
    },
    /// the hypervisor failed to {operation} vm {vm}
    Hypervisor {
        /// The VM.
        vm: String,
        /// What was attempted.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: HypervisorError,
    },
    /// the agent of vm {vm} did not answer within {waited:?}; console: {console_tail}
    AgentNotReady {
        /// The VM.
        vm: String,
        /// How long we waited.
        waited: Duration,
        /// The last console lines.
        console_tail: String,
        /// The last agent error.
        #[source]
        source: AgentClientError,
    },
    /// cannot provision vm {vm} (secrets, userdata)
    Provision {
        /// The VM.
        vm: String,
        /// The underlying error.
        #[source]
        source: AgentClientError,
    },
    /// cannot {operation} {path} of vm {vm}
    Files {
        /// The VM.
        vm: String,
        /// What was attempted.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl VmError {
    /// A store error on `vm`.
    pub(super) fn store(vm: &str) -> impl Fn(StoreError) -> Self + '_ {
        move |source| Self::Store {
            vm: vm.to_owned(),
            source,
        }
    }

    /// A hypervisor error while doing `operation` to `vm`.
    pub(super) fn hypervisor<'a>(
        vm: &'a str,
        operation: &'static str,
    ) -> impl Fn(HypervisorError) -> Self + 'a {
        move |source| Self::Hypervisor {
            vm: vm.to_owned(),
            operation,
            source,
        }
    }
}

/// An error and its causes on one line: `a: b: c`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
