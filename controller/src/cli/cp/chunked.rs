//! Chunked upload of a large file (`reference/slicer.md` §7.5): 64 MiB
//! chunks, each SHA-256'd and sent 4 at a time with binary copies into
//! `<dest-parent>/.slicer-upload-<id>/chunks/`, then `manifest.json`, then
//! `slicer-agent upload finalise` in the guest. Any failure after the
//! first chunk runs `upload abort` so no staging is left behind.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use slicer_api::client::{SlicerClient, reader_body};
use slicer_api::types::upload::{
    AGENT_PROGRAM, CHUNK_SIZE_BYTES, CHUNK_UPLOADS_IN_FLIGHT, CHUNKED_COPY_CAPABILITY, CHUNKS_DIR,
    MANIFEST_FILE, UPLOAD_DIR_PREFIX, chunk_file_name,
};
use slicer_api::types::{CopyMode, CopyQuery, ExecQuery, ManifestChunk, UploadManifest};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::local::LocalSource;

/// `slicer-agent ARGS…` run directly (no shell) as root; its result.
async fn agent(
    client: &SlicerClient,
    vm: &str,
    args: &[&str],
) -> anyhow::Result<slicer_api::types::BufferedExecResult> {
    let query = ExecQuery {
        cmd: AGENT_PROGRAM.into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        shell: Some(String::new()),
        ..ExecQuery::default()
    };
    Ok(client.exec_buffered(vm, &query).await?)
}

/// Whether the guest agent finalises cp-v1 (version 2) manifests.
async fn supported(client: &SlicerClient, vm: &str) -> bool {
    match agent(client, vm, &["upload", "check"]).await {
        Ok(result) => {
            result.exit_code == 0
                && result
                    .stdout
                    .split_whitespace()
                    .any(|w| w == CHUNKED_COPY_CAPABILITY)
        }
        Err(err) => {
            tracing::debug!(%vm, error = %err, "chunked-upload probe failed");
            false
        }
    }
}

/// A fresh upload id: 16 random bytes as hex.
fn upload_id() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for an upload id")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `<dest-parent>/.slicer-upload-<id>`.
fn staging_dir(dest: &str, id: &str) -> anyhow::Result<String> {
    let trimmed = dest.trim_end_matches('/');
    let parent = Path::new(trimmed)
        .parent()
        .filter(|_| !trimmed.is_empty())
        .ok_or_else(|| anyhow::anyhow!("chunked copy needs a named destination, not {dest:?}"))?;
    Ok(parent
        .join(format!("{UPLOAD_DIR_PREFIX}{id}"))
        .display()
        .to_string())
}

/// SHA-256 of `size` bytes of `path` from `offset`, on a blocking thread.
async fn chunk_sha256(path: PathBuf, offset: u64, size: u64) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let mut file = std::fs::File::open(&path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut hasher = Sha256::new();
        let copied = std::io::copy(&mut file.take(size), &mut hasher)?;
        anyhow::ensure!(
            copied == size,
            "{} shrank while being copied",
            path.display()
        );
        Ok(format!("{:x}", hasher.finalize()))
    })
    .await?
}

/// Upload chunk `index` and return its manifest entry.
async fn send_chunk(
    client: &SlicerClient,
    vm: &str,
    local: &LocalSource,
    staging: &str,
    index: u64,
) -> anyhow::Result<ManifestChunk> {
    let offset = index * CHUNK_SIZE_BYTES;
    let size = CHUNK_SIZE_BYTES.min(local.len - offset);
    let mut file = tokio::fs::File::open(&local.path).await?;
    file.seek(SeekFrom::Start(offset)).await?;
    let query = CopyQuery {
        path: format!("{staging}/{CHUNKS_DIR}/{}", chunk_file_name(index)),
        mode: CopyMode::Binary,
        permissions: Some("0600".into()),
        ..CopyQuery::default()
    };
    let (sha256, sent) = tokio::join!(
        chunk_sha256(local.path.clone(), offset, size),
        client.upload(vm, &query, reader_body(file.take(size)))
    );
    sent.with_context(|| format!("upload of chunk {index} failed"))?;
    Ok(ManifestChunk {
        index,
        size,
        sha256: sha256?,
    })
}

/// Upload `local` (a file) to `query.path` in chunks. `Ok(false)`: the
/// guest cannot assemble chunks, so the caller sends one stream instead.
pub async fn upload(
    client: &SlicerClient,
    vm: &str,
    local: &LocalSource,
    query: &CopyQuery,
) -> anyhow::Result<bool> {
    if !supported(client, vm).await {
        tracing::info!(%vm, "the guest agent cannot assemble chunks; sending one stream");
        return Ok(false);
    }
    let staging = staging_dir(&query.path, &upload_id()?)?;
    let result = send(client, vm, local, query, &staging).await;
    if result.is_err() {
        let manifest = format!("{staging}/{MANIFEST_FILE}");
        if let Err(err) = agent(client, vm, &["upload", "abort", "--manifest", &manifest]).await {
            tracing::warn!(%vm, %staging, error = %err, "chunked upload abort failed");
        }
    }
    result.map(|()| true)
}

async fn send(
    client: &SlicerClient,
    vm: &str,
    local: &LocalSource,
    query: &CopyQuery,
    staging: &str,
) -> anyhow::Result<()> {
    let count = local.len.div_ceil(CHUNK_SIZE_BYTES);
    let mut chunks: Vec<ManifestChunk> = futures_util::stream::iter(0..count)
        .map(|index| send_chunk(client, vm, local, staging, index))
        .buffer_unordered(CHUNK_UPLOADS_IN_FLIGHT)
        .try_collect()
        .await?;
    chunks.sort_by_key(|c| c.index);
    let uid = query.uid.unwrap_or(0);
    let gid = query.gid.unwrap_or(0);
    let manifest = UploadManifest {
        version: 2,
        mode: CopyMode::Binary,
        destination: query.path.clone(),
        uid,
        gid,
        permissions: query.permissions.clone(),
        size: local.len,
        unpacked_size: None,
        copy_semantics: query.copy_semantics,
        source_name: query.source_name.clone(),
        source_type: query.source_type,
        copy_contents: false,
        chunks,
    };
    let manifest_path = format!("{staging}/{MANIFEST_FILE}");
    let json = serde_json::to_vec(&manifest)?;
    let manifest_query = CopyQuery {
        path: manifest_path.clone(),
        mode: CopyMode::Binary,
        permissions: Some("0600".into()),
        ..CopyQuery::default()
    };
    client
        .upload(vm, &manifest_query, reader_body(std::io::Cursor::new(json)))
        .await
        .context("upload of the chunked-copy manifest failed")?;
    let (uid, gid) = (uid.to_string(), gid.to_string());
    let result = agent(
        client,
        vm,
        &[
            "upload",
            "finalise",
            "--manifest",
            &manifest_path,
            "--uid",
            &uid,
            "--gid",
            &gid,
        ],
    )
    .await?;
    anyhow::ensure!(
        result.exit_code == 0,
        "slicer-agent upload finalise in {vm} exited {}: {}",
        result.exit_code,
        result.stderr.trim()
    );
    tracing::info!(%vm, chunks = count, landed = result.stdout.trim(), "chunked upload assembled");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_sits_beside_the_destination() {
        assert_eq!(
            staging_dir("/var/tmp/big.bin", "ab").unwrap(),
            "/var/tmp/.slicer-upload-ab"
        );
        assert_eq!(
            staging_dir("/var/tmp/", "ab").unwrap(),
            "/var/.slicer-upload-ab"
        );
        assert!(staging_dir("/", "ab").is_err());
        assert_eq!(upload_id().unwrap().len(), 32);
    }
}
