//! `/nodes/stats` and `/node/{hostname}/stats`: guest metrics.

use axum::Json;
use axum::extract::{Path, State};

use super::Shared;
use crate::server::ApiError;
use crate::types::NodeStats;

/// `GET /nodes/stats`.
pub(super) async fn all(State(backend): State<Shared>) -> Result<Json<Vec<NodeStats>>, ApiError> {
    backend.node_stats(None).await.map(Json)
}

/// `GET /node/{hostname}/stats`.
pub(super) async fn one(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
) -> Result<Json<NodeStats>, ApiError> {
    let mut stats = backend.node_stats(Some(hostname.clone())).await?;
    stats
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("vm {hostname} not found")))
}
