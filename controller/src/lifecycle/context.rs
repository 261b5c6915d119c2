//! [`Context`]: what every reconcile shares: the store, the drivers and the
//! data directory.

use std::sync::Arc;
use std::time::Duration;

use super::TapRegistry;
use crate::hypervisor::Hypervisor;
use crate::model::EventLog;
use crate::network::{HostNetwork, Ipam};
use crate::paths::DataDir;
use crate::storage::DiskBackend;
use crate::store::Store;

/// Time limits of the controllers.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a launched guest may take until its agent answers.
    pub agent_ready: Duration,
    /// How long a guest gets to stop when asked before it is killed.
    pub stop_grace: Duration,
    /// How often a running VM is checked even without a change.
    pub watch_running: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            agent_ready: Duration::from_secs(90),
            stop_grace: Duration::from_secs(20),
            watch_running: Duration::from_secs(5),
        }
    }
}

/// Shared by every reconcile.
#[derive(Debug, Clone)]
pub struct Context {
    /// Desired and observed state.
    pub store: Store,
    /// Host layout: images, disks, run directories, logs.
    pub data: DataDir,
    /// The VMM driver.
    pub hypervisor: Arc<dyn Hypervisor>,
    /// Bridges, TAPs and egress.
    pub network: Arc<dyn HostNetwork>,
    /// Per-VM disks.
    pub disks: Arc<dyn DiskBackend>,
    /// Address leases.
    pub ipam: Ipam,
    /// TAP devices we created, so crashes leave none behind.
    pub taps: TapRegistry,
    /// What the controllers did.
    pub events: EventLog,
    /// Time limits.
    pub timing: Timing,
}
