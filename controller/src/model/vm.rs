//! The VM kind: one microVM, owned by a host group. Services (`role:
//! service`) are created by the group controller as `<group>-1..N`;
//! sandboxes by the API. The spec is what should run; the status what the
//! VM controller saw and did.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::store::Kind;

/// Finalizer that holds a VM until its process, TAP, lease, disk and run
/// directory are gone.
pub const VM_FINALIZER: &str = "slicer.dev/teardown";

/// The hostname of VM `index` of `group`.
pub fn hostname(group: &str, index: u64) -> String {
    format!("{group}-{index}")
}

/// Why a VM exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VmRole {
    /// One of a group's `count` VMs: protected, relaunched when its
    /// process dies, kept across daemon restarts with its disk.
    Service,
    /// Created through the API in a pool; ephemeral unless persistent.
    Sandbox,
}

/// The power state a user asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    /// Running and answering.
    #[default]
    Running,
    /// vCPUs frozen, memory kept.
    Paused,
    /// Not running; the disk is kept.
    Stopped,
}

/// Desired state of one VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vm {
    /// The owning host group.
    pub group: String,
    /// The `n` of `<group>-<n>`.
    pub index: u64,
    /// Service or sandbox.
    pub role: VmRole,
    /// Keep the VM (stopped, with its disk) when its guest stops.
    #[serde(default)]
    pub persistent: bool,
    /// vCPUs.
    pub vcpus: u32,
    /// Guest memory in bytes.
    pub ram_bytes: u64,
    /// Image name (`images/<name>/` in the data directory).
    pub image: String,
    /// Disk size; `None` keeps the image's size.
    #[serde(default)]
    pub storage_size_bytes: Option<u64>,
    /// First-boot script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userdata: Option<String>,
    /// Tags, usually `key=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Names of the secrets this VM gets; `None` means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<String>>,
    /// Running, paused or stopped.
    #[serde(default)]
    pub power: PowerState,
    /// Bumped to ask for a fresh launch of a stopped VM (relaunch, daemon
    /// start for services).
    #[serde(default)]
    pub launch_nonce: u64,
}

impl Vm {
    /// The hostname (and object name) of this VM.
    pub fn hostname(&self) -> String {
        hostname(&self.group, self.index)
    }

    /// Whether the VM goes away with its disk when its guest stops.
    pub fn is_ephemeral(&self) -> bool {
        self.role == VmRole::Sandbox && !self.persistent
    }

    /// The settings a running VMM was launched with; a difference from the
    /// spec means the VM must be restarted to apply it.
    pub fn launch_config(&self) -> LaunchedConfig {
        LaunchedConfig {
            vcpus: self.vcpus,
            ram_bytes: self.ram_bytes,
            image: self.image.clone(),
            storage_size_bytes: self.storage_size_bytes,
        }
    }
}

/// What the VM controller observed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum VmPhase {
    /// Not launched yet.
    #[default]
    Pending,
    /// The VMM runs; the agent has not answered yet.
    Starting,
    /// The agent answers.
    Running,
    /// vCPUs frozen.
    Paused,
    /// Not running.
    Stopped,
    /// Teardown in progress.
    Deleting,
}

impl VmPhase {
    /// The Slicer API's `status` value.
    pub fn api_status(self) -> &'static str {
        match self {
            Self::Running => "Running",
            Self::Paused => "Paused",
            Self::Pending | Self::Starting => "Starting",
            Self::Stopped | Self::Deleting => "Stopped",
        }
    }
}

/// How a VM's last run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmExit {
    /// The guest powered off, rebooted or panicked.
    GuestStopped,
    /// The VMM process died without the guest stopping (killed, crashed).
    ProcessDied,
    /// The daemon stopped it on its own shutdown.
    DaemonShutdown,
    /// A user asked for the stop.
    Requested,
}

/// The settings a VMM was launched with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchedConfig {
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in bytes.
    pub ram_bytes: u64,
    /// Image name.
    pub image: String,
    /// Disk size.
    pub storage_size_bytes: Option<u64>,
}

/// Observed state of one VM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmStatus {
    /// Phase.
    #[serde(default)]
    pub phase: VmPhase,
    /// Leased address with prefix, e.g. `192.168.137.2/24`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Guest MAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Host TAP device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tap: Option<String>,
    /// The VM's disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<PathBuf>,
    /// VMM pid of the current run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// What the current (or last) run was launched with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched: Option<LaunchedConfig>,
    /// The `launch_nonce` the current (or last) run answered.
    #[serde(default)]
    pub launched_nonce: u64,
    /// Size of the console log when the current run started, so exit
    /// detection reads only this run's output.
    #[serde(default)]
    pub console_offset: u64,
    /// When the agent first answered in this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<String>,
    /// Whether secrets and userdata were delivered in this run.
    #[serde(default)]
    pub provisioned: bool,
    /// Userdata finished (from the agent's health), with its exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userdata_exit_code: Option<i32>,
    /// How the last run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<VmExit>,
    /// Relaunches after the process died.
    #[serde(default)]
    pub restarts: u32,
    /// The last problem, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl Kind for Vm {
    const KIND: &'static str = "vms";
    type Status = VmStatus;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_and_ephemerality() {
        let vm = Vm {
            group: "web".into(),
            index: 3,
            role: VmRole::Sandbox,
            persistent: false,
            vcpus: 1,
            ram_bytes: 256 << 20,
            image: "min".into(),
            storage_size_bytes: None,
            userdata: None,
            tags: vec![],
            secrets: None,
            power: PowerState::Running,
            launch_nonce: 0,
        };
        assert_eq!(vm.hostname(), "web-3");
        assert!(vm.is_ephemeral());
        assert!(
            !Vm {
                persistent: true,
                ..vm.clone()
            }
            .is_ephemeral()
        );
        assert!(
            !Vm {
                role: VmRole::Service,
                ..vm
            }
            .is_ephemeral()
        );
    }
}
