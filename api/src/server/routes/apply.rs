//! `POST /apply` and `GET /apply`: host groups from a config file.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::Shared;
use crate::server::ApiError;
use crate::types::{ApplyRequest, ApplyResponse};

/// `POST /apply`.
pub(super) async fn apply(
    State(backend): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<ApplyResponse>, ApiError> {
    let request: ApplyRequest = serde_json::from_slice(&body)
        .map_err(|err| ApiError::bad_request(format!("invalid request body: {err}")))?;
    backend.apply(request).await.map(Json)
}

/// `GET /apply`: the stored groups as YAML.
pub(super) async fn stored(State(backend): State<Shared>) -> Result<impl IntoResponse, ApiError> {
    let yaml = backend.stored_config().await?;
    Ok(([(header::CONTENT_TYPE, "application/yaml")], yaml))
}
