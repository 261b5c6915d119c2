//! Guest metrics (`/nodes/stats`, `/node/{hostname}/stats`): the node
//! fields plus the `slicer-vmmeter` snapshot, or an error saying why there
//! is none.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NodeInfo;

/// `SlicerSnapshot`, as `slicer-vmmeter` reports it. Unlike the rest of
/// the API its fields are camelCase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuestSnapshot {
    /// The guest's hostname.
    pub hostname: String,
    /// `amd64` or `arm64`.
    pub arch: String,
    /// RFC 3339 time of the sample.
    pub timestamp: String,
    /// Guest uptime such as `6m53s`.
    pub uptime: String,
    /// vCPUs seen by the guest.
    pub total_cpus: u32,
    /// Guest memory in bytes.
    pub total_memory: u64,
    /// Used memory in bytes.
    pub memory_used: u64,
    /// Available memory in bytes.
    pub memory_available: u64,
    /// Used memory in percent.
    pub memory_used_percent: f64,
    /// 1-minute load average.
    pub load_avg1: f64,
    /// 5-minute load average.
    pub load_avg5: f64,
    /// 15-minute load average.
    pub load_avg15: f64,
    /// Bytes read from disks since boot.
    pub disk_read_total: f64,
    /// Bytes written to disks since boot.
    pub disk_write_total: f64,
    /// Bytes received since boot.
    pub network_read_total: f64,
    /// Bytes sent since boot.
    pub network_write_total: f64,
    /// Disk requests in flight.
    #[serde(rename = "diskIOInflight")]
    pub disk_io_inflight: i64,
    /// Open TCP connections.
    pub open_connections: i64,
    /// Open file handles.
    pub open_files: i64,
    /// Available entropy.
    pub entropy: i64,
    /// Root filesystem size in bytes.
    pub disk_space_total: u64,
    /// Root filesystem bytes used.
    pub disk_space_used: u64,
    /// Root filesystem bytes free.
    pub disk_space_free: u64,
    /// Root filesystem used in percent.
    pub disk_space_used_percent: f64,
}

/// `NodeStatResponse`: one VM and its guest metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeStats {
    /// The `NodeResponse` fields.
    #[serde(flatten)]
    pub node: NodeInfo,
    /// The guest's metrics, when available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<GuestSnapshot>,
    /// Why there is no snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
