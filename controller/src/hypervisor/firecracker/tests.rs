//! Contract tests: the real driver code against a fake Firecracker that
//! validates every request against `firecracker-api.yaml`.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::hypervisor::VmProbe;
use crate::hypervisor::accel::Accel;
use crate::hypervisor::test_utils::{
    ContractRig, ContractVmm, sample_spec, script, wait_for_file, working_kvm,
};

const FIRECRACKER: ContractVmm = ContractVmm {
    binary: FIRECRACKER_BINARY,
    api_flag: "--api-sock",
    socket_prefix: "",
    socket: "firecracker.sock",
    contract: "firecracker-api.yaml",
};

fn rig() -> ContractRig<FirecrackerDriver> {
    ContractRig::new(&FIRECRACKER, |binary| {
        FirecrackerDriver::new(binary, &working_kvm())
            .unwrap()
            .with_ctrl_alt_del_grace(Duration::from_millis(100))
    })
}

#[tokio::test]
async fn full_lifecycle_follows_the_firecracker_api() {
    let rig = rig();
    let spec = &rig.spec;
    let socket = rig.socket();
    let (fake, handle) = rig.launch().await;
    assert_eq!(handle.kind, HypervisorKind::Firecracker);
    assert_eq!(handle.control_socket, socket);
    assert_eq!(handle.vsock_socket, spec.run_dir.join("vsock"));
    assert_eq!(VmHandle::load(&spec.run_dir).unwrap(), Some(handle.clone()));
    assert!(spec.run_dir.join("firecracker.log").exists());
    rig.pause_snapshot_and_kill(&handle).await;
    assert!(!socket.exists(), "kill removes the api socket");

    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(
        fake.calls(),
        [
            "GET /",
            "PUT /logger",
            "PUT /metrics",
            "PUT /boot-source",
            "PUT /machine-config",
            "PUT /drives/rootfs",
            "PUT /network-interfaces/eth0",
            "PUT /vsock",
            "PUT /actions",
            "GET /",
            "PATCH /vm",
            "PATCH /vm",
            "PATCH /vm",
            "PUT /snapshot/create",
            "PUT /actions",
        ]
    );
    let run = spec.run_dir.display();
    assert_eq!(
        fake.bodies("PUT", "/boot-source"),
        [json!({
            "kernel_image_path": "/images/vmlinux",
            "initrd_path": "/images/initrd.img",
            "boot_args": format!("{} reboot=k pci=off", spec.boot.kernel_cmdline()),
        })]
    );
    assert_eq!(
        fake.bodies("PUT", "/machine-config"),
        [json!({"vcpu_count": 2, "mem_size_mib": 256, "smt": false})]
    );
    assert_eq!(
        fake.bodies("PUT", "/drives/rootfs"),
        [
            json!({"drive_id": "rootfs", "path_on_host": "/disks/vm-1.ext4", "is_root_device": true, "is_read_only": false})
        ]
    );
    assert_eq!(
        fake.bodies("PUT", "/network-interfaces/eth0"),
        [
            json!({"iface_id": "eth0", "host_dev_name": "tap-vm-1", "guest_mac": "02:00:00:00:00:01"})
        ]
    );
    assert_eq!(
        fake.bodies("PUT", "/vsock"),
        [json!({"guest_cid": 3, "uds_path": format!("{run}/vsock")})]
    );
    assert_eq!(
        fake.bodies("PUT", "/actions"),
        [
            json!({"action_type": "InstanceStart"}),
            json!({"action_type": "SendCtrlAltDel"}),
        ]
    );
    assert_eq!(
        fake.bodies("PATCH", "/vm"),
        [
            json!({"state": "Paused"}),
            json!({"state": "Resumed"}),
            json!({"state": "Paused"}),
        ]
    );
    let snap = rig.snapshots().display().to_string();
    assert_eq!(
        fake.bodies("PUT", "/snapshot/create"),
        [
            json!({"snapshot_path": format!("{snap}/vmstate"), "mem_file_path": format!("{snap}/memory"), "snapshot_type": "Full"})
        ]
    );
}

#[tokio::test]
async fn restore_loads_the_snapshot_into_a_fresh_vmm() {
    let rig = rig();
    let (fake, handle) = rig.restore().await;
    rig.driver.kill(&handle).await.unwrap();

    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(
        fake.calls(),
        [
            "GET /",
            "PUT /logger",
            "PUT /metrics",
            "PUT /snapshot/load",
            "PUT /actions"
        ]
    );
    let snap = rig.snapshots().display().to_string();
    assert_eq!(
        fake.bodies("PUT", "/snapshot/load"),
        [json!({
            "snapshot_path": format!("{snap}/vmstate"),
            "mem_backend": {"backend_type": "File", "backend_path": format!("{snap}/memory")},
            "resume_vm": true,
        })]
    );
}

#[tokio::test]
async fn a_vmm_that_dies_at_start_is_reported_with_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sample_spec(&dir.path().join("run"));
    let binary = script(
        dir.path(),
        "firecracker",
        "echo 'Error: Kvm(Error(19))' >&2; exit 1",
    );
    let driver = FirecrackerDriver::new(binary, &working_kvm()).unwrap();
    let err = driver.launch(&spec).await.unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(
        chain.contains("firecracker for vm vm-1 did not start"),
        "{chain}"
    );
    assert!(chain.contains("Kvm(Error(19))"), "{chain}");
    assert_eq!(VmHandle::load(&spec.run_dir).unwrap(), None);
}

#[tokio::test]
async fn probe_tells_starting_from_running_from_gone() {
    let rig = rig();
    let (spec, driver) = (&rig.spec, &rig.driver);
    std::fs::create_dir_all(&spec.run_dir).unwrap();
    let vmm =
        ProcessRecord::spawn(Path::new("/bin/sleep"), ["30"], &rig.dir.path().join("log")).unwrap();
    let handle = VmHandle {
        name: spec.name.clone(),
        kind: HypervisorKind::Firecracker,
        vmm,
        sidecars: Vec::new(),
        vsock_socket: spec.run_dir.join("vsock"),
        control_socket: rig.socket(),
        console_log: spec.console_log.clone(),
        run_dir: spec.run_dir.clone(),
    };
    assert_eq!(driver.probe(&handle).await, VmProbe::Starting);
    let _fake = rig.fake_vmm(&handle.control_socket);
    assert_eq!(driver.probe(&handle).await, VmProbe::Running);
    let reused = VmHandle {
        vmm: ProcessRecord {
            start_ticks: handle.vmm.start_ticks + 1,
            ..handle.vmm.clone()
        },
        ..handle.clone()
    };
    assert_eq!(
        driver.probe(&reused).await,
        VmProbe::Gone,
        "a reused pid is not our vmm"
    );
    handle.vmm.terminate(Duration::from_secs(2)).await.unwrap();
    assert_eq!(driver.probe(&handle).await, VmProbe::Gone);
}

#[test]
fn firecracker_refuses_a_host_without_kvm() {
    let accel = AccelChoice {
        accel: Accel::Tcg,
        reason: "only kvm_pvm".into(),
    };
    let err = FirecrackerDriver::new("/bin/true".into(), &accel).unwrap_err();
    assert_eq!(
        err.to_string(),
        "firecracker needs a usable /dev/kvm: only kvm_pvm"
    );
}

#[tokio::test]
async fn a_jailed_vm_is_configured_with_paths_inside_the_jail() {
    let rig = rig();
    let dir = &rig.dir;
    let mut spec = rig.spec.clone();
    for (name, path) in [
        ("vmlinux", &mut spec.boot.kernel_elf),
        ("disk.ext4", &mut spec.root_disk),
    ] {
        *path = dir.path().join(name);
        std::fs::write(&*path, name).unwrap();
    }
    spec.boot.initrd = None;
    let jailer_bin = script(
        dir.path(),
        "jailer",
        r#": > "$0.spawned"
exec sleep 30"#,
    );
    let jailer = JailerConfig {
        jailer: jailer_bin.clone(),
        uid: nix::unistd::getuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        chroot_base: dir.path().join("jails"),
        cgroup_version: 2,
        cgroups: Vec::new(),
    };
    let driver = rig.driver.clone().with_jailer(jailer);
    let root = dir.path().join("jails/firecracker/vm-1/root");
    let start = tokio::spawn({
        let (driver, spec) = (driver.clone(), spec.clone());
        async move { driver.launch(&spec).await }
    });
    wait_for_file(&jailer_bin.with_extension("spawned")).await;
    let fake = rig.fake_vmm(&root.join("firecracker.sock"));
    let handle = start.await.unwrap().unwrap();
    assert_eq!(handle.control_socket, root.join("firecracker.sock"));
    assert_eq!(handle.vsock_socket, root.join("vsock"));
    assert!(driver.describe().contains("jailed as"));
    let err = driver.snapshot(&handle, dir.path()).await.unwrap_err();
    assert!(
        matches!(
            err,
            HypervisorError::Firecracker(FirecrackerError::JailedSnapshot { .. })
        ),
        "{err:?}"
    );
    driver.kill(&handle).await.unwrap();
    assert!(!root.exists(), "kill removes the jail");

    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(
        fake.bodies("PUT", "/boot-source")[0]["kernel_image_path"],
        "/vmlinux"
    );
    assert_eq!(
        fake.bodies("PUT", "/drives/rootfs")[0]["path_on_host"],
        "/rootfs.ext4"
    );
    assert_eq!(fake.bodies("PUT", "/vsock")[0]["uds_path"], "/vsock");
    assert_eq!(
        fake.bodies("PUT", "/logger")[0]["log_path"],
        "/firecracker.log"
    );
}
