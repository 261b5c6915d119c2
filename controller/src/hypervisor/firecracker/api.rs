//! Request and response bodies of the Firecracker API, written by hand
//! from `shared/contracts/firecracker-api.yaml` (swagger 2.0, the
//! `definitions` section). Only the fields slicer sends or reads are
//! modelled; optional ones are left out of the JSON when unset, as
//! Firecracker rejects unknown fields and some versions reject `null`.

use serde::{Deserialize, Serialize};

/// API paths, so the driver and its tests name them once.
pub mod paths {
    /// `GET`: instance information; answers once the API is up.
    pub const INSTANCE: &str = "/";
    /// `PUT`: InstanceStart, SendCtrlAltDel, FlushMetrics.
    pub const ACTIONS: &str = "/actions";
    /// `PUT`: kernel, initrd and command line.
    pub const BOOT_SOURCE: &str = "/boot-source";
    /// `PUT`: vCPUs and memory.
    pub const MACHINE_CONFIG: &str = "/machine-config";
    /// `PUT`: the root drive.
    pub const ROOT_DRIVE: &str = "/drives/rootfs";
    /// `PUT`: the first network interface.
    pub const ETH0: &str = "/network-interfaces/eth0";
    /// `PUT`: the vsock device.
    pub const VSOCK: &str = "/vsock";
    /// `PUT`: the VMM's own log.
    pub const LOGGER: &str = "/logger";
    /// `PUT`: the VMM's metrics file.
    pub const METRICS: &str = "/metrics";
    /// `PATCH`: pause or resume.
    pub const VM: &str = "/vm";
    /// `PUT`: write a snapshot of a paused VM.
    pub const SNAPSHOT_CREATE: &str = "/snapshot/create";
    /// `PUT`: load a snapshot into a fresh VMM.
    pub const SNAPSHOT_LOAD: &str = "/snapshot/load";
}

/// `BootSource`: what the guest boots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootSource {
    /// Uncompressed kernel (vmlinux) as the VMM sees it.
    pub kernel_image_path: String,
    /// Kernel command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_args: Option<String>,
    /// Initramfs as the VMM sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initrd_path: Option<String>,
}

/// `MachineConfiguration`: vCPUs and memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineConfiguration {
    /// Number of vCPUs, 1 to 32.
    pub vcpu_count: u32,
    /// Guest memory in MiB.
    pub mem_size_mib: u32,
    /// Simultaneous multithreading; off, as slicer guests do not need it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smt: Option<bool>,
    /// Track dirty pages, needed only for diff snapshots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_dirty_pages: Option<bool>,
}

/// `Drive`: a virtio-block device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drive {
    /// Drive id; also the last path segment of `/drives/{drive_id}`.
    pub drive_id: String,
    /// Backing file as the VMM sees it.
    pub path_on_host: String,
    /// Whether this is the root device.
    pub is_root_device: bool,
    /// Read-only drive.
    pub is_read_only: bool,
}

/// `NetworkInterface`: a virtio-net device on a host TAP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    /// Interface id; also the last path segment of the URL.
    pub iface_id: String,
    /// Host TAP device name.
    pub host_dev_name: String,
    /// Guest MAC address, `aa:bb:cc:dd:ee:ff`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_mac: Option<String>,
}

/// `Vsock`: the hybrid vsock device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vsock {
    /// Guest context id, 3 or more.
    pub guest_cid: u32,
    /// Unix socket Firecracker binds for host-initiated connections.
    pub uds_path: String,
}

/// `Logger`: where the VMM writes its own log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logger {
    /// Log file; must exist, as Firecracker opens it without creating it.
    pub log_path: String,
    /// Log level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<LogLevel>,
    /// Prefix lines with their level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_level: Option<bool>,
}

/// `Logger.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warning,
    /// The default.
    Info,
    /// Verbose.
    Debug,
}

/// `Metrics`: where the VMM writes metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// Metrics file; must exist, as for the logger.
    pub metrics_path: String,
}

/// `InstanceActionInfo`: a synchronous action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceActionInfo {
    /// The action.
    pub action_type: ActionType,
}

/// `InstanceActionInfo.action_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionType {
    /// Boot the configured guest.
    InstanceStart,
    /// Press Ctrl-Alt-Del on the guest's keyboard controller.
    SendCtrlAltDel,
    /// Write metrics now.
    FlushMetrics,
}

/// `Vm`: the desired run state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vm {
    /// Paused or resumed.
    pub state: VmState,
}

/// `Vm.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VmState {
    /// vCPUs stopped.
    Paused,
    /// vCPUs running.
    Resumed,
}

/// `SnapshotCreateParams`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotCreateParams {
    /// File for the microVM (device) state.
    pub snapshot_path: String,
    /// File for guest memory.
    pub mem_file_path: String,
    /// Full or diff; full when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_type: Option<SnapshotType>,
}

/// `SnapshotCreateParams.snapshot_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotType {
    /// All of guest memory.
    Full,
    /// Only pages dirtied since the last snapshot.
    Diff,
}

/// `SnapshotLoadParams`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotLoadParams {
    /// File with the microVM state.
    pub snapshot_path: String,
    /// Where guest memory comes from.
    pub mem_backend: MemoryBackend,
    /// Resume the vCPUs once loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_vm: Option<bool>,
}

/// `MemoryBackend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryBackend {
    /// File or userfaultfd.
    pub backend_type: MemoryBackendType,
    /// The memory file (or the UFFD handler socket).
    pub backend_path: String,
}

/// `MemoryBackend.backend_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemoryBackendType {
    /// Memory is read from a file.
    File,
    /// Page faults are served by a userfaultfd handler.
    Uffd,
}

/// `InstanceInfo`: the answer to `GET /`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// Instance id.
    pub id: String,
    /// `Not started`, `Running` or `Paused`.
    pub state: String,
    /// Firecracker version.
    pub vmm_version: String,
    /// Application name.
    pub app_name: String,
}
