//! `POST /v1/exec`: streaming (NDJSON), buffered, or background (201 and
//! an exec id; see `exec_background.rs` for the rest of its life).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use slicer_api::types::query::from_query;
use slicer_api::types::{BufferedExecResult, ExecQuery};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::AgentState;
use crate::error::AgentError;
use crate::exec::{children, command, output};

/// Run a command.
pub async fn exec(
    State(state): State<Arc<AgentState>>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, AgentError> {
    let query: ExecQuery = from_query(query.as_deref().unwrap_or(""))
        .map_err(|e| AgentError::BadQuery(e.to_string()))?;
    if query.background == Some(true) {
        let started = state.background.start(&query, &state.config.passwd)?;
        return Ok((StatusCode::CREATED, Json(started)).into_response());
    }
    let with_stdin = query.stdin.unwrap_or(false);
    let encoding = query.stdio.unwrap_or_default();
    let mut prepared = command::prepare(
        &query,
        &state.config.passwd,
        with_stdin,
        command::Placement::ProcessGroup,
    )?;
    let buffered = query.buffered.unwrap_or(false);
    let mut child = match children::spawn(&mut prepared.command) {
        Ok(child) => child,
        Err(err) if buffered => {
            return Ok(Json(BufferedExecResult {
                exit_code: 1,
                error: Some(format!("cannot run {}: {err}", prepared.program)),
                ..BufferedExecResult::default()
            })
            .into_response());
        }
        Err(err) => {
            return Ok(ndjson(Body::from(output::spawn_failure_line(
                &prepared.program,
                &err,
            ))));
        }
    };
    output::feed_stdin(child.stdin.take(), body);
    if buffered {
        return Ok(Json(output::buffered(child, encoding).await).into_response());
    }
    let frames =
        ReceiverStream::new(output::stream(child, encoding)).map(Ok::<_, std::convert::Infallible>);
    Ok(ndjson(Body::from_stream(frames)))
}

fn ndjson(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}
