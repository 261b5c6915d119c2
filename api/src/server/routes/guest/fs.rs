//! `/vm/{hostname}/fs/…` (`reference/slicer.md` §7.6, §7.7): readdir,
//! stat, mkdir, remove, and the SSE watch relayed as it streams.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::Guest;
use crate::server::ApiError;
use crate::server::routes::nodes::parse_query;
use crate::types::{FsMkdirRequest, FsPathQuery, FsPathResponse, FsRemoveQuery, FsWatchQuery};

fn path_query(raw: Option<String>) -> Result<String, ApiError> {
    let query: FsPathQuery = parse_query(raw)?;
    if query.path.is_empty() {
        return Err(ApiError::bad_request("path is required"));
    }
    Ok(query.path)
}

/// `GET /vm/{hostname}/fs/readdir?path=`.
pub(in crate::server::routes) async fn readdir(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let path = path_query(raw)?;
    Ok(Json(backend.fs_readdir(hostname, path).await?).into_response())
}

/// `GET /vm/{hostname}/fs/stat?path=`.
pub(in crate::server::routes) async fn stat(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let path = path_query(raw)?;
    Ok(Json(backend.fs_stat(hostname, path).await?).into_response())
}

/// `POST /vm/{hostname}/fs/mkdir` with `{path, recursive?, mode?}`.
pub(in crate::server::routes) async fn mkdir(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: FsMkdirRequest = serde_json::from_slice(&body)
        .map_err(|err| ApiError::bad_request(format!("invalid mkdir request: {err}")))?;
    let path = request.path.clone();
    backend.fs_mkdir(hostname, request).await?;
    Ok(Json(FsPathResponse { path }).into_response())
}

/// `DELETE /vm/{hostname}/fs/remove?path=&recursive=`.
pub(in crate::server::routes) async fn remove(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query: FsRemoveQuery = parse_query(raw)?;
    if query.path.is_empty() {
        return Err(ApiError::bad_request("path is required"));
    }
    let path = query.path.clone();
    backend.fs_remove(hostname, query).await?;
    Ok(Json(FsPathResponse { path }).into_response())
}

/// `GET /vm/{hostname}/fs/watch`: `text/event-stream`.
pub(in crate::server::routes) async fn watch(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query: FsWatchQuery = parse_query(raw)?;
    if query.paths.is_empty() {
        return Err(ApiError::bad_request("paths is required"));
    }
    // Checked to be a uint64 and then ignored, as upstream does (§7.7).
    if let Some(last) = headers.get("last-event-id")
        && last
            .to_str()
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .is_none()
    {
        return Err(ApiError::bad_request("Last-Event-ID must be a uint64"));
    }
    let body = backend.fs_watch(hostname, query).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}
