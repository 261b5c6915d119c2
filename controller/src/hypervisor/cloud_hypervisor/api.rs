//! Request and response bodies of the Cloud Hypervisor API, written by
//! hand from `shared/contracts/cloud-hypervisor-api.yaml` (OpenAPI 3,
//! `components/schemas`). Only the fields slicer sends or reads are
//! modelled; unset optional fields are left out of the JSON.

use serde::{Deserialize, Serialize};

/// API paths (the spec's server prefix `/api/v1` included).
pub mod paths {
    /// `GET`: VMM version; answers once the API is up.
    pub const VMM_PING: &str = "/api/v1/vmm.ping";
    /// `PUT`: stop the VMM process.
    pub const VMM_SHUTDOWN: &str = "/api/v1/vmm.shutdown";
    /// `GET`: VM configuration and state.
    pub const VM_INFO: &str = "/api/v1/vm.info";
    /// `PUT` [`super::VmConfig`]: create (not boot) the VM.
    pub const VM_CREATE: &str = "/api/v1/vm.create";
    /// `PUT`: boot the created VM.
    pub const VM_BOOT: &str = "/api/v1/vm.boot";
    /// `PUT`: stop the VM, keeping the VMM.
    pub const VM_SHUTDOWN: &str = "/api/v1/vm.shutdown";
    /// `PUT`: freeze the vCPUs.
    pub const VM_PAUSE: &str = "/api/v1/vm.pause";
    /// `PUT`: continue frozen vCPUs.
    pub const VM_RESUME: &str = "/api/v1/vm.resume";
    /// `PUT` [`super::VmSnapshotConfig`]: snapshot a paused VM.
    pub const VM_SNAPSHOT: &str = "/api/v1/vm.snapshot";
    /// `PUT` [`super::RestoreConfig`]: restore into a fresh VMM.
    pub const VM_RESTORE: &str = "/api/v1/vm.restore";
}

/// `VmConfig`: the whole VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmConfig {
    /// vCPUs.
    pub cpus: CpusConfig,
    /// Memory.
    pub memory: MemoryConfig,
    /// Kernel, initramfs and command line.
    pub payload: PayloadConfig,
    /// Block devices, root first.
    pub disks: Vec<DiskConfig>,
    /// Network devices.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub net: Vec<NetConfig>,
    /// The 8250 serial port (`ttyS0`).
    pub serial: ConsoleConfig,
    /// The virtio console (`hvc0`).
    pub console: ConsoleConfig,
    /// VFIO devices passed through to the guest.
    pub devices: Vec<DeviceConfig>,
    /// The hybrid vsock device.
    pub vsock: VsockConfig,
}

/// `CpusConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpusConfig {
    /// vCPUs at boot.
    pub boot_vcpus: u32,
    /// vCPUs the guest may grow to.
    pub max_vcpus: u32,
}

/// `MemoryConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryConfig {
    /// Guest memory in bytes.
    pub size: u64,
}

/// `PayloadConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadConfig {
    /// Uncompressed kernel (vmlinux, booted through PVH).
    pub kernel: String,
    /// Kernel command line.
    pub cmdline: String,
    /// Initramfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initramfs: Option<String>,
}

/// `DiskConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskConfig {
    /// Backing file.
    pub path: String,
}

/// `NetConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Existing host TAP device.
    pub tap: String,
    /// Guest MAC address.
    pub mac: String,
}

/// `ConsoleConfig` / `SerialConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleConfig {
    /// Where output goes.
    pub mode: ConsoleMode,
    /// The file, with [`ConsoleMode::File`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// `ConsoleMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsoleMode {
    /// No device.
    Off,
    /// Output to a file.
    File,
    /// Output discarded.
    Null,
}

/// `DeviceConfig`: a VFIO device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// Sysfs path of the device (`/sys/bus/pci/devices/0000:04:00.0`).
    pub path: String,
}

/// `VsockConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsockConfig {
    /// Guest context id, 3 or more.
    pub cid: u32,
    /// Unix socket Cloud Hypervisor binds for host-initiated connections.
    pub socket: String,
}

/// `VmSnapshotConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmSnapshotConfig {
    /// Target directory as a URL, `file:///path`.
    pub destination_url: String,
}

/// `RestoreConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreConfig {
    /// Snapshot directory as a URL, `file:///path`.
    pub source_url: String,
    /// Resume the vCPUs once restored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<bool>,
}

/// `VmmPingResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmmPingResponse {
    /// VMM version.
    pub version: String,
}
