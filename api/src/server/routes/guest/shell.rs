//! `GET /vm/{hostname}/shell` (`reference/slicer.md` §7.8): a PTY shell
//! over a WebSocket. Every binary message carries one shell frame; the
//! agent speaks the same framing on its upgraded connection, so the
//! bridge only splits the agent's byte stream at frame boundaries.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};

use super::Guest;
use super::websocket_bridge::{MessageCut, bridge};
use crate::server::ApiError;
use crate::server::routes::nodes::parse_query;
use crate::types::{ShellFrame, ShellQuery};

/// Agent output read at once.
const CHUNK: usize = 32 * 1024;

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
    Ok(ws.on_upgrade(move |socket| bridge(socket, agent, ShellFrames, CHUNK)))
}

/// Shell output goes to the client one frame per message; the agent's
/// close frame is the last.
struct ShellFrames;

impl MessageCut for ShellFrames {
    fn next_message(&mut self, buffer: &mut BytesMut) -> Result<Option<(Bytes, bool)>, String> {
        match ShellFrame::decode(buffer) {
            Ok(Some((frame, used))) => {
                let bytes = buffer.split_to(used).freeze();
                Ok(Some((bytes, frame == ShellFrame::Close)))
            }
            Ok(None) => Ok(None),
            Err(err) => Err(format!("bad shell frame: {err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_at_frame_boundaries_and_close_is_last() {
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&ShellFrame::Data(b"hi".to_vec()).encode());
        buffer.extend_from_slice(&ShellFrame::Close.encode());
        let partial = ShellFrame::Data(b"tail".to_vec()).encode();
        buffer.extend_from_slice(&partial[..3]);
        let mut cut = ShellFrames;
        let (first, last) = cut.next_message(&mut buffer).unwrap().unwrap();
        assert_eq!(
            ShellFrame::decode(&first).unwrap().unwrap().0,
            ShellFrame::Data(b"hi".to_vec())
        );
        assert!(!last);
        let (_, last) = cut.next_message(&mut buffer).unwrap().unwrap();
        assert!(last, "the close frame ends the bridge");
        assert!(
            cut.next_message(&mut buffer).unwrap().is_none(),
            "a partial frame waits"
        );
    }
}
