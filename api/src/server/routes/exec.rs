//! `POST /vm/{hostname}/exec`: streamed NDJSON frames, or one buffered JSON
//! object. Every option is a query parameter; the body is stdin.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::Shared;
use super::nodes::parse_query;
use crate::server::{ApiError, ExecOutput};
use crate::types::ExecQuery;

/// `POST /vm/{hostname}/exec`.
pub(super) async fn exec(
    State(backend): State<Shared>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let query: ExecQuery = parse_query(raw)?;
    if query.cmd.is_empty() {
        return Err(ApiError::bad_request("cmd is required"));
    }
    match backend.exec(hostname, query, body).await? {
        ExecOutput::Buffered(result) => Ok(Json(result).into_response()),
        ExecOutput::Stream(frames) => {
            let lines = frames.map(|frame| {
                let mut line = serde_json::to_vec(&frame).unwrap_or_default();
                line.push(b'\n');
                Ok::<_, std::convert::Infallible>(line)
            });
            Ok((
                [(header::CONTENT_TYPE, "application/x-ndjson")],
                Body::from_stream(lines),
            )
                .into_response())
        }
    }
}
