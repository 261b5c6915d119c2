//! The host-group kind: its spec is the validated [`HostGroupSpec`] from the
//! configuration, its status what the group controller observed.

use serde::{Deserialize, Serialize};

use crate::config::HostGroupSpec;
use crate::store::Kind;

/// Finalizer that holds a group until its VMs and bridge are gone.
pub const HOST_GROUP_FINALIZER: &str = "slicer.dev/host-group";

/// What the group controller last saw of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostGroupStatus {
    /// Service VMs that are running with the current spec and answer.
    #[serde(default)]
    pub ready_services: u32,
    /// VMs of the group, services and sandboxes.
    #[serde(default)]
    pub vms: u32,
    /// Whether the bridge (if any) is up with its gateway.
    #[serde(default)]
    pub bridge_ready: bool,
    /// What egress setup achieved, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<String>,
    /// The VM being rolled to a new spec, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling: Option<String>,
}

impl Kind for HostGroupSpec {
    const KIND: &'static str = "hostgroups";
    type Status = HostGroupStatus;
}
