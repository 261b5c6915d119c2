//! Request limits answered with JSON errors instead of bare statuses.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use slicer_api::types::ErrorBody;

use crate::error::AgentError;

/// Largest total size of request headers (names and values).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Reject requests whose headers exceed [`MAX_HEADER_BYTES`] with a JSON 431.
/// (hyper's own buffer is raised to 1 MiB so such requests reach us.)
pub async fn header_limit(request: Request, next: Next) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if size > MAX_HEADER_BYTES {
        return AgentError::HeadersTooLarge {
            size,
            limit: MAX_HEADER_BYTES,
        }
        .into_response();
    }
    next.run(request).await
}

/// Unknown paths.
pub async fn not_found(request: Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(ErrorBody::new(
            "not_found",
            format!(
                "no such endpoint: {} {}",
                request.method(),
                request.uri().path()
            ),
        )),
    )
        .into_response()
}
