//! `GET /vm/{hostname}/forward` (`reference/slicer.md` §7.9): one tunnel
//! per WebSocket to `X-Inlets-Upstream` inside the guest, raw bytes both
//! ways as binary messages.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};

use super::Guest;
use super::websocket_bridge::{MessageCut, bridge};
use crate::server::ApiError;
use crate::types::{FORWARD_UPSTREAM_HEADER, ForwardTarget};

/// Guest bytes read at once.
const CHUNK: usize = 64 * 1024;

/// Any method on `/vm/{hostname}/forward`. The agent dials before the
/// 101, so an unreachable target is an error answer, not a dead socket.
pub(in crate::server::routes) async fn forward(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let target: ForwardTarget = headers
        .get(FORWARD_UPSTREAM_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::bad_request(format!("{FORWARD_UPSTREAM_HEADER} is required")))?
        .parse()
        .map_err(ApiError::bad_request)?;
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let agent = backend.forward(hostname, target).await?;
    Ok(ws.on_upgrade(move |socket| bridge(socket, agent, RawBytes, CHUNK)))
}

/// Forwarded bytes go to the client as they arrive, one message per read.
struct RawBytes;

impl MessageCut for RawBytes {
    fn next_message(&mut self, buffer: &mut BytesMut) -> Result<Option<(Bytes, bool)>, String> {
        Ok((!buffer.is_empty()).then(|| (buffer.split().freeze(), false)))
    }
}
