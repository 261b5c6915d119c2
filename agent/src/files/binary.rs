//! One file, streamed: upload to a temporary file renamed into place,
//! download as a chunked body.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use axum::body::Body;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::paths::apply_owner_and_mode;
use crate::error::AgentError;

/// Stream `body` into `path`; the file appears whole or not at all.
pub async fn upload(
    path: &Path,
    body: Body,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<(), AgentError> {
    if path.is_dir() {
        return Err(AgentError::IsDirectory(path.to_owned()));
    }
    let parent = path.parent().unwrap_or(Path::new("/"));
    if !parent.is_dir() {
        return Err(AgentError::NotFound(parent.to_owned()));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.slicer-upload-{}", std::process::id()));
    let result = write_stream(&tmp, body).await;
    let result =
        result.and_then(|()| apply_owner_and_mode(&tmp, Some(mode.unwrap_or(0o644)), uid, gid));
    let result = result
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| AgentError::io("rename", path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

async fn write_stream(path: &Path, body: Body) -> Result<(), AgentError> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| AgentError::io("create", path, e))?;
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
