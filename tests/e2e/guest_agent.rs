//! Exec over vsock against a real booted guest: streaming, buffered,
//! stdin, users, working directory, environment, direct exec, signals,
//! and bad requests that must get clear JSON errors while the agent keeps
//! serving.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::time::Duration;

use bytes::Bytes;
use slicer_api::types::{ExecFrameKind, ExecQuery, OutputEncoding};
use slicer_controller::vsock;
use slicer_e2e::exec::{check_output, run, shell};
use slicer_e2e::{GuestOptions, Rig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread")]
async fn exec_streams_output_exit_codes_and_stdin() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("exec-1")).await.unwrap();
    let agent = guest.agent();

    let out = run(&agent, shell("echo out; echo err >&2; exit 3"), None)
        .await
        .unwrap();
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.kinds.first(), Some(&Some(ExecFrameKind::Started)));
    assert_eq!(out.kinds.last(), Some(&Some(ExecFrameKind::Exit)));
    assert!(out.pid.is_some_and(|pid| pid > 1));

    // stdin streamed from the request body.
    let text = "line one\nline two\n".repeat(1000);
    let out = run(&agent, shell("cat"), Some(Bytes::from(text.clone())))
        .await
        .unwrap();
    assert_eq!(out.stdout, text);
    assert_eq!(out.exit_code, Some(0));

    // uid/gid: the image has user `slicer` (1000).
    let query = ExecQuery {
        uid: Some(1000),
        ..shell("id -u; id -g; echo $HOME")
    };
    let out = run(&agent, query, None).await.unwrap();
    assert_eq!(out.stdout, "1000\n1000\n/home/slicer\n");

    // Default user is root.
    assert_eq!(check_output(&agent, "id -u").await.unwrap(), "0");

    // cwd and env.
    let query = ExecQuery {
        cwd: Some("/tmp".into()),
        env: vec!["GREETING=hello world".into()],
        ..shell("pwd; echo \"$GREETING\"")
    };
    let out = run(&agent, query, None).await.unwrap();
    assert_eq!(out.stdout, "/tmp\nhello world\n");

    // Direct exec (shell=): arguments are passed verbatim, no shell expansion.
    let query = ExecQuery {
        cmd: "/bin/echo".into(),
        args: vec!["$HOME".into(), "a b".into()],
        shell: Some(String::new()),
        ..ExecQuery::default()
    };
    let out = run(&agent, query, None).await.unwrap();
    assert_eq!(out.stdout, "$HOME a b\n");

    // Shell mode quotes args.
    let query = ExecQuery {
        args: vec!["it's".into(), "two words".into()],
        ..shell("printf '%s|'")
    };
    assert_eq!(
        run(&agent, query, None).await.unwrap().stdout,
        "it's|two words|"
    );

    // A process killed by a signal reports it.
    let out = run(&agent, shell("kill -9 $$"), None).await.unwrap();
    assert_eq!(out.signal.as_deref(), Some("SIGKILL"));
    assert_eq!(out.exit_code, Some(137));

    // Buffered, and binary-safe base64.
    let buffered = agent
        .exec_buffered(&shell("printf 'a\\0b'; echo e >&2; exit 4"), None)
        .await
        .unwrap();
    assert_eq!(buffered.stdout, "a\0b");
    assert_eq!(buffered.stderr, "e\n");
    assert_eq!(buffered.exit_code, 4);
    let query = ExecQuery {
        stdio: Some(OutputEncoding::Base64),
        ..shell("printf '\\377\\376'")
    };
    let buffered = agent.exec_buffered(&query, None).await.unwrap();
    assert_eq!(buffered.encoding, Some(OutputEncoding::Base64));
    assert_eq!(buffered.stdout, "//4=");

    // Buffered with stdin.
    let buffered = agent
        .exec_buffered(&shell("wc -c"), Some(Bytes::from_static(b"12345")))
        .await
        .unwrap();
    assert_eq!(buffered.stdout.trim(), "5");

    guest.shutdown(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_json_errors_and_the_agent_keeps_serving() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("badreq-1")).await.unwrap();
    let agent = guest.agent();

    // Unknown uid: 400 before anything runs.
    let err = run(
        &agent,
        ExecQuery {
            uid: Some(4242),
            ..shell("true")
        },
        None,
    )
    .await
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("400") && message.contains("4242"),
        "{message}"
    );

    // Missing binary: an error frame, exit code 1.
    let query = ExecQuery {
        cmd: "/no/such/binary".into(),
        shell: Some(String::new()),
        ..ExecQuery::default()
    };
    let out = run(&agent, query, None).await.unwrap();
    assert_eq!(out.exit_code, Some(1));
    assert!(
        out.error
            .as_deref()
            .is_some_and(|e| e.contains("/no/such/binary")),
        "{out:?}"
    );

    // Missing working directory.
    let err = run(
        &agent,
        ExecQuery {
            cwd: Some("/no/such/dir".into()),
            ..shell("true")
        },
        None,
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("/no/such/dir"), "{err:#}");

    // Relative and traversing copy paths.
    for path in ["relative/file", "/tmp/../etc/passwd"] {
        let query = slicer_api::types::CopyQuery {
            path: path.into(),
            ..Default::default()
        };
        let err = agent.download(&query).await.unwrap_err();
        assert_eq!(
            err.agent_status().map(|s| s.as_u16()),
            Some(400),
            "{path}: {err:#}"
        );
    }
    // A missing file is 404.
    let query = slicer_api::types::CopyQuery {
        path: "/no/such/file".into(),
        ..Default::default()
    };
    assert_eq!(
        agent
            .download(&query)
            .await
            .unwrap_err()
            .agent_status()
            .map(|s| s.as_u16()),
        Some(404)
    );

    // Oversized header: a JSON error, raw over vsock.
    let mut stream = vsock::connect(&guest.handle().vsock_socket, 10789, Duration::from_secs(5))
        .await
        .unwrap();
    let big = "x".repeat(200 * 1024);
    let request =
        format!("GET /v1/health HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.1 431"),
        "{}",
        &response[..response.len().min(200)]
    );
    assert!(response.contains("\"error\""), "{response}");

    // Malformed query.
    let mut stream = vsock::connect(&guest.handle().vsock_socket, 10789, Duration::from_secs(5))
        .await
        .unwrap();
    stream
        .write_all(b"POST /v1/exec?uid=notanumber&cmd=true HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("\"error\""), "{response}");

    // Still serving.
    let health = agent.health().await.unwrap();
    assert_eq!(health.hostname, "badreq-1");
    assert_eq!(check_output(&agent, "echo alive").await.unwrap(), "alive");
    guest.shutdown(Duration::from_secs(10)).await.unwrap();
}
