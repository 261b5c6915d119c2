//! Translating a [`VmSpec`] into the Firecracker API requests that
//! configure a VM before `InstanceStart`. Pure: no I/O, so the whole
//! configuration is testable without a VMM.

use std::path::Path;

use super::api::{
    BootSource, Drive, LogLevel, Logger, MachineConfiguration, Metrics, NetworkInterface, Vsock,
};
use crate::hypervisor::VmSpec;

/// Guest context id of the vsock device; the guest agent listens on it.
pub const GUEST_CID: u32 = 3;

/// Kernel parameters Firecracker guests need on top of the common ones:
/// `reboot=k` makes a guest reboot go through the keyboard controller,
/// which is how Firecracker learns to exit; `pci=off` skips probing a PCI
/// bus that the default Firecracker machine does not have.
pub const FIRECRACKER_KERNEL_ARGS: &str = "reboot=k pci=off";

/// Files as the VMM process sees them: host paths, or paths inside the
/// jail when the jailer runs Firecracker in a chroot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmmPaths {
    /// Uncompressed kernel.
    pub kernel: String,
    /// Initramfs, if any.
    pub initrd: Option<String>,
    /// Root disk.
    pub root_disk: String,
    /// Hybrid vsock socket.
    pub vsock: String,
    /// Firecracker's own log.
    pub log: String,
    /// Metrics file.
    pub metrics: String,
}

/// Every pre-boot request of one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmConfig {
    /// `PUT /logger`.
    pub logger: Logger,
    /// `PUT /metrics`.
    pub metrics: Metrics,
    /// `PUT /boot-source`.
    pub boot_source: BootSource,
    /// `PUT /machine-config`.
    pub machine: MachineConfiguration,
    /// `PUT /drives/rootfs`.
    pub root_drive: Drive,
    /// `PUT /network-interfaces/eth0`, if the VM has a NIC.
    pub eth0: Option<NetworkInterface>,
    /// `PUT /vsock`.
    pub vsock: Vsock,
}

/// Host paths, for a Firecracker that is not jailed.
pub fn host_paths(spec: &VmSpec, vsock: &Path, log: &Path, metrics: &Path) -> VmmPaths {
    let text = |p: &Path| p.display().to_string();
    VmmPaths {
        kernel: text(&spec.boot.kernel_elf),
        initrd: spec.boot.initrd.as_deref().map(text),
        root_disk: text(&spec.root_disk),
        vsock: text(vsock),
        log: text(log),
        metrics: text(metrics),
    }
}

/// The configuration of `spec`, with files at `paths`.
pub fn vm_config(spec: &VmSpec, paths: &VmmPaths) -> VmConfig {
    VmConfig {
        logger: Logger {
            log_path: paths.log.clone(),
            level: Some(LogLevel::Info),
            show_level: Some(true),
        },
        metrics: Metrics {
            metrics_path: paths.metrics.clone(),
        },
        boot_source: BootSource {
            kernel_image_path: paths.kernel.clone(),
            boot_args: Some(format!(
                "{} {FIRECRACKER_KERNEL_ARGS}",
                spec.boot.kernel_cmdline()
            )),
            initrd_path: paths.initrd.clone(),
        },
        machine: MachineConfiguration {
            vcpu_count: spec.vcpus,
            mem_size_mib: spec.memory_mib,
            smt: Some(false),
            track_dirty_pages: None,
        },
        root_drive: Drive {
            drive_id: "rootfs".to_owned(),
            path_on_host: paths.root_disk.clone(),
            is_root_device: true,
            is_read_only: false,
        },
        eth0: spec.nic.as_ref().map(|nic| NetworkInterface {
            iface_id: "eth0".to_owned(),
            host_dev_name: nic.tap.clone(),
            guest_mac: Some(nic.mac.to_string()),
        }),
        vsock: Vsock {
            guest_cid: GUEST_CID,
            uds_path: paths.vsock.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::test_utils::sample_spec;

    #[test]
    fn boot_args_extend_the_common_command_line() {
        let spec = sample_spec(Path::new("/run/vm"));
        let paths = host_paths(
            &spec,
            Path::new("/run/vm/vsock"),
            Path::new("/run/vm/fc.log"),
            Path::new("/run/vm/metrics"),
        );
        let config = vm_config(&spec, &paths);
        let args = config.boot_source.boot_args.unwrap();
        assert!(args.starts_with(&spec.boot.kernel_cmdline()), "{args}");
        assert!(args.ends_with(" reboot=k pci=off"), "{args}");
        assert_eq!(config.boot_source.kernel_image_path, "/images/vmlinux");
        assert_eq!(config.vsock.uds_path, "/run/vm/vsock");
        let eth0 = config.eth0.unwrap();
        assert_eq!(eth0.host_dev_name, "tap-vm-1");
        assert_eq!(eth0.guest_mac.as_deref(), Some("02:00:00:00:00:01"));
    }
}
