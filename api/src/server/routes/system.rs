//! `/healthz`, `/info`, `/metrics` and the JSON answers for unknown paths
//! and methods.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri, header};
use axum::response::IntoResponse;

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

/// `GET /metrics`: Prometheus text exposition format 0.0.4.
pub(super) async fn metrics(State(backend): State<Shared>) -> Result<impl IntoResponse, ApiError> {
    let text = backend.metrics().await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

/// Any other path.
pub(super) async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// A known path with a method it does not serve.
pub(super) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not served on {}", uri.path()))
}
