//! The interactive agent endpoints against a real guest: background execs
//! (logs, kill, wait-exit, reap → 410, ring gaps and budget), native fs ops
//! and an inotify watch, a PTY shell with resize, and a TCP port forward.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use slicer_api::types::{
    ExecFrameKind, ExecKillRequest, ExecLogsQuery, ExecQuery, ForwardTarget, FsEntryType,
    FsMkdirRequest, FsWatchEventType, FsWatchQuery, ShellFrame, ShellQuery,
};
use slicer_controller::agent_client::{AgentClient, ShellSession};
use slicer_e2e::exec::check_output;
use slicer_e2e::{GuestOptions, Rig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn sh(cmd: &str) -> ExecQuery {
    ExecQuery {
        cmd: cmd.to_owned(),
        ..ExecQuery::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn background_exec_logs_kill_wait_and_reap() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("bg-1")).await.unwrap();
    let agent = guest.agent();

    let started = agent
        .exec_background(&sh(
            "echo err >&2; for i in 1 2 3; do echo line$i; sleep 1; done; sleep 300",
        ))
        .await
        .unwrap();
    assert!(started.pid > 1);
    assert_eq!(started.ring_bytes, 1024 * 1024);

    // Follow the log until the third line arrives; ids increase by one.
    let mut logs = agent
        .exec_logs(
            &started.exec_id,
            &ExecLogsQuery {
                follow: Some(true),
                from_id: None,
            },
        )
        .await
        .unwrap();
    let mut stdout = String::new();
    let mut last_id = 0;
    let mut first_kind = None;
    while !stdout.contains("line3") {
        let frame = tokio::time::timeout(Duration::from_secs(20), logs.next_frame())
            .await
            .expect("log frame in time")
            .expect("stream open")
            .unwrap();
        let id = frame.id.expect("log frames carry ids");
        assert_eq!(id, last_id + 1);
        last_id = id;
        first_kind.get_or_insert(frame.kind);
        if let Some((ExecFrameKind::Stdout, data)) = frame.output_payload() {
            stdout.push_str(data);
        }
    }
    assert_eq!(first_kind, Some(Some(ExecFrameKind::Started)));
    assert_eq!(stdout, "line1\nline2\nline3\n");
    drop(logs);

    let info = agent.exec_info(&started.exec_id).await.unwrap();
    assert!(info.running);
    assert_eq!(info.exit_code, None);
    assert_eq!(info.command, started_cmd());
    assert!(info.next_id > 4);
    assert!(info.bytes_written > 0);
    let list = agent.exec_list().await.unwrap();
    assert!(list.iter().any(|e| e.exec_id == started.exec_id));

    // A short wait times out while it runs.
    let waited = agent
        .exec_wait_exit(&started.exec_id, Some(1))
        .await
        .unwrap();
    assert!(waited.running && waited.timed_out);

    let killed = agent
        .exec_kill(
            &started.exec_id,
            &ExecKillRequest {
                signal: Some("TERM".into()),
                grace_ms: Some(500),
            },
        )
        .await
        .unwrap();
    assert!(killed.running);
    assert_eq!(killed.signal_sent.as_deref(), Some("SIGTERM"));
    let waited = agent
        .exec_wait_exit(&started.exec_id, Some(20))
        .await
        .unwrap();
    assert!(!waited.running && !waited.timed_out);
    assert_eq!(waited.signal.as_deref(), Some("SIGTERM"));
    assert_eq!(waited.exit_code, Some(128 + 15));
    assert!(waited.ended_at.is_some());
    // The sleep child died with its group.
    assert_eq!(
        check_output(&agent, "ps | grep '[s]leep 300' | wc -l")
            .await
            .unwrap(),
        "0"
    );

    // Replay without follow ends with the exit frame.
    let mut replay = agent
        .exec_logs(&started.exec_id, &ExecLogsQuery::default())
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while let Some(frame) = replay.next_frame().await {
        kinds.push(frame.unwrap().kind);
    }
    assert_eq!(kinds.last(), Some(&Some(ExecFrameKind::Exit)));
    assert!(kinds.contains(&Some(ExecFrameKind::Stderr)));

    let reaped = agent.exec_reap(&started.exec_id).await.unwrap();
    assert!(reaped.reaped);
    for status in [
        agent.exec_info(&started.exec_id).await.map(|_| ()),
        agent.exec_reap(&started.exec_id).await.map(|_| ()),
        agent
            .exec_logs(&started.exec_id, &ExecLogsQuery::default())
            .await
            .map(|_| ()),
    ] {
        assert_eq!(status.unwrap_err().agent_status(), Some(StatusCode::GONE));
    }
    assert_eq!(
        agent
            .exec_info("no-such-exec")
            .await
            .unwrap_err()
            .agent_status(),
        Some(StatusCode::NOT_FOUND)
    );
}

fn started_cmd() -> String {
    "echo err >&2; for i in 1 2 3; do echo line$i; sleep 1; done; sleep 300".to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn background_ring_gap_and_budget_limits() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("bg-2")).await.unwrap();
    let agent = guest.agent();

    let mut small = sh("seq 1 5000");
    small.ring_bytes = Some(2048);
    let started = agent.exec_background(&small).await.unwrap();
    assert_eq!(started.ring_bytes, 2048);
    let waited = agent
        .exec_wait_exit(&started.exec_id, Some(30))
        .await
        .unwrap();
    assert_eq!(waited.exit_code, Some(0));
    let info = agent.exec_info(&started.exec_id).await.unwrap();
    assert!(info.bytes_dropped > 0, "{info:?}");
    let mut logs = agent
        .exec_logs(
            &started.exec_id,
            &ExecLogsQuery {
                follow: None,
                from_id: Some(1),
            },
        )
        .await
        .unwrap();
    let gap = logs.next_frame().await.unwrap().unwrap();
    assert_eq!(gap.kind, Some(ExecFrameKind::Gap));
    assert!(gap.dropped_frames.unwrap() >= 1);
    let mut tail = String::new();
    let mut last = None;
    while let Some(frame) = logs.next_frame().await {
        let frame = frame.unwrap();
        if let Some((_, data)) = frame.output_payload() {
            tail.push_str(data);
        }
        last = frame.kind;
    }
    assert!(tail.ends_with("4999\n5000\n"), "{tail}");
    assert_eq!(last, Some(ExecFrameKind::Exit));
    agent.exec_reap(&started.exec_id).await.unwrap();

    let mut huge = sh("true");
    huge.ring_bytes = Some(300 * 1024 * 1024);
    let err = agent.exec_background(&huge).await.unwrap_err();
    assert_eq!(err.agent_status(), Some(StatusCode::BAD_REQUEST));
    let mut with_stdin = sh("cat");
    with_stdin.stdin = Some(true);
    let err = agent.exec_background(&with_stdin).await.unwrap_err();
    assert_eq!(err.agent_status(), Some(StatusCode::BAD_REQUEST));

    // Two 200 MiB rings do not fit the 256 MiB budget: the second is a 503.
    let mut big = sh("sleep 60");
    big.ring_bytes = Some(200 * 1024 * 1024);
    let first = agent.exec_background(&big).await.unwrap();
    let err = agent.exec_background(&big).await.unwrap_err();
    assert_eq!(err.agent_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    // Reaping gives the budget back (the process keeps running until killed).
    agent
        .exec_kill(
            &first.exec_id,
            &ExecKillRequest {
                signal: Some("KILL".into()),
                grace_ms: None,
            },
        )
        .await
        .unwrap();
    agent.exec_reap(&first.exec_id).await.unwrap();
    let again = agent.exec_background(&big).await.unwrap();
    agent.exec_reap(&again.exec_id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn fs_ops_and_watch() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("fs-1")).await.unwrap();
    let agent = guest.agent();

    agent
        .fs_mkdir(&FsMkdirRequest {
            path: "/root/fsdir/a/b".into(),
            recursive: Some(true),
            mode: Some("0750".into()),
        })
        .await
        .unwrap();
    let b = agent.fs_stat("/root/fsdir/a/b").await.unwrap();
    assert_eq!(
        (b.name.as_str(), b.kind, b.mode.as_str()),
        ("b", FsEntryType::Directory, "0750")
    );
    let err = agent
        .fs_mkdir(&FsMkdirRequest {
            path: "/root/missing/x".into(),
            recursive: None,
            mode: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.agent_status(), Some(StatusCode::NOT_FOUND));

    check_output(
        &agent,
        "printf hello > /root/fsdir/f.txt && ln -s f.txt /root/fsdir/l",
    )
    .await
    .unwrap();
    let entries = agent.fs_readdir("/root/fsdir").await.unwrap();
    let summary: Vec<_> = entries
        .iter()
        .map(|e| (e.name.as_str(), e.kind, e.size))
        .collect();
    assert_eq!(summary[0].0, "a");
    assert_eq!(summary[1], ("f.txt", FsEntryType::File, 5));
    assert_eq!(summary[2].1, FsEntryType::Symlink);
    let f = agent.fs_stat("/root/fsdir/f.txt").await.unwrap();
    assert_eq!(f.mode, "0644");
    assert!(f.mtime > 1_600_000_000);
    assert_eq!(
        agent
            .fs_stat("/root/nope")
            .await
            .unwrap_err()
            .agent_status(),
        Some(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        agent
            .fs_readdir("relative")
            .await
            .unwrap_err()
            .agent_status(),
        Some(StatusCode::BAD_REQUEST)
    );

    // A watch sees a write to a matching file, and nothing else.
    let mut watch = agent
        .fs_watch(&FsWatchQuery {
            paths: vec!["/root/fsdir".into()],
            patterns: vec!["*.txt".into()],
            events: vec!["write".into()],
            recursive: Some(true),
            max_events: Some(1),
            timeout: Some("30s".into()),
            ..FsWatchQuery::default()
        })
        .await
        .unwrap();
    check_output(
        &agent,
        "echo ignored > /root/fsdir/a/other.log; echo more >> /root/fsdir/a/b/n.txt",
    )
    .await
    .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(20), watch.next_event())
        .await
        .expect("watch event in time")
        .expect("one event")
        .unwrap();
    assert_eq!(event.kind, FsWatchEventType::Write);
    assert_eq!(event.path, "/root/fsdir/a/b/n.txt");
    assert_eq!(event.id, 1);
    assert!(!event.is_dir);
    assert_eq!(event.size, 5);
    assert!(watch.next_event().await.is_none(), "max_events=1 closes");

    // Recursive watches cover directories created after the watch started.
    let mut watch = agent
        .fs_watch(&FsWatchQuery {
            paths: vec!["/root/fsdir".into()],
            events: vec!["write".into()],
            recursive: Some(true),
            one_shot: Some(true),
            debounce: Some("50ms".into()),
            timeout: Some("30s".into()),
            ..FsWatchQuery::default()
        })
        .await
        .unwrap();
    check_output(
        &agent,
        "mkdir /root/fsdir/later && sleep 1 && echo x > /root/fsdir/later/new.txt",
    )
    .await
    .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(20), watch.next_event())
        .await
        .expect("watch event in time")
        .expect("one event")
        .unwrap();
    assert_eq!(event.path, "/root/fsdir/later/new.txt");
    assert!(watch.next_event().await.is_none(), "one_shot closes");

    let err = agent.fs_remove("/root/fsdir", false).await.unwrap_err();
    assert_eq!(err.agent_status(), Some(StatusCode::BAD_REQUEST));
    agent.fs_remove("/root/fsdir/f.txt", false).await.unwrap();
    agent.fs_remove("/root/fsdir", true).await.unwrap();
    assert_eq!(
        agent
            .fs_stat("/root/fsdir")
            .await
            .unwrap_err()
            .agent_status(),
        Some(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        agent
            .fs_remove("/root/fsdir", true)
            .await
            .unwrap_err()
            .agent_status(),
        Some(StatusCode::NOT_FOUND)
    );
}

/// Read data frames until their text contains `needle`.
async fn read_until(session: &mut ShellSession, needle: &str) -> String {
    let mut out = String::new();
    while !out.contains(needle) {
        let frame = tokio::time::timeout(Duration::from_secs(20), session.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in shell output {out:?}"))
            .expect("shell open")
            .unwrap();
        if let ShellFrame::Data(bytes) = frame {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn shell_session_with_resize() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("sh-1")).await.unwrap();
    let agent = guest.agent();

    let mut session = agent.shell(&ShellQuery::default()).await.unwrap();
    session
        .send(ShellFrame::Data(b"echo hi\n".to_vec()))
        .await
        .unwrap();
    read_until(&mut session, "\nhi\r\n").await;
    session
        .send(ShellFrame::WindowSize {
            cols: 123,
            rows: 45,
        })
        .await
        .unwrap();
    session.send(ShellFrame::Heartbeat).await.unwrap();
    session
        .send(ShellFrame::Data(b"stty size; tty\n".to_vec()))
        .await
        .unwrap();
    let out = read_until(&mut session, "/dev/pts/").await;
    assert!(out.contains("45 123"), "{out:?}");
    session
        .send(ShellFrame::Data(b"exit\n".to_vec()))
        .await
        .unwrap();
    let mut closed = false;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(20), session.next())
        .await
        .expect("shell ends in time")
    {
        if frame.unwrap() == ShellFrame::Close {
            closed = true;
        }
    }
    assert!(closed, "the agent sends a close frame when the shell exits");

    // As an ordinary user: its uid, and its home as the working directory.
    let mut session = agent
        .shell(&ShellQuery {
            uid: Some(1000),
            ..ShellQuery::default()
        })
        .await
        .unwrap();
    session
        .send(ShellFrame::Data(
            b"echo \"who=$(id -u) at=$(pwd)\"\n".to_vec(),
        ))
        .await
        .unwrap();
    read_until(&mut session, "who=1000 at=/home/slicer").await;
    session.send(ShellFrame::Shutdown).await.unwrap();
    let mut closed = false;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(20), session.next())
        .await
        .expect("shell ends in time after shutdown")
    {
        closed |= frame.unwrap() == ShellFrame::Close;
    }
    assert!(closed);

    // A bad uid is refused before any upgrade.
    let err = agent
        .shell(&ShellQuery {
            uid: Some(4242),
            ..ShellQuery::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.agent_status(), Some(StatusCode::BAD_REQUEST));
}

async fn echo_round_trip(agent: &AgentClient, target: &ForwardTarget, text: &[u8]) {
    let mut stream = agent.forward(target).await.unwrap();
    stream.write_all(text).await.unwrap();
    let mut back = vec![0u8; text.len()];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut back))
        .await
        .expect("echo in time")
        .unwrap();
    assert_eq!(back, text);
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_forward_to_a_guest_server() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("fwd-1")).await.unwrap();
    let agent = guest.agent();
    let target: ForwardTarget = "127.0.0.1:8000".parse().unwrap();

    // Nothing listens yet: the dial fails with a 502.
    let err = agent.forward(&target).await.unwrap_err();
    assert_eq!(err.agent_status(), Some(StatusCode::BAD_GATEWAY));

    let server = agent
        .exec_background(&sh("nc -ll -p 8000 -e /bin/cat"))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match agent.forward(&target).await {
            Ok(_) => break,
            Err(err) if std::time::Instant::now() < deadline => {
                assert_eq!(err.agent_status(), Some(StatusCode::BAD_GATEWAY));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("echo server never listened: {err}"),
        }
    }
    echo_round_trip(&agent, &target, b"ping through the tunnel\n").await;
    // A larger payload, written and read concurrently, arrives intact.
    let payload: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let stream = agent.forward(&target).await.unwrap();
    let (mut read_half, mut write_half) = tokio::io::split(stream);
    let sent = payload.clone();
    let writer = tokio::spawn(async move {
        write_half.write_all(&sent).await.unwrap();
        write_half
    });
    let mut back = vec![0u8; payload.len()];
    tokio::time::timeout(Duration::from_secs(30), read_half.read_exact(&mut back))
        .await
        .expect("payload echoed in time")
        .unwrap();
    assert!(back == payload, "payload corrupted in the tunnel");
    drop(writer.await.unwrap());
    // One tunnel per connection: two at once are independent.
    let (a, b) = tokio::join!(
        echo_round_trip(&agent, &target, b"first\n"),
        echo_round_trip(&agent, &target, b"second\n"),
    );
    let ((), ()) = (a, b);

    agent
        .exec_kill(&server.exec_id, &ExecKillRequest::default())
        .await
        .unwrap();
    agent
        .exec_wait_exit(&server.exec_id, Some(10))
        .await
        .unwrap();
    agent.exec_reap(&server.exec_id).await.unwrap();
}
