//! Sandbox semantics with real guests (`reference/slicer.md` §3.3): an
//! ephemeral sandbox is deleted with its disk when its guest powers off; a
//! persistent one stays, stopped, with its disk; bad create requests get
//! the documented status and change nothing; a clean daemon stop deletes
//! ephemeral sandboxes and keeps the rest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::time::{Duration, Instant};

use slicer_api::types::{CreateNodeQuery, CreateNodeRequest, ExecQuery, WaitFor};
use slicer_e2e::TestDaemon;

const POOL: &str = r#"config:
  host_groups:
    - name: sbx
      count: 0
      vcpu: 1
      ram_mb: 256
      storage: image
      storage_size: 512M
"#;

fn wait_agent() -> CreateNodeQuery {
    CreateNodeQuery {
        wait: Some(WaitFor::Agent),
        timeout: Some("120s".into()),
    }
}

/// Run `command` (a poweroff or reboot) in the guest; the call ends when
/// the guest does, so it has no answer to check.
async fn stop_guest(client: &slicer_api::client::SlicerClient, hostname: &str, command: &str) {
    let query = ExecQuery {
        cmd: command.into(),
        ..ExecQuery::default()
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(30),
        client.exec_buffered(hostname, &query),
    )
    .await;
}

async fn status_of(daemon: &TestDaemon, hostname: &str) -> anyhow::Result<Option<String>> {
    Ok(daemon
        .nodes()
        .await?
        .into_iter()
        .find(|n| n.hostname == hostname)
        .map(|n| n.status))
}

async fn wait_for(daemon: &TestDaemon, hostname: &str, want: Option<&str>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while status_of(daemon, hostname).await?.as_deref() != want {
        assert!(
            Instant::now() < deadline,
            "{hostname} never became {want:?}\n{}",
            daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandboxes_follow_their_lifecycle_rules() -> anyhow::Result<()> {
    let mut daemon = TestDaemon::new(env!("CARGO_BIN_EXE_slicer-e2e-cli"))?;
    let config = daemon.path("pool.yaml");
    std::fs::write(&config, POOL)?;
    daemon.start(&config).await?;
    let client = daemon.client();

    // Bad requests: documented statuses, nothing created.
    let too_big = CreateNodeRequest {
        cpus: Some(4),
        ..CreateNodeRequest::default()
    };
    let err = client
        .create_node("sbx", &CreateNodeQuery::default(), &too_big)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert!(err.to_string().contains("cpus"), "{err}");
    let err = client
        .create_node(
            "nope",
            &CreateNodeQuery::default(),
            &CreateNodeRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    let named = CreateNodeRequest {
        hostname: Some("mine".into()),
        ..CreateNodeRequest::default()
    };
    let err = client
        .create_node("sbx", &CreateNodeQuery::default(), &named)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert!(
        daemon.nodes().await?.is_empty(),
        "bad requests created nothing"
    );

    // A secret created through the API is in every guest that boots after.
    client
        .create_secret(&slicer_api::types::CreateSecretRequest {
            name: "api-key".into(),
            data: "czNjcjN0".into(), // "s3cr3t"
            permissions: Some("0640".into()),
            uid: None,
            gid: None,
        })
        .await?;

    // An ephemeral sandbox goes away with its disk when its guest stops.
    let eph = client
        .create_node("sbx", &wait_agent(), &CreateNodeRequest::default())
        .await?;
    assert_eq!(eph.hostname, "sbx-1");
    let secret = client
        .exec_buffered(
            &eph.hostname,
            &ExecQuery {
                cmd: "cat /run/slicer/secrets/api-key; stat -c ' %a' /run/slicer/secrets/api-key"
                    .into(),
                ..ExecQuery::default()
            },
        )
        .await?;
    assert_eq!(secret.stdout.trim(), "s3cr3t 640", "{secret:?}");
    assert!(!eph.persistent);
    let out = client
        .exec_buffered(
            &eph.hostname,
            &ExecQuery {
                cmd: "echo up".into(),
                ..ExecQuery::default()
            },
        )
        .await?;
    assert_eq!(out.stdout.trim(), "up");
    let disk = daemon.data().disk(&eph.hostname);
    assert!(disk.exists());
    stop_guest(&client, &eph.hostname, "poweroff -f").await;
    wait_for(&daemon, &eph.hostname, None).await?;
    assert!(!disk.exists(), "the ephemeral disk went with it");

    // A persistent sandbox stays, stopped, with its disk.
    let request = CreateNodeRequest {
        persistent: Some(true),
        tags: vec!["team=e2e".into()],
        ..CreateNodeRequest::default()
    };
    let keep = client.create_node("sbx", &wait_agent(), &request).await?;
    assert_eq!(keep.hostname, "sbx-2", "hostnames are never reused");
    assert!(keep.persistent);
    stop_guest(&client, &keep.hostname, "sync; reboot -f").await;
    wait_for(&daemon, &keep.hostname, Some("Stopped")).await?;
    assert!(daemon.data().disk(&keep.hostname).exists());
    let tagged = client
        .nodes(
            None,
            &slicer_api::types::TagFilter {
                tag: Some("team=e2e".into()),
                tag_prefix: None,
            },
        )
        .await?;
    assert_eq!(tagged.len(), 1);

    // A create that cannot become ready in time answers 408 and is removed.
    let err = client
        .create_node(
            "sbx",
            &CreateNodeQuery {
                wait: Some(WaitFor::Agent),
                timeout: Some("1ms".into()),
            },
            &CreateNodeRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(408), "{err}");
    wait_for(&daemon, "sbx-3", None).await?;

    // A clean stop deletes ephemeral sandboxes and keeps persistent ones.
    let eph = client
        .create_node("sbx", &wait_agent(), &CreateNodeRequest::default())
        .await?;
    daemon.stop()?;
    assert!(
        daemon.processes().is_empty(),
        "graceful stop left {:?}",
        daemon.processes()
    );
    daemon.start(&config).await?;
    assert_eq!(
        status_of(&daemon, &eph.hostname).await?,
        None,
        "ephemeral sandbox deleted on stop"
    );
    assert!(!daemon.data().disk(&eph.hostname).exists());
    assert_eq!(
        status_of(&daemon, &keep.hostname).await?.as_deref(),
        Some("Stopped")
    );

    // Deleting the persistent one removes its disk.
    let deleted = client.delete_node("sbx", &keep.hostname).await?;
    assert_eq!(deleted.disk_removed, "true");
    assert!(!daemon.data().disk(&keep.hostname).exists());
    daemon.stop()?;
    Ok(())
}
