//! [`ExecStream`]: the NDJSON frames of a streaming exec or of a
//! background exec's logs, decoded as they arrive.

use hyper::body::Incoming;
use slicer_api::types::ExecFrame;

use super::error::AgentClientError;
use super::lines::BodyLines;

/// Longest NDJSON line accepted from an agent.
const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// The frames of one streaming exec.
#[derive(Debug)]
pub struct ExecStream {
    lines: BodyLines,
}

impl ExecStream {
    pub(super) fn new(body: Incoming) -> Self {
        Self::for_operation(body, "POST /v1/exec")
    }

    /// The frames of `body`, answering `operation` (named in errors).
    pub(super) fn for_operation(body: Incoming, operation: &'static str) -> Self {
        Self {
            lines: BodyLines::new(body, MAX_FRAME_LEN, operation),
        }
    }

    /// The next frame, or `None` when the agent closed the stream.
    pub async fn next_frame(&mut self) -> Option<Result<ExecFrame, AgentClientError>> {
        loop {
            let line = match self.lines.next_line().await? {
                Ok(line) => line,
                Err(err) => return Some(Err(err)),
            };
            if line.trim().is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str(&line).map_err(|source| AgentClientError::Decode {
                    operation: self.lines.operation().into(),
                    source,
                }),
            );
        }
    }
}
