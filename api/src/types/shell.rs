//! Interactive shell: the query of `GET /vm/{h}/shell` and Slicer's shell
//! framing (`reference/slicer.md` §7.8, §11 item 45), shared by the agent
//! and every client so both ends encode frames the same way.
//!
//! On the agent the framing runs over a raw HTTP/1.1 upgrade
//! ([`SHELL_UPGRADE_PROTOCOL`]); the daemon carries the same frames in
//! binary WebSocket messages.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `Upgrade:` token of the agent's shell endpoint.
pub const SHELL_UPGRADE_PROTOCOL: &str = "slicer-shell";

/// Largest payload accepted in one frame; a longer length is a protocol
/// error rather than an allocation of up to 4 GiB.
pub const MAX_SHELL_FRAME_PAYLOAD: usize = 1024 * 1024;

/// Bytes of a frame header: 1 type byte and a 4-byte big-endian length.
pub const SHELL_FRAME_HEADER_LEN: usize = 5;

/// Query of the shell endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShellQuery {
    /// Run as this uid (default root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Run with this gid (default: the user's primary group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Shell to run (default: the user's login shell, else `/bin/sh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Working directory (default: the user's home, else `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

/// One shell frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellFrame {
    /// `0x01`: terminal bytes, input from the client or output to it.
    Data(Vec<u8>),
    /// `0x02`: the client's terminal size.
    WindowSize {
        /// Columns.
        cols: u32,
        /// Rows.
        rows: u32,
    },
    /// `0x03`: either side ends the PTY.
    Shutdown,
    /// `0x04`: keep-alive; needs no reply.
    Heartbeat,
    /// `0x05`: the shell ended; the sender closes the connection next.
    Close,
    /// A type this side does not know; receivers ignore it.
    Unknown(u8, Vec<u8>),
}

/// Why bytes could not be decoded as shell frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, displaydoc::Display)]
pub enum ShellFrameError {
    /// shell frame of type {kind:#04x} announces {len} bytes, over the limit of {limit}
    TooLong {
        /// Frame type.
        kind: u8,
        /// Announced payload length.
        len: usize,
        /// [`MAX_SHELL_FRAME_PAYLOAD`].
        limit: usize,
    },
    /// window size frame has {0} payload bytes, expected 8
    BadWindowSize(usize),
}

impl ShellFrame {
    /// The frame's type byte.
    pub fn kind(&self) -> u8 {
        match self {
            Self::Data(_) => 0x01,
            Self::WindowSize { .. } => 0x02,
            Self::Shutdown => 0x03,
            Self::Heartbeat => 0x04,
            Self::Close => 0x05,
            Self::Unknown(kind, _) => *kind,
        }
    }

    /// Append the encoded frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut size = [0u8; 8];
        let payload: &[u8] = match self {
            Self::Data(bytes) | Self::Unknown(_, bytes) => bytes,
            Self::WindowSize { cols, rows } => {
                size[..4].copy_from_slice(&cols.to_be_bytes());
                size[4..].copy_from_slice(&rows.to_be_bytes());
                &size
            }
            Self::Shutdown | Self::Heartbeat | Self::Close => &[],
        };
        out.push(self.kind());
        // Payloads over 4 GiB cannot be framed; senders chunk data far below that.
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
    }

    /// The encoded frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decode the first frame of `buf`: `Ok(None)` when more bytes are
    /// needed, else the frame and how many bytes it used.
    pub fn decode(buf: &[u8]) -> Result<Option<(Self, usize)>, ShellFrameError> {
        let Some(header) = buf.get(..SHELL_FRAME_HEADER_LEN) else {
            return Ok(None);
        };
        let kind = header[0];
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if len > MAX_SHELL_FRAME_PAYLOAD {
            return Err(ShellFrameError::TooLong {
                kind,
                len,
                limit: MAX_SHELL_FRAME_PAYLOAD,
            });
        }
        let Some(payload) = buf.get(SHELL_FRAME_HEADER_LEN..SHELL_FRAME_HEADER_LEN + len) else {
            return Ok(None);
        };
        let frame = match kind {
            0x01 => Self::Data(payload.to_vec()),
            0x02 => {
                let bytes: [u8; 8] = payload
                    .try_into()
                    .map_err(|_| ShellFrameError::BadWindowSize(len))?;
                Self::WindowSize {
                    cols: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
                    rows: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
                }
            }
            0x03 => Self::Shutdown,
            0x04 => Self::Heartbeat,
            0x05 => Self::Close,
            other => Self::Unknown(other, payload.to_vec()),
        };
        Ok(Some((frame, SHELL_FRAME_HEADER_LEN + len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let frames = [
            ShellFrame::Data(b"echo hi\n".to_vec()),
            ShellFrame::WindowSize {
                cols: 132,
                rows: 43,
            },
            ShellFrame::Shutdown,
            ShellFrame::Heartbeat,
            ShellFrame::Close,
            ShellFrame::Unknown(0x09, vec![1, 2]),
        ];
        let mut wire = Vec::new();
        for f in &frames {
            f.encode_into(&mut wire);
        }
        let mut at = 0;
        for f in &frames {
            let (got, used) = ShellFrame::decode(&wire[at..]).unwrap().unwrap();
            assert_eq!(&got, f);
            at += used;
        }
        assert_eq!(at, wire.len());
    }

    #[test]
    fn window_size_is_cols_then_rows_big_endian() {
        assert_eq!(
            ShellFrame::WindowSize { cols: 80, rows: 24 }.encode(),
            [2, 0, 0, 0, 8, 0, 0, 0, 80, 0, 0, 0, 24]
        );
    }

    #[test]
    fn partial_input_waits_and_oversized_is_refused() {
        let wire = ShellFrame::Data(b"abc".to_vec()).encode();
        for cut in 0..wire.len() {
            assert_eq!(ShellFrame::decode(&wire[..cut]).unwrap(), None);
        }
        let huge = [1u8, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            ShellFrame::decode(&huge),
            Err(ShellFrameError::TooLong { .. })
        ));
        assert_eq!(
            ShellFrame::decode(&[2, 0, 0, 0, 1, 9]),
            Err(ShellFrameError::BadWindowSize(1))
        );
    }
}
