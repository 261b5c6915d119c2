//! File copy against a real guest: a 50 MB binary file both ways with
//! checksums and modes, and a directory tree as tar both ways.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use http_body_util::BodyDataStream;
use sha2::{Digest, Sha256};
use slicer_api::types::{CopyMode, CopyQuery};
use slicer_controller::agent_client::{full_body, reader_body};
use slicer_e2e::exec::check_output;
use slicer_e2e::{GuestOptions, Rig};

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A file of `len` pseudo-random bytes (xorshift), and its sha256.
fn random_file(path: &Path, len: usize) -> String {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; 1 << 16];
    let mut written = 0;
    while written < len {
        for byte in chunk.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state.to_le_bytes()[0];
        }
        let n = chunk.len().min(len - written);
        file.write_all(&chunk[..n]).unwrap();
        hasher.update(&chunk[..n]);
        written += n;
    }
    file.flush().unwrap();
    hex(hasher.finalize())
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_megabytes_round_trip_with_checksums() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("cp-1")).await.unwrap();
    let agent = guest.agent();
    let local = rig.scratch().join("payload.bin");
    let sha = random_file(&local, 50 * 1024 * 1024);

    let upload = CopyQuery {
        path: "/root/payload.bin".into(),
        mode: CopyMode::Binary,
        permissions: Some("0640".into()),
        uid: Some(1000),
        gid: Some(1000),
        ..CopyQuery::default()
    };
    let file = tokio::fs::File::open(&local).await.unwrap();
    agent.upload(&upload, reader_body(file)).await.unwrap();
    let guest_sha = check_output(&agent, "sha256sum /root/payload.bin")
        .await
        .unwrap();
    assert_eq!(guest_sha.split_whitespace().next(), Some(sha.as_str()));
    assert_eq!(
        check_output(&agent, "stat -c '%a %u %g' /root/payload.bin")
            .await
            .unwrap(),
        "640 1000 1000"
    );

    let download = agent
        .download(&CopyQuery {
            path: "/root/payload.bin".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(download.mode, Some(0o640));
    let mut hasher = Sha256::new();
    let mut len = 0;
    let mut body = BodyDataStream::new(download.body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        len += chunk.len();
        hasher.update(&chunk);
    }
    assert_eq!(len, 50 * 1024 * 1024);
    assert_eq!(hex(hasher.finalize()), sha);
    guest.shutdown(Duration::from_secs(10)).await.unwrap();
}

/// Relative path → contents of every file under `root` (symlinks as `-> target`).
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                out.insert(
                    rel,
                    format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                );
            } else if kind.is_dir() {
                out.insert(rel, "<dir>".into());
                stack.push(path);
            } else {
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_tree_round_trips_as_tar() {
    let rig = Rig::new().unwrap();
    let guest = rig.boot(GuestOptions::min("tar-1")).await.unwrap();
    let agent = guest.agent();

    let src = rig.scratch().join("src");
    std::fs::create_dir_all(src.join("a/b/c")).unwrap();
    std::fs::write(src.join("top.txt"), "top").unwrap();
    std::fs::write(src.join("a/one.txt"), "one").unwrap();
    std::fs::write(src.join("a/b/c/deep.txt"), "deep".repeat(10_000)).unwrap();
    std::os::unix::fs::symlink("one.txt", src.join("a/link")).unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", &src).unwrap();
    let archive = builder.into_inner().unwrap();

    let upload = CopyQuery {
        path: "/srv/tree".into(),
        mode: CopyMode::Tar,
        ..Default::default()
    };
    agent.upload(&upload, full_body(archive)).await.unwrap();
    assert_eq!(
        check_output(&agent, "cat /srv/tree/a/b/c/deep.txt | wc -c")
            .await
            .unwrap(),
        "40000"
    );
    assert_eq!(
        check_output(&agent, "readlink /srv/tree/a/link")
            .await
            .unwrap(),
        "one.txt"
    );

    let download = agent
        .download(&CopyQuery {
            path: "/srv/tree".into(),
            mode: CopyMode::Tar,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut bytes = Vec::new();
    let mut body = BodyDataStream::new(download.body);
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let dst = rig.scratch().join("dst");
    std::fs::create_dir_all(&dst).unwrap();
    tar::Archive::new(bytes.as_slice()).unpack(&dst).unwrap();
    // The archive holds either the directory itself or its contents.
    let unpacked = if dst.join("tree").is_dir() {
        dst.join("tree")
    } else {
        dst.clone()
    };
    assert_eq!(tree(&unpacked), tree(&src));

    // A tar that tries to escape its directory is refused or contained.
    let mut evil = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    // `append_data` refuses `..`, so write the raw name into the header.
    let name = b"../escaped.txt";
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_cksum();
    evil.append(&header, &b"evil"[..]).unwrap();
    let evil = evil.into_inner().unwrap();
    let upload = CopyQuery {
        path: "/srv/jail".into(),
        mode: CopyMode::Tar,
        ..Default::default()
    };
    let _ = agent.upload(&upload, full_body(evil)).await;
    assert_eq!(
        check_output(&agent, "test -e /srv/escaped.txt && echo yes || echo no")
            .await
            .unwrap(),
        "no"
    );
    guest.shutdown(Duration::from_secs(10)).await.unwrap();
}
