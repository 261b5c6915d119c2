//! `/v1/fs/readdir`, `/v1/fs/stat`, `/v1/fs/mkdir`, `/v1/fs/remove`:
//! native filesystem operations (no guest `ls` or `stat`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use slicer_api::types::query::from_query;
use slicer_api::types::{FsEntry, FsMkdirRequest, FsPathQuery, FsPathResponse, FsRemoveQuery};

use super::AgentState;
use crate::error::AgentError;
use crate::files::{ops, paths};

fn parse<T: serde::de::DeserializeOwned>(query: Option<String>) -> Result<T, AgentError> {
    from_query(query.as_deref().unwrap_or("")).map_err(|e| AgentError::BadQuery(e.to_string()))
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, AgentError> + Send + 'static,
) -> Result<T, AgentError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| AgentError::Io {
            operation: "run filesystem job",
            path: "/".into(),
            source: std::io::Error::other(e),
        })?
}

/// List a directory.
pub async fn readdir(
    State(_): State<Arc<AgentState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<FsEntry>>, AgentError> {
    let query: FsPathQuery = parse(query)?;
    let path = paths::checked(&query.path)?;
    Ok(Json(blocking(move || ops::readdir(&path)).await?))
}

/// Stat a path without following a final symlink.
pub async fn stat(
    State(_): State<Arc<AgentState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<FsEntry>, AgentError> {
    let query: FsPathQuery = parse(query)?;
    let path = paths::checked(&query.path)?;
    Ok(Json(blocking(move || ops::stat(&path)).await?))
}

/// Create a directory.
pub async fn mkdir(
    State(_): State<Arc<AgentState>>,
    body: axum::body::Bytes,
) -> Result<Json<FsPathResponse>, AgentError> {
    let request: FsMkdirRequest = serde_json::from_slice(&body)
        .map_err(|e| AgentError::Body(format!("invalid mkdir request: {e}")))?;
    let path = paths::checked(&request.path)?;
    let mode = request.mode.as_deref().map(paths::parse_mode).transpose()?;
    let recursive = request.recursive.unwrap_or(false);
    blocking(move || ops::mkdir(&path, recursive, mode)).await?;
    Ok(Json(FsPathResponse { path: request.path }))
}

/// Remove a file, symlink or directory.
pub async fn remove(
    State(_): State<Arc<AgentState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<FsPathResponse>, AgentError> {
    let query: FsRemoveQuery = parse(query)?;
    let path = paths::checked(&query.path)?;
    if path == std::path::Path::new("/") {
        return Err(AgentError::BadPath {
            path: query.path,
            reason: "refusing to remove /",
        });
    }
    let recursive = query.recursive.unwrap_or(false);
    blocking(move || ops::remove(&path, recursive)).await?;
    Ok(Json(FsPathResponse { path: query.path }))
}
