//! Contract tests: the real driver code against a fake Cloud Hypervisor
//! that validates every request against `cloud-hypervisor-api.yaml`.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::hypervisor::VmProbe;
use crate::hypervisor::test_utils::{self, FakeVmm, sample_spec, script, working_kvm};

/// A `cloud-hypervisor` stand-in: notes that it started and idles.
const FAKE_CLOUD_HYPERVISOR: &str = r#"[ "$1" = "--api-socket" ] || exit 2
socket="${2#path=}"
: > "$socket.spawned"
exec sleep 30"#;

fn driver(dir: &Path) -> CloudHypervisorDriver {
    let binary = script(dir, "cloud-hypervisor", FAKE_CLOUD_HYPERVISOR);
    CloudHypervisorDriver::new(binary, &working_kvm())
        .unwrap()
        .with_shutdown_grace(Duration::from_millis(100))
}

/// Serve the fake Cloud Hypervisor once the fake binary has started.
async fn serve_when_spawned(
    socket: &Path,
    start: tokio::task::JoinHandle<Result<VmHandle, HypervisorError>>,
) -> (FakeVmm, VmHandle) {
    let marker = socket.with_extension("sock.spawned");
    test_utils::serve_when_spawned(&marker, socket, "cloud-hypervisor-api.yaml", start).await
}

#[tokio::test]
async fn full_lifecycle_follows_the_cloud_hypervisor_api() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sample_spec(&dir.path().join("run"));
    let driver = driver(dir.path());
    let socket = spec.run_dir.join("ch.sock");
    let start = tokio::spawn({
        let (driver, spec) = (driver.clone(), spec.clone());
        async move { driver.launch(&spec).await }
    });
    let (fake, handle) = serve_when_spawned(&socket, start).await;
    assert_eq!(handle.kind, HypervisorKind::CloudHypervisor);
    assert_eq!(handle.control_socket, socket);
    assert_eq!(handle.vsock_socket, spec.run_dir.join("vsock"));
    assert_eq!(VmHandle::load(&spec.run_dir).unwrap(), Some(handle.clone()));

    assert_eq!(driver.probe(&handle).await, VmProbe::Running);
    driver.pause(&handle).await.unwrap();
    driver.resume(&handle).await.unwrap();
    let snapshots = dir.path().join("snap");
    driver.snapshot(&handle, &snapshots).await.unwrap();
    driver.kill(&handle).await.unwrap();
    assert!(!handle.is_running());
    assert_eq!(driver.probe(&handle).await, VmProbe::Gone);

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
        [json!({"destination_url": format!("file://{}", snapshots.display())})]
    );
}

#[tokio::test]
async fn restore_then_resume_in_a_fresh_vmm() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sample_spec(&dir.path().join("run"));
    let driver = driver(dir.path());
    let snapshots = dir.path().join("snap");
    let start = tokio::spawn({
        let (driver, spec, snapshots) = (driver.clone(), spec.clone(), snapshots.clone());
        async move { driver.restore(&spec, &snapshots).await }
    });
    let (fake, handle) = serve_when_spawned(&spec.run_dir.join("ch.sock"), start).await;
    driver.kill(&handle).await.unwrap();
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
        [json!({"source_url": format!("file://{}", snapshots.display())})]
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
