//! One VM's own resources (`/vm/{hostname}/…`): describe, tags, console
//! logs and the lifecycle queries (`reference/slicer.md` §7.2, §7.12).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NodeInfo;
use super::agent::ShutdownAction;

/// Destinations allowed and dropped for a VM's egress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EgressRules {
    /// Allowed destinations: CIDRs or `ip:port`.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Blocked destinations: CIDRs or `ip:port`.
    #[serde(default)]
    pub drop: Vec<String>,
}

/// The network part of `GET /vm/{hostname}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VmNetwork {
    /// `bridge`, `isolated` or `macvtap`; empty without a NIC.
    pub mode: String,
    /// Where the effective rules come from: `host_group` or `override`.
    pub policy_source: String,
    /// The rules of the host group.
    pub host_group: EgressRules,
    /// Rules given for this VM alone, if any.
    #[serde(default)]
    pub r#override: Option<EgressRules>,
    /// The rules in force.
    pub effective: EgressRules,
}

/// `GET /vm/{hostname}`: the node fields plus storage, image, commit and
/// network details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VmDescription {
    /// The `NodeResponse` fields.
    #[serde(flatten)]
    pub node: NodeInfo,
    /// Disk backend: `image`, `zfs` or `devmapper`.
    pub storage: String,
    /// The image the disk was cloned from.
    pub image: String,
    /// The commit this VM's disk was frozen into, if any.
    #[serde(default)]
    pub commit_id: Option<String>,
    /// The commit this VM was forked from, if any.
    #[serde(default)]
    pub parent_commit_id: Option<String>,
    /// Networking and egress policy.
    pub network: VmNetwork,
}

/// `GET|PATCH /vm/{hostname}/tags` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VmTags {
    /// The VM.
    pub hostname: String,
    /// Its tags after the call.
    pub tags: Vec<String>,
}

/// Body of `PATCH /vm/{hostname}/tags`: either `add`/`remove`, or
/// `replace` alone. The `name=` tag cannot be changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagPatch {
    /// Tags to add (already present ones are kept once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<Vec<String>>,
    /// Tags to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<Vec<String>>,
    /// The whole new set of mutable tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<Vec<String>>,
}

/// Query of `GET /vm/{hostname}/logs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogsQuery {
    /// Lines from the end (default 20; `0` = the whole file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<usize>,
}

/// `SlicerLogsResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogsResponse {
    /// The VM.
    pub hostname: String,
    /// Lines in `content`.
    pub lines: usize,
    /// The tail of the serial console log.
    pub content: String,
}

/// Query of `POST /vm/{hostname}/shutdown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VmShutdownQuery {
    /// `shutdown` or `reboot`; both leave the VM stopped
    /// (`reference/slicer.md` §11 item 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ShutdownAction>,
}

/// Query of `POST /vm/{hostname}/restore`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RestoreQuery {
    /// Only `agent`: answer once the guest agent is back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<String>,
    /// Go-style duration of the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}
