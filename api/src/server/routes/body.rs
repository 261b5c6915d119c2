//! Reading JSON request bodies with a size limit, so every malformed or
//! oversized body answers the one JSON error shape.

use axum::body::Body;
use serde::de::DeserializeOwned;

use crate::server::ApiError;

/// Largest JSON body accepted (secrets are the biggest).
pub(super) const MAX_BODY_BYTES: usize = 16 << 20;

/// Read `body` as JSON. An empty (or whitespace) body is `T::default()`
/// when `empty_ok`, else 400.
pub(super) async fn read_json<T: DeserializeOwned + Default>(
    body: Body,
    empty_ok: bool,
) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|err| {
            ApiError::too_large(format!(
                "cannot read the request body (at most {MAX_BODY_BYTES} bytes): {err}"
            ))
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if empty_ok {
            Ok(T::default())
        } else {
            Err(ApiError::bad_request(
                "the request body is empty; send JSON",
            ))
        };
    }
    serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::bad_request(format!("invalid request body: {err}")))
}

/// Like [`read_json`] for bodies without a default: an empty body is 400.
pub(super) async fn read_required<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|err| {
            ApiError::too_large(format!(
                "cannot read the request body (at most {MAX_BODY_BYTES} bytes): {err}"
            ))
        })?;
    serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::bad_request(format!("invalid request body: {err}")))
}
