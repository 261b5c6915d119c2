//! Background exec (`reference/slicer.md` §7.4): start, list, status,
//! logs, kill, wait-exit and reap.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Guest;
use crate::server::ApiError;
use crate::server::routes::nodes::parse_query;
use crate::types::{ExecKillRequest, ExecLogsQuery, ExecQuery, ExecWaitQuery};

/// A layer for the whole router that answers `POST /vm/{h}/exec` with
/// `background=true` and passes every other request on, so the foreground
/// exec route keeps its path to itself.
pub fn background_exec_layer(router: axum::Router, backend: Guest) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(backend, intercept))
}

/// The hostname of a `POST /vm/{hostname}/exec` path.
fn exec_hostname(path: &str) -> Option<&str> {
    let hostname = path.strip_prefix("/vm/")?.strip_suffix("/exec")?;
    (!hostname.is_empty() && !hostname.contains('/')).then_some(hostname)
}

async fn intercept(State(backend): State<Guest>, request: Request, next: Next) -> Response {
    if request.method() != http::Method::POST {
        return next.run(request).await;
    }
    let Some(hostname) = exec_hostname(request.uri().path()).map(str::to_owned) else {
        return next.run(request).await;
    };
    let query: ExecQuery = match parse_query(request.uri().query().map(str::to_owned)) {
        Ok(query) => query,
        // The foreground route reports a bad query the same way.
        Err(_) => return next.run(request).await,
    };
    if query.background != Some(true) {
        return next.run(request).await;
    }
    start(backend, hostname, query).await.into_response()
}

async fn start(backend: Guest, hostname: String, query: ExecQuery) -> Result<Response, ApiError> {
    if query.cmd.is_empty() {
        return Err(ApiError::bad_request("cmd is required"));
    }
    if query.stdin == Some(true) || query.buffered == Some(true) {
        return Err(ApiError::bad_request(
            "background exec takes neither stdin=true nor buffered=true",
        ));
    }
    let started = backend.exec_background(hostname, query).await?;
    Ok((StatusCode::CREATED, Json(started)).into_response())
}

/// `GET /vm/{hostname}/exec`.
pub(in crate::server::routes) async fn list(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(backend.exec_list(hostname).await?).into_response())
}

/// `GET /vm/{hostname}/exec/{exec_id}`.
pub(in crate::server::routes) async fn info(
    State(backend): State<Guest>,
    Path((hostname, exec_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(backend.exec_info(hostname, exec_id).await?).into_response())
}

/// `DELETE /vm/{hostname}/exec/{exec_id}`.
pub(in crate::server::routes) async fn reap(
    State(backend): State<Guest>,
    Path((hostname, exec_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(backend.exec_reap(hostname, exec_id).await?).into_response())
}

/// `GET /vm/{hostname}/exec/{exec_id}/logs?follow=&from_id=`.
pub(in crate::server::routes) async fn logs(
    State(backend): State<Guest>,
    Path((hostname, exec_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query: ExecLogsQuery = parse_query(raw)?;
    let body = backend.exec_logs(hostname, exec_id, query).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// `POST /vm/{hostname}/exec/{exec_id}/kill` with an optional JSON body.
pub(in crate::server::routes) async fn kill(
    State(backend): State<Guest>,
    Path((hostname, exec_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ExecKillRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ExecKillRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|err| ApiError::bad_request(format!("invalid kill request: {err}")))?
    };
    Ok(Json(backend.exec_kill(hostname, exec_id, request).await?).into_response())
}

/// `GET /vm/{hostname}/exec/{exec_id}/wait-exit?timeout=`.
pub(in crate::server::routes) async fn wait_exit(
    State(backend): State<Guest>,
    Path((hostname, exec_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query: ExecWaitQuery = parse_query(raw)?;
    Ok(Json(backend.exec_wait_exit(hostname, exec_id, query).await?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exec_path_is_intercepted() {
        assert_eq!(exec_hostname("/vm/sbox-1/exec"), Some("sbox-1"));
        assert_eq!(exec_hostname("/vm/sbox-1/exec/bg-1"), None);
        assert_eq!(exec_hostname("/vm//exec"), None);
        assert_eq!(exec_hostname("/vm/a/b/exec"), None);
        assert_eq!(exec_hostname("/nodes"), None);
    }
}
