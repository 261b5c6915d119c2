//! The one bridge between a client's WebSocket and an upgraded agent
//! connection, shared by shell and forward: client binary messages are
//! written to the agent as they come; the agent's byte stream is cut
//! into messages by a [`MessageCut`] (shell frames, or whatever bytes
//! arrived) and sent to the client. Either side closing ends the bridge.

use axum::extract::ws::{Message, WebSocket};
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::GuestConnection;

/// How long the bridge waits for the agent to close after the client left,
/// so output the agent still sends (a shell's close frame) reaches it.
const AGENT_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How the agent's byte stream becomes WebSocket messages.
pub(super) trait MessageCut: Send {
    /// Take the next whole message from the front of `buffer`, and say
    /// whether it is the last one; `Ok(None)` when more bytes are needed.
    /// An error ends the bridge.
    fn next_message(&mut self, buffer: &mut BytesMut) -> Result<Option<(Bytes, bool)>, String>;
}

/// Relay between `socket` and `agent` until either side closes, reading
/// the agent in chunks of up to `chunk` bytes.
pub(super) async fn bridge(
    socket: WebSocket,
    agent: GuestConnection,
    mut cut: impl MessageCut,
    chunk: usize,
) {
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
        // The agent ends its side when its input ends; its EOF then
        // finishes the other direction.
        let _ = agent_tx.shutdown().await;
        tokio::time::sleep(AGENT_CLOSE_WAIT).await;
    };
    let to_client = async {
        let mut buffer = BytesMut::with_capacity(chunk);
        'read: loop {
            buffer.reserve(chunk);
            match agent_rx.read_buf(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            loop {
                match cut.next_message(&mut buffer) {
                    Ok(Some((bytes, last))) => {
                        if ws_tx.send(Message::Binary(bytes)).await.is_err() || last {
                            break 'read;
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::debug!(error = %err, "bad data from the agent");
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
