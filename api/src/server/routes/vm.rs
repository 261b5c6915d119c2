//! `/vm/{hostname}` and its daemon-side sub-resources: describe, tags,
//! console logs, agent health and the lifecycle verbs.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::Shared;
use super::body::read_json;
use super::nodes::parse_query;
use crate::server::ApiError;
use crate::types::{
    AgentHealth, CreateNodeResponse, LogsQuery, LogsResponse, RestoreQuery, TagPatch,
    VmDescription, VmShutdownQuery, VmTags,
};

/// `GET /vm/{hostname}`.
pub(super) async fn describe(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> Result<Json<VmDescription>, ApiError> {
    backend.describe(hostname).await.map(Json)
}

/// `GET /vm/{hostname}/tags`.
pub(super) async fn tags(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> Result<Json<VmTags>, ApiError> {
    backend.tags(hostname).await.map(Json)
}

/// `PATCH /vm/{hostname}/tags`.
pub(super) async fn patch_tags(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
    body: Body,
) -> Result<Json<VmTags>, ApiError> {
    let patch: TagPatch = read_json(body, false).await?;
    backend.patch_tags(hostname, patch).await.map(Json)
}

/// `GET /vm/{hostname}/logs`.
pub(super) async fn logs(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<LogsResponse>, ApiError> {
    let query: LogsQuery = parse_query(raw)?;
    backend.logs(hostname, query).await.map(Json)
}

/// `GET /vm/{hostname}/health`.
pub(super) async fn health(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> Result<Json<AgentHealth>, ApiError> {
    backend.health(hostname).await.map(Json)
}

/// `HEAD /vm/{hostname}/health`: only the status.
pub(super) async fn health_probe(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> StatusCode {
    match backend.health(hostname).await {
        Ok(_) => StatusCode::OK,
        Err(err) => err.status,
    }
}

/// `POST /vm/{hostname}/shutdown`.
pub(super) async fn shutdown(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<String, ApiError> {
    let query: VmShutdownQuery = parse_query(raw)?;
    backend.shutdown(hostname, query).await
}

/// `POST /vm/{hostname}/pause`.
pub(super) async fn pause(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> Result<String, ApiError> {
    backend.pause(hostname).await
}

/// `POST /vm/{hostname}/resume`.
pub(super) async fn resume(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> Result<String, ApiError> {
    backend.resume(hostname).await
}

/// `POST /vm/{hostname}/suspend`.
pub(super) async fn suspend(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> Result<String, ApiError> {
    backend.suspend(hostname).await
}

/// `POST /vm/{hostname}/restore`.
pub(super) async fn restore(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<String, ApiError> {
    let query: RestoreQuery = parse_query(raw)?;
    backend.restore(hostname, query).await
}

/// `POST /vm/{hostname}/relaunch`.
pub(super) async fn relaunch(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> Result<Json<CreateNodeResponse>, ApiError> {
    backend.relaunch(hostname).await.map(Json)
}
