//! One file, streamed: upload through a [`StagedFile`], download as a
//! chunked body.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use axum::body::Body;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::staged::StagedFile;
use crate::error::AgentError;

/// Stream `body` into `path`; the file appears whole or not at all.
pub async fn upload(
    path: &Path,
    body: Body,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<(), AgentError> {
    crate::upload::staging::create_parents(path)?;
    let (staged, file) = StagedFile::beside(path)?;
    write_stream(staged.tmp(), tokio::fs::File::from_std(file), body).await?;
    staged.commit(mode, uid, gid)
}

async fn write_stream(
    path: &Path,
    mut file: tokio::fs::File,
    body: Body,
) -> Result<(), AgentError> {
    let mut data = body.into_data_stream();
    while let Some(chunk) = data.next().await {
        let chunk = chunk.map_err(|e| AgentError::Body(e.to_string()))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| AgentError::io("write", path, e))?;
    }
    file.flush()
        .await
        .map_err(|e| AgentError::io("flush", path, e))
}

/// Open `path` for download: its mode and a streaming body.
pub async fn download(path: &Path) -> Result<(u32, Body), AgentError> {
    let meta = std::fs::metadata(path).map_err(|e| AgentError::io("stat", path, e))?;
    if meta.is_dir() {
        return Err(AgentError::IsDirectory(path.to_owned()));
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| AgentError::io("open", path, e))?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    Ok((
        meta.permissions().mode() & 0o7777,
        Body::from_stream(stream),
    ))
}
