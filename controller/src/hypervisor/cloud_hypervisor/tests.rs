//! Contract tests: the real driver code against a fake Cloud Hypervisor
//! that validates every request against `cloud-hypervisor-api.yaml`.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::hypervisor::accel::Accel;
use crate::hypervisor::test_utils::{ContractRig, ContractVmm, working_kvm};

const CLOUD_HYPERVISOR: ContractVmm = ContractVmm {
    binary: CLOUD_HYPERVISOR_BINARY,
    api_flag: "--api-socket",
    socket_prefix: "path=",
    socket: "ch.sock",
    contract: "cloud-hypervisor-api.yaml",
};

fn rig() -> ContractRig<CloudHypervisorDriver> {
    ContractRig::new(&CLOUD_HYPERVISOR, |binary| {
        CloudHypervisorDriver::new(binary, &working_kvm())
            .unwrap()
            .with_shutdown_grace(Duration::from_millis(100))
    })
}

#[tokio::test]
async fn full_lifecycle_follows_the_cloud_hypervisor_api() {
    let rig = rig();
    let spec = &rig.spec;
    let (fake, handle) = rig.launch().await;
    assert_eq!(handle.kind, HypervisorKind::CloudHypervisor);
    assert_eq!(handle.control_socket, rig.socket());
    assert_eq!(handle.vsock_socket, spec.run_dir.join("vsock"));
    assert_eq!(VmHandle::load(&spec.run_dir).unwrap(), Some(handle.clone()));
    rig.pause_snapshot_and_kill(&handle).await;

    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(
        fake.calls(),
        [
            "GET /api/v1/vmm.ping",
            "PUT /api/v1/vm.create",
            "PUT /api/v1/vm.boot",
            "GET /api/v1/vmm.ping",
            "PUT /api/v1/vm.pause",
            "PUT /api/v1/vm.resume",
            "PUT /api/v1/vm.pause",
            "PUT /api/v1/vm.snapshot",
            "PUT /api/v1/vm.shutdown",
            "PUT /api/v1/vmm.shutdown",
        ]
    );
    let run = spec.run_dir.display();
    assert_eq!(
        fake.bodies("PUT", "/api/v1/vm.create"),
        [json!({
            "cpus": {"boot_vcpus": 2, "max_vcpus": 2},
            "memory": {"size": 256u64 * 1024 * 1024},
            "payload": {
                "kernel": "/images/vmlinux",
                "initramfs": "/images/initrd.img",
                "cmdline": spec.boot.kernel_cmdline(),
            },
            "disks": [{"path": "/disks/vm-1.ext4"}],
            "net": [{"tap": "tap-vm-1", "mac": "02:00:00:00:00:01"}],
            "serial": {"mode": "File", "file": format!("{run}/console.log")},
            "console": {"mode": "Off"},
            "devices": [],
            "vsock": {"cid": 3, "socket": format!("{run}/vsock")},
        })]
    );
    assert_eq!(
        fake.bodies("PUT", "/api/v1/vm.snapshot"),
        [json!({"destination_url": format!("file://{}", rig.snapshots().display())})]
    );
}

#[tokio::test]
async fn restore_then_resume_in_a_fresh_vmm() {
    let rig = rig();
    let (fake, handle) = rig.restore().await;
    rig.driver.kill(&handle).await.unwrap();
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(
        &fake.calls()[..3],
        [
            "GET /api/v1/vmm.ping",
            "PUT /api/v1/vm.restore",
            "PUT /api/v1/vm.resume",
        ]
    );
    assert_eq!(
        fake.bodies("PUT", "/api/v1/vm.restore"),
        [json!({"source_url": format!("file://{}", rig.snapshots().display())})]
    );
}

#[test]
fn cloud_hypervisor_refuses_a_host_without_kvm() {
    let accel = AccelChoice {
        accel: Accel::Tcg,
        reason: "only kvm_pvm".into(),
    };
    let err = CloudHypervisorDriver::new("/bin/true".into(), &accel).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cloud-hypervisor needs a usable /dev/kvm: only kvm_pvm"
    );
}

#[tokio::test]
async fn a_failed_request_names_the_vmm_and_the_vm() {
    let rig = rig();
    let (_fake, handle) = rig.launch().await;
    rig.driver.kill(&handle).await.unwrap();
    let err = rig.driver.pause(&handle).await.unwrap_err();
    assert_eq!(err.to_string(), "cloud-hypervisor driver failed");
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(
        source.to_string(),
        "cloud-hypervisor api request for vm vm-1 failed"
    );
    let request = std::error::Error::source(source).unwrap().to_string();
    assert!(request.contains("PUT /api/v1/vm.pause"), "{request}");
}
