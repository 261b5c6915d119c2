//! `/healthz`, `/info` and the JSON 404 for unknown paths.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;

use super::Shared;
use crate::server::ApiError;
use crate::types::InfoResponse;

/// `GET|HEAD /healthz`: `200 text/plain OK` (`reference/slicer.md` §11 item 16).
pub(super) async fn healthz() -> &'static str {
    "OK"
}

/// `GET /info`.
pub(super) async fn info(State(backend): State<Shared>) -> Json<InfoResponse> {
    Json(backend.info().await)
}

/// Any other path.
pub(super) async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}
