//! [`ExecStream`]: the NDJSON frames of a streaming exec or of a
//! background exec's logs, decoded as they arrive.

use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyDataStream;
use hyper::body::Incoming;
use slicer_api::types::ExecFrame;
use tokio_util::codec::{FramedRead, LinesCodec};
use tokio_util::io::StreamReader;

use super::error::AgentClientError;

/// Longest NDJSON line accepted from an agent.
const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

type Lines = FramedRead<
    StreamReader<
        futures_util::stream::MapErr<BodyDataStream<Incoming>, fn(hyper::Error) -> std::io::Error>,
        bytes::Bytes,
    >,
    LinesCodec,
>;

/// The frames of one streaming exec.
#[derive(Debug)]
pub struct ExecStream {
    lines: Lines,
    operation: &'static str,
}

fn to_io(err: hyper::Error) -> std::io::Error {
    std::io::Error::other(err)
}

impl ExecStream {
    pub(super) fn new(body: Incoming) -> Self {
        Self::for_operation(body, "POST /v1/exec")
    }

    /// The frames of `body`, answering `operation` (named in errors).
    pub(super) fn for_operation(body: Incoming, operation: &'static str) -> Self {
        let data = BodyDataStream::new(body).map_err(to_io as fn(hyper::Error) -> std::io::Error);
        Self {
            lines: FramedRead::new(
                StreamReader::new(data),
                LinesCodec::new_with_max_length(MAX_FRAME_LEN),
            ),
            operation,
        }
    }

    /// The next frame, or `None` when the agent closed the stream.
    pub async fn next_frame(&mut self) -> Option<Result<ExecFrame, AgentClientError>> {
        loop {
            let line = match self.lines.next().await? {
                Ok(line) => line,
                Err(err) => {
                    return Some(Err(AgentClientError::Body {
                        operation: self.operation.into(),
                        source: std::io::Error::other(err),
                    }));
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str(&line).map_err(|source| AgentClientError::Decode {
                    operation: self.operation.into(),
                    source,
                }),
            );
        }
    }
}
