//! `/v1/exec` (list) and `/v1/exec/{exec_id}…`: status, logs, kill,
//! wait-exit and reap of background execs.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use slicer_api::types::query::from_query;
use slicer_api::types::{
    ExecBackgroundInfo, ExecKillRequest, ExecKillResponse, ExecLogsQuery, ExecReapResponse,
    ExecWaitQuery, ExecWaitResult,
};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::AgentState;
use crate::error::AgentError;

fn parse<T: serde::de::DeserializeOwned>(query: Option<String>) -> Result<T, AgentError> {
    from_query(query.as_deref().unwrap_or("")).map_err(|e| AgentError::BadQuery(e.to_string()))
}

/// Every background exec not yet reaped.
pub async fn list(State(state): State<Arc<AgentState>>) -> Json<Vec<ExecBackgroundInfo>> {
    Json(state.background.list())
}

/// One exec's status.
pub async fn info(
    State(state): State<Arc<AgentState>>,
    Path(exec_id): Path<String>,
) -> Result<Json<ExecBackgroundInfo>, AgentError> {
    Ok(Json(state.background.get(&exec_id)?.info()))
}

/// Replay (and with `follow=true`, follow) the exec's ring as NDJSON.
pub async fn logs(
    State(state): State<Arc<AgentState>>,
    Path(exec_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, AgentError> {
    let query: ExecLogsQuery = parse(query)?;
    let exec = state.background.get(&exec_id)?;
    let rx = exec.logs(query.from_id.unwrap_or(1), query.follow.unwrap_or(false));
    let frames = ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>);
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(frames),
    )
        .into_response())
}

/// Signal the exec's process group.
pub async fn kill(
    State(state): State<Arc<AgentState>>,
    Path(exec_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<ExecKillResponse>, AgentError> {
    let request: ExecKillRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ExecKillRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AgentError::Body(format!("invalid kill request: {e}")))?
    };
    Ok(Json(state.background.get(&exec_id)?.kill(&request)?))
}

/// Long-poll until the exec exits or `timeout` seconds pass.
pub async fn wait_exit(
    State(state): State<Arc<AgentState>>,
    Path(exec_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ExecWaitResult>, AgentError> {
    let query: ExecWaitQuery = parse(query)?;
    let exec = state.background.get(&exec_id)?;
    Ok(Json(exec.wait_exit(query.timeout).await))
}

/// Forget the exec and free its ring (the process keeps running).
pub async fn reap(
    State(state): State<Arc<AgentState>>,
    Path(exec_id): Path<String>,
) -> Result<Json<ExecReapResponse>, AgentError> {
    state.background.reap(&exec_id)?;
    Ok(Json(ExecReapResponse {
        exec_id,
        reaped: true,
    }))
}
