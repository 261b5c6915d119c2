//! Test-only helpers shared by the driver tests: a sample [`VmSpec`], the
//! upstream API specs as request validators, a fake VMM that serves them
//! on a Unix socket, and the rig of the contract tests built on them.

mod contract_rig;
mod fake_vmm;
mod openapi;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) use contract_rig::{ContractRig, ContractVmm};
pub(crate) use fake_vmm::FakeVmm;
pub(crate) use openapi::ApiSpec;

use super::VmSpec;
use super::accel::{Accel, AccelChoice};
use super::spec::{BootSource, GuestSettings, MacAddr, NicSpec};

/// A VM with a NIC, its files under `run_dir`.
pub(crate) fn sample_spec(run_dir: &Path) -> VmSpec {
    VmSpec {
        name: "vm-1".into(),
        vcpus: 2,
        memory_mib: 256,
        boot: BootSource {
            kernel_bzimage: "/images/vmlinuz".into(),
            kernel_elf: "/images/vmlinux".into(),
            initrd: Some("/images/initrd.img".into()),
            guest: GuestSettings {
                hostname: "vm-1".into(),
                network: None,
            },
        },
        root_disk: "/disks/vm-1.ext4".into(),
        nic: Some(NicSpec {
            tap: "tap-vm-1".into(),
            mac: MacAddr([0x02, 0, 0, 0, 0, 1]),
        }),
        run_dir: run_dir.to_owned(),
        console_log: run_dir.join("console.log"),
    }
}

/// A host whose KVM works, for drivers that refuse to exist without it.
pub(crate) fn working_kvm() -> AccelChoice {
    AccelChoice {
        accel: Accel::Kvm,
        reason: "/dev/kvm is usable (kvm_intel loaded)".into(),
    }
}

/// Write an executable shell script `name` with `body` into `dir`.
pub(crate) fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Wait until `path` exists.
pub(crate) async fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
