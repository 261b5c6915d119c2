//! The YAML file as written by users, field for field. Unknown keys are
//! errors so typos do not pass silently.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole file: a single `config:` root.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlicerConfig {
    /// Everything.
    pub config: DaemonConfig,
}

/// `config.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Host groups.
    #[serde(default)]
    pub host_groups: Vec<HostGroupConfig>,
    /// Image for every group (a per-group `image` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image holding a kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_image: Option<String>,
    /// Explicit kernel file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_file: Option<PathBuf>,
    /// `firecracker`, `qemu` or `cloud-hypervisor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor: Option<String>,
    /// Shut guests down before killing them when the daemon stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_shutdown: Option<bool>,
    /// GitHub user whose keys go into guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_user: Option<String>,
    /// Literal public keys for guests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<String>,
    /// REST API listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiConfig>,
    /// Serial-over-SSH listener (accepted; not served yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub ssh: Option<serde_yaml::Value>,
    /// PCI devices pinned to hostnames.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pci: BTreeMap<String, Vec<String>>,
    /// Allow plain-HTTP registries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_registry: Option<bool>,
    /// CNI network name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_name: Option<String>,
}

/// `config.api`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// TCP port (default 8080).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// A TCP address or a Unix socket path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_address: Option<String>,
    /// Bearer-token auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
}

/// `config.api.auth`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Whether TCP clients need the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Explicit token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `config.host_groups[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostGroupConfig {
    /// Group name.
    #[serde(default)]
    pub name: String,
    /// Service VMs (default 1; 0 = API-only sandbox pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// vCPUs per VM and the API maximum (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpu: Option<u32>,
    /// RAM in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_gb: Option<u64>,
    /// RAM in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_mb: Option<u64>,
    /// RAM in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_bytes: Option<u64>,
    /// `image`, `zfs` or `devmapper`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// Disk size, e.g. `25G`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_size: Option<String>,
    /// Keep snapshot-backend disks after a VM stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
    /// Inline first-boot script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userdata: Option<String>,
    /// First-boot script file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userdata_file: Option<PathBuf>,
    /// Guest resolvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Vec<String>>,
    /// GPUs per VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_count: Option<u32>,
    /// Networking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkConfig>,
    /// CA trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<CaConfig>,
    /// Per-group image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// `host_groups[].network`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// `bridge`, `isolated` or `macvtap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Bridge name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// TAP name prefix (≤ 14 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tap_prefix: Option<String>,
    /// Gateway in CIDR form, e.g. `192.168.137.1/24`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Static addresses, one per VM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// `A-B` inside the gateway subnet, or an isolated CIDR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// Isolated mode: blocked destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
    /// Isolated mode: allowed destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// macvtap parent NIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// `host_groups[].ca`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    /// Generate a group CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<bool>,
    /// Extra CA files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<PathBuf>,
}
