//! Boot, provisioning and shutdown of real guests: userdata runs once per
//! disk, secrets land with their modes, a stop leaves nothing behind, and
//! the systemd image boots.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::time::{Duration, Instant};

use base64::Engine;
use slicer_api::types::{ProvisionRequest, SecretFile, UserdataState};
use slicer_controller::hypervisor::StopOutcome;
use slicer_e2e::exec::check_output;
use slicer_e2e::{GuestOptions, Rig};

const USERDATA: &str =
    "#!/bin/bash\necho ran >> /root/userdata-count\necho USERDATA-SAYS-HELLO\nexit 0\n";

async fn wait_userdata(agent: &slicer_controller::agent_client::AgentClient) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = agent.health().await.unwrap();
        if health.userdata_ran {
            return health.userdata_exit_code;
        }
        assert!(Instant::now() < deadline, "userdata did not finish in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn userdata_runs_once_per_disk_and_secrets_land() {
    let rig = Rig::new().unwrap();
    let disk = rig.new_disk("min", "userdata-1").unwrap();
    let options = GuestOptions {
        disk: Some(disk.clone()),
        ..GuestOptions::min("userdata-1")
    };
    let request = ProvisionRequest {
        secrets: vec![SecretFile {
            name: "api-key".into(),
            data: base64::engine::general_purpose::STANDARD.encode("s3cret"),
            permissions: "0640".into(),
            uid: 1000,
            gid: 1000,
        }],
        userdata: Some(USERDATA.into()),
    };

    let guest = rig.boot(options.clone()).await.unwrap();
    let agent = guest.agent();
    let first = agent.provision(&request).await.unwrap();
    assert_eq!(first.userdata, UserdataState::Started);
    assert_eq!(first.secrets_written, 1);
    assert_eq!(wait_userdata(&agent).await, Some(0));
    assert_eq!(
        check_output(&agent, "cat /run/slicer/secrets/api-key")
            .await
            .unwrap(),
        "s3cret"
    );
    assert_eq!(
        check_output(&agent, "stat -c '%a %u %g' /run/slicer/secrets/api-key")
            .await
            .unwrap(),
        "640 1000 1000"
    );
    assert!(
        guest.console().contains("USERDATA-SAYS-HELLO"),
        "userdata output goes to the console"
    );
    assert_eq!(
        guest.shutdown(Duration::from_secs(15)).await.unwrap(),
        StopOutcome::Graceful
    );

    // Second boot of the same disk: userdata must not run again.
    let guest = rig.boot(options).await.unwrap();
    let agent = guest.agent();
    let health = agent.health().await.unwrap();
    assert!(health.userdata_ran);
    assert_eq!(health.userdata_exit_code, Some(0));
    let second = agent.provision(&request).await.unwrap();
    assert_eq!(second.userdata, UserdataState::AlreadyRan);
    assert_eq!(
        check_output(&agent, "wc -l < /root/userdata-count")
            .await
            .unwrap(),
        "1"
    );
    // /run is fresh on every boot, so secrets are delivered again.
    assert_eq!(
        check_output(&agent, "cat /run/slicer/secrets/api-key")
            .await
            .unwrap(),
        "s3cret"
    );
    guest.shutdown(Duration::from_secs(15)).await.unwrap();
}

/// Every process whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_leaves_no_process_or_socket() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("stop-1")).await.unwrap();
    let handle = guest.handle().clone();
    let run_dir = handle.run_dir.display().to_string();
    assert!(handle.vmm.is_alive());
    assert!(handle.sidecars.iter().all(|s| s.is_alive()));
    assert!(!processes_mentioning(&run_dir).is_empty());
    assert!(handle.vsock_socket.exists() && handle.control_socket.exists());

    assert_eq!(
        guest.shutdown(Duration::from_secs(15)).await.unwrap(),
        StopOutcome::Graceful
    );
    assert!(!handle.vmm.is_alive());
    assert!(handle.sidecars.iter().all(|s| !s.is_alive()));
    assert_eq!(processes_mentioning(&run_dir), Vec::<String>::new());
    for entry in std::fs::read_dir(&handle.run_dir).unwrap().flatten() {
        let kind = entry.file_type().unwrap();
        assert!(
            !std::os::unix::fs::FileTypeExt::is_socket(&kind),
            "socket left: {:?}",
            entry.path()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_guest_is_stopped_by_force() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("kill-1")).await.unwrap();
    let handle = guest.handle().clone();
    // Freeze the guest so it cannot answer a graceful shutdown.
    use slicer_controller::hypervisor::Hypervisor;
    rig.driver().pause(&handle).await.unwrap();
    let outcome = guest.shutdown(Duration::from_secs(2)).await.unwrap();
    assert_eq!(outcome, StopOutcome::Forced);
    assert!(!handle.vmm.is_alive());
}

#[tokio::test(flavor = "multi_thread")]
async fn full_image_boots_systemd_with_the_agent_as_a_unit() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::full("full-1")).await.unwrap();
    let agent = guest.agent();
    let ready_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    let reached = loop {
        let state = check_output(&agent, "systemctl is-active multi-user.target || true")
            .await
            .unwrap();
        if state == "active" {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "multi-user.target not reached: {state}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!(
        "e2e: full image reached multi-user.target {:?} after launch",
        guest.boot_time + reached.duration_since(ready_at)
    );
    assert_eq!(
        check_output(&agent, "cat /proc/1/comm").await.unwrap(),
        "systemd"
    );
    assert_eq!(
        check_output(&agent, "systemctl is-active slicer-agent.service")
            .await
            .unwrap(),
        "active"
    );
    assert_eq!(check_output(&agent, "hostname").await.unwrap(), "full-1");
    eprintln!("e2e: full image agent ready after {:?}", guest.boot_time);
    assert_eq!(
        guest.shutdown(Duration::from_secs(60)).await.unwrap(),
        StopOutcome::Graceful
    );
}
