//! The guest features through the daemon's REST API and CLI, with one
//! real guest (vsock only): background exec with log follow and kill,
//! copies of a file and a directory both ways (sha256-checked, CLI too),
//! fs ops and a watch event, a WebSocket shell (output, resize, close),
//! a TCP forward through `slicer vm forward`, cp-v1 copies placed like
//! `cp -r` (into an existing and a new directory, `SRC/.`, `--exclude`,
//! a download with its source headers), a 150 MiB chunked upload, and the
//! refusals: path traversal (400, nothing written) and an unknown VM (404).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use slicer_api::client::reader_body;
use slicer_api::types::{
    CopyMode, CopyQuery, CopySemantics, CopySource, CopySourceType, ExecKillRequest, ExecLogsQuery,
    ExecQuery, ExecWaitQuery, FsMkdirRequest, FsRemoveQuery, FsWatchQuery, ShellFrame, ShellQuery,
};
use slicer_e2e::TestDaemon;
use tokio_tungstenite::tungstenite::Message;

const BOOT: Duration = Duration::from_secs(120);
const VM: &str = "ag-1";

const CONFIG: &str = r#"config:
  host_groups:
    - name: ag
      count: 1
      vcpu: 1
      ram_mb: 256
      storage: image
      storage_size: 512M
"#;

fn sh(script: &str) -> ExecQuery {
    ExecQuery {
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        shell: Some(String::new()),
        ..ExecQuery::default()
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Relative path -> sha256 of every file under `dir`.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, sha256(&std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xff) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_features_through_the_daemon() -> anyhow::Result<()> {
    let mut daemon = TestDaemon::new(env!("CARGO_BIN_EXE_slicer-e2e-cli"))?;
    let config = daemon.path("guest.yaml");
    std::fs::write(&config, CONFIG)?;
    daemon.start(&config).await?;
    daemon.wait_running(&[VM], BOOT).await?;
    let client = daemon.client();

    // Unknown VM: 404 on every guest route.
    let err = client.exec_list("nope-9").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    let err = client.fs_stat("nope-9", "/").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    let Err(err) = client.shell("nope-9", &ShellQuery::default()).await else {
        panic!("a shell in an unknown vm opened");
    };
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");

    background_exec(&daemon).await?;
    copies(&daemon).await?;
    cp_v1_copies(&daemon).await?;
    chunked_upload(&daemon).await?;
    traversal(&daemon).await?;
    fs_ops_and_watch(&daemon).await?;
    shell(&daemon).await?;
    forward(&daemon).await?;
    Ok(())
}

async fn background_exec(daemon: &TestDaemon) -> anyhow::Result<()> {
    let client = daemon.client();
    let started = client
        .exec_background(
            VM,
            &sh("for i in 1 2 3; do echo line$i; sleep 0.2; done; sleep 300"),
        )
        .await?;
    assert!(
        started.pid > 0 && !started.exec_id.is_empty(),
        "{started:?}"
    );
    let listed = client.exec_list(VM).await?;
    assert!(
        listed
            .iter()
            .any(|e| e.exec_id == started.exec_id && e.running)
    );

    // Follow until the third line arrives live.
    let mut frames = client
        .exec_logs(
            VM,
            &started.exec_id,
            &ExecLogsQuery {
                follow: Some(true),
                from_id: None,
            },
        )
        .await?;
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.contains("line3") {
        assert!(Instant::now() < deadline, "no line3 in {seen:?}");
        let frame = tokio::time::timeout(Duration::from_secs(10), frames.next_frame())
            .await?
            .expect("the stream stays open while the process runs")?;
        assert!(frame.id.is_some(), "log frames carry ids: {frame:?}");
        if let Some((_, data)) = frame.output_payload() {
            seen.push_str(data);
        }
    }
    drop(frames);

    let killed = client
        .exec_kill(
            VM,
            &started.exec_id,
            &ExecKillRequest {
                signal: Some("TERM".into()),
                grace_ms: Some(500),
            },
        )
        .await?;
    assert_eq!(killed.exec_id, started.exec_id);
    let waited = client
        .exec_wait_exit(VM, &started.exec_id, &ExecWaitQuery { timeout: Some(10) })
        .await?;
    assert!(!waited.running && !waited.timed_out, "{waited:?}");
    assert!(waited.signal.is_some(), "ended by a signal: {waited:?}");

    // Replay from frame 2 skips the started frame.
    let mut replay = client
        .exec_logs(
            VM,
            &started.exec_id,
            &ExecLogsQuery {
                follow: None,
                from_id: Some(2),
            },
        )
        .await?;
    let first = replay.next_frame().await.expect("a frame")?;
    assert_eq!(first.id, Some(2), "{first:?}");

    let reaped = client.exec_reap(VM, &started.exec_id).await?;
    assert!(reaped.reaped);
    let gone = client.exec_info(VM, &started.exec_id).await.unwrap_err();
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(410), "{gone}");

    // The CLI: exec, wait (exit code becomes slicer's), logs, remove.
    let out = daemon.cli_ok(&["vm", "bg", "exec", VM, "--", "/bin/echo", "hello-bg"])?;
    let id = out
        .trim()
        .strip_prefix("exec_id=")
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    daemon.cli_ok(&["vm", "bg", "wait", VM, &id, "--timeout", "30s"])?;
    let logs = daemon.cli_ok(&["vm", "bg", "logs", VM, &id])?;
    assert!(logs.contains("hello-bg"), "{logs}");
    let failing = daemon.cli_ok(&["vm", "bg", "exec", VM, "--shell", "/bin/sh", "--", "exit 3"])?;
    let failing = failing.trim().trim_start_matches("exec_id=");
    let wait = daemon.cli(&["vm", "bg", "wait", VM, failing])?;
    assert_eq!(wait.status.code(), Some(3));
    let list = daemon.cli_ok(&["vm", "bg", "list", VM])?;
    assert!(list.contains(&id), "{list}");
    daemon.cli_ok(&["vm", "bg", "remove", VM, &id])?;
    let info = daemon.cli(&["vm", "bg", "info", VM, &id])?;
    assert!(!info.status.success());
    Ok(())
}

async fn copies(daemon: &TestDaemon) -> anyhow::Result<()> {
    let client = daemon.client();
    // One file, 3 MiB, through the CLI both ways.
    let data = pseudo_random(3 << 20, 7);
    let local = daemon.path("up.bin");
    std::fs::write(&local, &data)?;
    daemon.cli_ok(&[
        "vm",
        "cp",
        local.to_str().unwrap(),
        &format!("{VM}:/tmp/up.bin"),
        "--permissions",
        "0750",
    ])?;
    let inside = client
        .exec_buffered(VM, &sh("sha256sum /tmp/up.bin"))
        .await?;
    assert!(inside.stdout.starts_with(&sha256(&data)), "{inside:?}");
    let back = daemon.path("back.bin");
    daemon.cli_ok(&[
        "vm",
        "cp",
        &format!("{VM}:/tmp/up.bin"),
        back.to_str().unwrap(),
    ])?;
    assert_eq!(sha256(&std::fs::read(&back)?), sha256(&data));
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&back)?.permissions().mode() & 0o777,
            0o750
        );
    }
    // The API: a binary download carries the mode header's value.
    let (mode, body) = client
        .download(
            VM,
            &CopyQuery {
                path: "/tmp/up.bin".into(),
                ..CopyQuery::default()
            },
        )
        .await?;
    assert_eq!(mode, Some(0o750));
    assert_eq!(sha256(&body.collect().await?.to_bytes()), sha256(&data));
    // A directory in binary mode is refused; a missing path is 404.
    let err = client
        .download(
            VM,
            &CopyQuery {
                path: "/tmp".into(),
                ..CopyQuery::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    let err = client
        .download(
            VM,
            &CopyQuery {
                path: "/tmp/absent".into(),
                ..CopyQuery::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");

    // A directory tree with -r, both ways.
    let src = daemon.path("tree");
    std::fs::create_dir_all(src.join("a/b"))?;
    std::fs::write(src.join("top.txt"), b"top\n")?;
    std::fs::write(src.join("a/mid.bin"), pseudo_random(200_000, 3))?;
    std::fs::write(src.join("a/b/deep.txt"), b"deep\n")?;
    daemon.cli_ok(&[
        "vm",
        "cp",
        "-r",
        src.to_str().unwrap(),
        &format!("{VM}:/tmp/tree"),
    ])?;
    let listed = client
        .exec_buffered(VM, &sh("cd /tmp/tree && find . -type f | sort"))
        .await?;
    assert_eq!(
        listed.stdout, "./a/b/deep.txt\n./a/mid.bin\n./top.txt\n",
        "{listed:?}"
    );
    let dst = daemon.path("tree-back");
    daemon.cli_ok(&[
        "vm",
        "cp",
        "-r",
        &format!("{VM}:/tmp/tree"),
        dst.to_str().unwrap(),
    ])?;
    assert_eq!(tree(&dst), tree(&src));
    Ok(())
}

/// Relative path -> sha256 of every file under `dir` in the guest.
async fn guest_tree(daemon: &TestDaemon, dir: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let out = daemon
        .client()
        .exec_buffered(
            VM,
            &sh(&format!(
                "cd {dir} && find . -type f | sort | while read -r f; do sha256sum \"$f\"; done"
            )),
        )
        .await?;
    assert_eq!(out.exit_code, 0, "{out:?}");
    Ok(out
        .stdout
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(sum, path)| (path.trim_start_matches("./").to_owned(), sum.to_owned()))
        .collect())
}

async fn cp_v1_copies(daemon: &TestDaemon) -> anyhow::Result<()> {
    let client = daemon.client();
    let src = daemon.path("proj");
    std::fs::create_dir_all(src.join("sub/deeper"))?;
    std::fs::create_dir_all(src.join("logs"))?;
    std::fs::write(src.join("a.txt"), b"alpha\n")?;
    std::fs::write(src.join("sub/b.bin"), pseudo_random(300_000, 11))?;
    std::fs::write(src.join("sub/deeper/c.txt"), b"gamma\n")?;
    std::fs::write(src.join("logs/run.log"), b"noise\n")?;
    std::fs::write(src.join("top.log"), b"noise\n")?;
    let local = tree(&src);
    let src_arg = src.to_str().unwrap();
    client
        .fs_mkdir(
            VM,
            &FsMkdirRequest {
                path: "/root/dst".into(),
                recursive: Some(true),
                mode: None,
            },
        )
        .await?;

    // Like cp -r: into an existing directory it lands as dst/proj ...
    daemon.cli_ok(&["vm", "cp", src_arg, &format!("{VM}:/root/dst")])?;
    assert_eq!(guest_tree(daemon, "/root/dst/proj").await?, local);
    // ... and a missing destination becomes the copy itself.
    daemon.cli_ok(&["vm", "cp", src_arg, &format!("{VM}:/root/fresh")])?;
    assert_eq!(guest_tree(daemon, "/root/fresh").await?, local);
    // SRC/. merges the contents into an existing directory.
    daemon.cli_ok(&[
        "vm",
        "cp",
        &format!("{src_arg}/."),
        &format!("{VM}:/root/dst"),
    ])?;
    let merged = guest_tree(daemon, "/root/dst").await?;
    assert_eq!(merged.get("a.txt"), local.get("a.txt"), "{merged:?}");
    assert_eq!(merged.get("proj/a.txt"), local.get("a.txt"), "{merged:?}");
    // --exclude: by base name anywhere, and a whole directory.
    daemon.cli_ok(&[
        "vm",
        "cp",
        src_arg,
        &format!("{VM}:/root/ex"),
        "--exclude",
        "*.log",
        "--exclude",
        "sub/deeper",
    ])?;
    let excluded = guest_tree(daemon, "/root/ex").await?;
    assert_eq!(
        excluded.keys().map(String::as_str).collect::<Vec<_>>(),
        ["a.txt", "sub/b.bin"]
    );
    // A file into an existing directory lands as dir/<name>.
    daemon.cli_ok(&[
        "vm",
        "cp",
        src.join("a.txt").to_str().unwrap(),
        &format!("{VM}:/root/ex"),
    ])?;
    assert_eq!(guest_tree(daemon, "/root/ex").await?.len(), 2);

    // Download through the API: a contents tar plus both headers.
    let download = client
        .download_copy(
            VM,
            &CopyQuery {
                path: "/root/fresh".into(),
                mode: CopyMode::CpV1Recursive,
                copy_semantics: Some(CopySemantics::CpV1),
                exclude: vec!["*.log".into()],
                ..CopyQuery::default()
            },
        )
        .await?;
    assert_eq!(
        download.source,
        Some(CopySource {
            kind: CopySourceType::Directory,
            name: "fresh".into()
        })
    );
    let bytes = download.body.collect().await?.to_bytes();
    let mut names: Vec<String> = tar::Archive::new(&bytes[..])
        .entries()?
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "a.txt",
            "logs",
            "sub",
            "sub/b.bin",
            "sub/deeper",
            "sub/deeper/c.txt"
        ]
    );
    // The raw headers as Slicer's SDKs read them.
    let file = client
        .download_copy(
            VM,
            &CopyQuery {
                path: "/root/fresh/a.txt".into(),
                mode: CopyMode::CpV1Recursive,
                copy_semantics: Some(CopySemantics::CpV1),
                ..CopyQuery::default()
            },
        )
        .await?;
    assert_eq!(
        file.source
            .as_ref()
            .map(CopySource::encoded_name)
            .as_deref(),
        Some("YS50eHQ")
    );
    assert_eq!(file.body.collect().await?.to_bytes(), &b"alpha\n"[..]);

    // The CLI download: into an existing directory as dir/<name>.
    let into = daemon.path("into");
    std::fs::create_dir_all(&into)?;
    daemon.cli_ok(&[
        "vm",
        "cp",
        &format!("{VM}:/root/fresh"),
        into.to_str().unwrap(),
    ])?;
    assert_eq!(tree(&into.join("fresh")), local);
    daemon.cli_ok(&[
        "vm",
        "cp",
        &format!("{VM}:/root/fresh/."),
        into.to_str().unwrap(),
        "--exclude",
        "*.log",
    ])?;
    assert!(into.join("a.txt").exists() && !into.join("top.log").exists());
    Ok(())
}

/// 150 MiB of random data through the CLI: three 64 MiB-bounded chunks,
/// assembled by `slicer-agent upload finalise`, checked in the guest.
async fn chunked_upload(daemon: &TestDaemon) -> anyhow::Result<()> {
    let client = daemon.client();
    let data = {
        let mut bytes = vec![0u8; 150 << 20];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        bytes
    };
    let local = daemon.path("big.bin");
    std::fs::write(&local, &data)?;
    let want = sha256(&data);
    drop(data);
    let probe = client
        .exec_buffered(
            VM,
            &ExecQuery {
                cmd: "/usr/local/bin/slicer-agent".into(),
                args: vec!["upload".into(), "check".into()],
                shell: Some(String::new()),
                ..ExecQuery::default()
            },
        )
        .await?;
    assert_eq!(probe.stdout.trim(), "chunked-copy-v2", "{probe:?}");
    let started = Instant::now();
    let out = daemon.cli(&[
        "vm",
        "cp",
        local.to_str().unwrap(),
        &format!("{VM}:/var/tmp/big.bin"),
    ])?;
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("chunked upload assembled") && !log.contains("sending one stream"),
        "the upload went in chunks: {log}"
    );
    eprintln!("chunked upload of 150 MiB took {:?}", started.elapsed());
    let inside = client
        .exec_buffered(VM, &sh("sha256sum /var/tmp/big.bin; ls -a /var/tmp"))
        .await?;
    assert!(inside.stdout.starts_with(&want), "{inside:?}");
    assert!(
        !inside.stdout.contains(".slicer-upload-"),
        "staging left: {inside:?}"
    );
    client
        .fs_remove(
            VM,
            &FsRemoveQuery {
                path: "/var/tmp/big.bin".into(),
                recursive: None,
            },
        )
        .await?;
    Ok(())
}

async fn traversal(daemon: &TestDaemon) -> anyhow::Result<()> {
    let client = daemon.client();
    let err = client
        .upload(
            VM,
            &CopyQuery {
                path: "/tmp/../etc/evil".into(),
                ..CopyQuery::default()
            },
            reader_body(std::io::Cursor::new(b"x".to_vec())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert_eq!(
        client
            .fs_stat(VM, "/etc/evil")
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(404)
    );

    // A tar whose only entry climbs out of the destination.
    let mut header = tar::Header::new_old();
    let name = b"../evil.txt";
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_size(5);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut archive = header.as_bytes().to_vec();
    archive.extend_from_slice(b"evil\n");
    archive.resize(archive.len() + (512 - 5), 0);
    archive.extend_from_slice(&[0u8; 1024]);
    client
        .fs_mkdir(
            VM,
            &FsMkdirRequest {
                path: "/tmp/jail".into(),
                recursive: Some(true),
                mode: None,
            },
        )
        .await?;
    let err = client
        .upload(
            VM,
            &CopyQuery {
                path: "/tmp/jail".into(),
                mode: CopyMode::Tar,
                ..CopyQuery::default()
            },
            reader_body(std::io::Cursor::new(archive)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert_eq!(
        client
            .fs_stat(VM, "/tmp/evil.txt")
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(404),
        "nothing was written outside the destination"
    );
    assert!(client.fs_readdir(VM, "/tmp/jail").await?.is_empty());
    Ok(())
}

async fn fs_ops_and_watch(daemon: &TestDaemon) -> anyhow::Result<()> {
    let client = daemon.client();
    client
        .fs_mkdir(
            VM,
            &FsMkdirRequest {
                path: "/tmp/w/x".into(),
                recursive: Some(true),
                mode: Some("0700".into()),
            },
        )
        .await?;
    let stat = client.fs_stat(VM, "/tmp/w/x").await?;
    assert_eq!(stat.mode, "0700", "{stat:?}");
    let entries = client.fs_readdir(VM, "/tmp/w").await?;
    assert_eq!(
        entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["x"]
    );

    // One watch event, relayed as SSE while the stream stays open.
    let watch = client
        .fs_watch(
            VM,
            &FsWatchQuery {
                paths: vec!["/tmp/w".into()],
                events: vec!["create".into()],
                one_shot: Some(true),
                timeout: Some("30s".into()),
                ..FsWatchQuery::default()
            },
        )
        .await?;
    let reader = tokio::spawn(async move { watch.collect().await.map(|b| b.to_bytes()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // mkdir, not an upload: uploads create a temporary name first.
    client
        .fs_mkdir(
            VM,
            &FsMkdirRequest {
                path: "/tmp/w/new".into(),
                recursive: None,
                mode: None,
            },
        )
        .await?;
    let sse = tokio::time::timeout(Duration::from_secs(20), reader).await???;
    let text = String::from_utf8_lossy(&sse);
    assert!(
        text.contains("event: watch") && text.contains("\"path\":\"/tmp/w/new\""),
        "{text}"
    );

    // The CLI watch prints the event's JSON.
    let cli_watch = {
        let data_dir = daemon.path("");
        std::process::Command::new(env!("CARGO_BIN_EXE_slicer-e2e-cli"))
            .args(["fs", "watch", VM, "/tmp/w", "--timeout", "30s"])
            .env("SLICER_DATA_DIR", &data_dir)
            .stdout(std::process::Stdio::piped())
            .spawn()?
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client
        .fs_mkdir(
            VM,
            &FsMkdirRequest {
                path: "/tmp/w/made".into(),
                recursive: None,
                mode: None,
            },
        )
        .await?;
    let out = tokio::task::spawn_blocking(move || cli_watch.wait_with_output()).await??;
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("/tmp/w/made"), "{out}");

    client
        .fs_remove(
            VM,
            &FsRemoveQuery {
                path: "/tmp/w".into(),
                recursive: Some(true),
            },
        )
        .await?;
    let err = client.fs_stat(VM, "/tmp/w").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    Ok(())
}

async fn shell(daemon: &TestDaemon) -> anyhow::Result<()> {
    let socket = daemon
        .client()
        .shell(
            VM,
            &ShellQuery {
                shell: Some("/bin/sh".into()),
                ..ShellQuery::default()
            },
        )
        .await?;
    let (mut tx, mut rx) = socket.split();
    let send = |frame: ShellFrame| Message::Binary(frame.encode().into());
    tx.send(send(ShellFrame::WindowSize {
        cols: 100,
        rows: 30,
    }))
    .await?;
    tx.send(send(ShellFrame::Data(b"echo h''i; stty size\n".to_vec())))
        .await?;
    let mut output = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(output.contains("hi\r\n") && output.contains("30 100")) {
        assert!(Instant::now() < deadline, "shell output so far: {output:?}");
        let message = tokio::time::timeout(Duration::from_secs(10), rx.next())
            .await?
            .expect("the shell is open")?;
        if let Message::Binary(bytes) = message
            && let Some((ShellFrame::Data(data), _)) = ShellFrame::decode(&bytes)?
        {
            output.push_str(&String::from_utf8_lossy(&data));
        }
    }
    // A resize reaches the running shell.
    tx.send(send(ShellFrame::WindowSize {
        cols: 132,
        rows: 43,
    }))
    .await?;
    tx.send(send(ShellFrame::Data(b"stty size; exit\n".to_vec())))
        .await?;
    let mut closed_by_frame = false;
    let mut rest = String::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), rx.next()).await?;
        match message {
            Some(Ok(Message::Binary(bytes))) => match ShellFrame::decode(&bytes)? {
                Some((ShellFrame::Data(data), _)) => rest.push_str(&String::from_utf8_lossy(&data)),
                Some((ShellFrame::Close, _)) => closed_by_frame = true,
                _ => {}
            },
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => {}
            Some(Err(_)) => break,
        }
    }
    assert!(rest.contains("43 132"), "{rest:?}");
    assert!(closed_by_frame, "the client gets 0x05 when the shell exits");
    Ok(())
}

async fn forward(daemon: &TestDaemon) -> anyhow::Result<()> {
    let client = daemon.client();
    let server = client
        .exec_background(VM, &sh("exec nc -ll -p 8000 -e /bin/cat"))
        .await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_slicer-e2e-cli"))
        .args(["vm", "forward", VM, "-L", &format!("{port}:127.0.0.1:8000")])
        .env("SLICER_DATA_DIR", daemon.path(""))
        .spawn()?;
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let attempt = (|| -> std::io::Result<Vec<u8>> {
                let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
                stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                let payload = pseudo_random(100_000, 11);
                stream.write_all(&payload)?;
                let mut back = vec![0u8; payload.len()];
                stream.read_exact(&mut back)?;
                Ok(if back == payload { back } else { Vec::new() })
            })();
            match attempt {
                Ok(back) if !back.is_empty() => return Ok(()),
                _ if Instant::now() > deadline => {
                    anyhow::bail!("no echo through the forward: {attempt:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(300)),
            }
        }
    })
    .await?;
    let _ = cli.kill();
    let _ = cli.wait();
    client
        .exec_kill(VM, &server.exec_id, &ExecKillRequest::default())
        .await?;
    result
}
