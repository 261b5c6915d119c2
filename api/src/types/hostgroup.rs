//! Host groups and nodes as the Slicer API shows them (`reference/slicer.md`
//! §7.3): `SlicerHostGroup`, `NodeResponse`, create and delete bodies.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `SlicerHostGroup`: one entry of `GET /hostgroup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostGroupInfo {
    /// Group name.
    pub name: String,
    /// Service VMs.
    pub count: u32,
    /// RAM per VM (and the API maximum).
    pub ram_bytes: u64,
    /// vCPUs per VM (and the API maximum).
    pub cpus: u32,
    /// GPUs per VM.
    pub gpu_count: u32,
    /// `amd64` or `arm64`.
    pub arch: String,
}

/// `NodeResponse`: one VM in `GET /nodes` and `GET /hostgroup/{name}/nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NodeInfo {
    /// Hostname, `<group>-<n>`.
    pub hostname: String,
    /// Owning group.
    pub hostgroup: String,
    /// Address with prefix, e.g. `192.168.137.2/24`; empty without a NIC.
    pub ip: String,
    /// Guest memory.
    pub ram_bytes: u64,
    /// vCPUs.
    pub cpus: u32,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `amd64` or `arm64`.
    pub arch: String,
    /// `Running`, `Paused`, `Stopped` (and `Starting` while booting).
    pub status: String,
    /// Whether the VM outlives its guest stopping.
    #[serde(default)]
    pub persistent: bool,
}

/// Query of `GET /nodes` and `GET /hostgroup/{name}/nodes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagFilter {
    /// Only VMs with exactly this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Only VMs with a tag starting with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_prefix: Option<String>,
}

/// `SlicerCreateNodeRequest`; every field optional, `{}` means the group's
/// defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateNodeRequest {
    /// vCPUs, at most the group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// Memory, at most the group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_bytes: Option<u64>,
    /// GPUs, at most the group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_count: Option<u32>,
    /// Keep the VM (stopped, with its disk) when its guest stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
    /// First-boot script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userdata: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Secrets to deliver; absent means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<String>>,
    /// Public keys for the default user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<String>,
    /// GitHub user whose keys to import (`github_user` is an alias).
    #[serde(
        default,
        alias = "github_user",
        skip_serializing_if = "Option::is_none"
    )]
    pub import_user: Option<String>,
    /// Not choosable: the daemon allocates hostnames (400 when non-empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Not choosable: the daemon leases addresses (400 when non-empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Not supported (400 when non-empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_image: Option<String>,
    /// Not supported for sandboxes (400 when true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Not supported (400 when non-empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pci_devices: Vec<String>,
}

/// What a create waits for (`wait=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WaitFor {
    /// Until the guest agent answers.
    Agent,
    /// Until the agent answers and userdata finished.
    Userdata,
}

/// Query of `POST /hostgroup/{name}/nodes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateNodeQuery {
    /// What to wait for before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitFor>,
    /// Go-style duration (`90s`, `5m`); default `5m` when `wait` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// `SlicerCreateNodeResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateNodeResponse {
    /// The allocated hostname.
    pub hostname: String,
    /// The group.
    pub hostgroup: String,
    /// Address with prefix; empty until leased or without a NIC.
    pub ip: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// `amd64` or `arm64`.
    pub arch: String,
    /// Whether the VM is persistent.
    pub persistent: bool,
}

/// `SlicerDeleteResponse`; note `disk_removed` is a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeleteResponse {
    /// What happened.
    pub message: String,
    /// `"true"` or `"false"`.
    pub disk_removed: String,
    /// A problem during the delete, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InfoResponse {
    /// Daemon version.
    pub version: String,
    /// Source revision, when known.
    pub git_commit: String,
    /// `linux`.
    pub platform: String,
    /// `amd64` or `arm64`.
    pub arch: String,
    /// The hypervisor in use and why it was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor: Option<String>,
}

/// The host's architecture in the API's spelling (`reference/slicer.md`
/// §11 item 25).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "amd64",
    }
}
