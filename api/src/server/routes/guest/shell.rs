//! `GET /vm/{hostname}/shell` (`reference/slicer.md` §7.8): a PTY shell
//! over a WebSocket. Every binary message carries one shell frame; the
//! agent speaks the same framing on its upgraded connection, so the
//! bridge only splits the agent's byte stream at frame boundaries.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Guest;
use crate::server::routes::nodes::parse_query;
use crate::server::{ApiError, GuestConnection};
use crate::types::{ShellFrame, ShellQuery};

/// How long the bridge waits for the agent to close after the client left.
const AGENT_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /vm/{hostname}/shell?uid=&gid=&shell=&cwd=`. The shell starts
/// before the 101, so a bad uid or a paused VM is an ordinary error answer.
pub(in crate::server::routes) async fn shell(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let query: ShellQuery = parse_query(raw)?;
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let agent = backend.shell(hostname, query).await?;
    Ok(ws.on_upgrade(move |socket| bridge(socket, agent)))
}

async fn bridge(socket: WebSocket, agent: GuestConnection) {
    let (mut agent_rx, mut agent_tx) = tokio::io::split(agent);
    let (mut ws_tx, mut ws_rx) = socket.split();
    let to_agent = async {
        while let Some(Ok(message)) = ws_rx.next().await {
            let open = match message {
                Message::Binary(frame) => agent_tx.write_all(&frame).await.is_ok(),
                Message::Close(_) => false,
                _ => true,
            };
            if !open {
                break;
            }
        }
        // The agent ends the shell when its input ends; its close frame
        // and EOF then finish the other direction.
        let _ = agent_tx.shutdown().await;
        tokio::time::sleep(AGENT_CLOSE_WAIT).await;
    };
    let to_client = async {
        let mut buf = BytesMut::with_capacity(32 * 1024);
        'read: loop {
            match agent_rx.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            loop {
                match ShellFrame::decode(&buf) {
                    Ok(Some((frame, used))) => {
                        let bytes = buf.split_to(used).freeze();
                        if ws_tx.send(Message::Binary(bytes)).await.is_err() {
                            break 'read;
                        }
                        if frame == ShellFrame::Close {
                            break 'read;
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::debug!(error = %err, "bad shell frame from the agent");
                        break 'read;
                    }
                }
            }
        }
        let _ = ws_tx.send(Message::Close(None)).await;
    };
    tokio::select! {
        () = to_agent => {}
        () = to_client => {}
    }
}
