//! `GET /vm/{hostname}/forward` (`reference/slicer.md` §7.9): one tunnel
//! per WebSocket to `X-Inlets-Upstream` inside the guest, raw bytes both
//! ways as binary messages.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Guest;
use crate::server::{ApiError, GuestConnection};
use crate::types::{FORWARD_UPSTREAM_HEADER, ForwardTarget};

/// How long the bridge waits for the guest side to close after the client left.
const AGENT_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

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
    Ok(ws.on_upgrade(move |socket| bridge(socket, agent)))
}

async fn bridge(socket: WebSocket, agent: GuestConnection) {
    let (mut agent_rx, mut agent_tx) = tokio::io::split(agent);
    let (mut ws_tx, mut ws_rx) = socket.split();
    let to_agent = async {
        while let Some(Ok(message)) = ws_rx.next().await {
            let open = match message {
                Message::Binary(bytes) => agent_tx.write_all(&bytes).await.is_ok(),
                Message::Close(_) => false,
                _ => true,
            };
            if !open {
                break;
            }
        }
        let _ = agent_tx.shutdown().await;
        tokio::time::sleep(AGENT_CLOSE_WAIT).await;
    };
    let to_client = async {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        loop {
            buf.clear();
            match agent_rx.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if ws_tx
                .send(Message::Binary(buf.split().freeze()))
                .await
                .is_err()
            {
                break;
            }
        }
        let _ = ws_tx.send(Message::Close(None)).await;
    };
    tokio::select! {
        () = to_agent => {}
        () = to_client => {}
    }
}
