//! Translating a [`VmSpec`] into Cloud Hypervisor's `VmConfig`. Pure: no
//! I/O.

use std::path::Path;

use super::api::{
    ConsoleConfig, ConsoleMode, CpusConfig, DiskConfig, MemoryConfig, NetConfig, PayloadConfig,
    VmConfig, VsockConfig,
};
use crate::hypervisor::VmSpec;

/// Guest context id of the vsock device; the guest agent listens on it.
pub const GUEST_CID: u32 = 3;

/// The `VmConfig` of `spec`, with the hybrid vsock socket at `vsock`.
pub fn vm_config(spec: &VmSpec, vsock: &Path) -> VmConfig {
    let text = |p: &Path| p.display().to_string();
    VmConfig {
        cpus: CpusConfig {
            boot_vcpus: spec.vcpus,
            max_vcpus: spec.vcpus,
        },
        memory: MemoryConfig {
            size: u64::from(spec.memory_mib) * 1024 * 1024,
        },
        payload: PayloadConfig {
            kernel: text(&spec.boot.kernel_elf),
            cmdline: spec.boot.kernel_cmdline(),
            initramfs: spec.boot.initrd.as_deref().map(text),
        },
        disks: vec![DiskConfig {
            path: text(&spec.root_disk),
        }],
        net: spec
            .nic
            .iter()
            .map(|nic| NetConfig {
                tap: nic.tap.clone(),
                mac: nic.mac.to_string(),
            })
            .collect(),
        serial: ConsoleConfig {
            mode: ConsoleMode::File,
            file: Some(text(&spec.console_log)),
        },
        console: ConsoleConfig {
            mode: ConsoleMode::Off,
            file: None,
        },
        // VFIO passthrough devices go here once VmSpec carries them.
        devices: Vec::new(),
        vsock: VsockConfig {
            cid: GUEST_CID,
            socket: text(vsock),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::test_utils::sample_spec;

    #[test]
    fn memory_is_in_bytes_and_serial_goes_to_the_console_log() {
        let spec = sample_spec(Path::new("/run/vm"));
        let config = vm_config(&spec, Path::new("/run/vm/vsock"));
        assert_eq!(config.memory.size, 256 * 1024 * 1024);
        assert_eq!(config.serial.file.as_deref(), Some("/run/vm/console.log"));
        assert_eq!(config.console.mode, ConsoleMode::Off);
        assert_eq!(config.payload.cmdline, spec.boot.kernel_cmdline());
        assert_eq!(config.net[0].tap, "tap-vm-1");
        assert!(config.devices.is_empty());
    }
}
