//! `POST /apply` and `GET /apply`: host groups from a config file.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::Shared;
use super::body::read_json;
use crate::server::ApiError;
use crate::types::{ApplyRequest, ApplyResponse};

/// `POST /apply`.
pub(super) async fn apply(
    State(backend): State<Shared>,
    body: axum::body::Body,
) -> Result<Json<ApplyResponse>, ApiError> {
    let request: ApplyRequest = read_json(body, false).await?;
    backend.apply(request).await.map(Json)
}

/// `GET /apply`: the stored groups as YAML.
pub(super) async fn stored(State(backend): State<Shared>) -> Result<impl IntoResponse, ApiError> {
    let yaml = backend.stored_config().await?;
    Ok(([(header::CONTENT_TYPE, "application/yaml")], yaml))
}
