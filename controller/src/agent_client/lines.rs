//! [`BodyLines`]: the lines of a streamed agent answer (NDJSON frames,
//! server-sent events), read as they arrive.

use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyDataStream;
use hyper::body::Incoming;
use tokio_util::codec::{FramedRead, LinesCodec};
use tokio_util::io::StreamReader;

use super::error::AgentClientError;

type Lines = FramedRead<
    StreamReader<
        futures_util::stream::MapErr<BodyDataStream<Incoming>, fn(hyper::Error) -> std::io::Error>,
        bytes::Bytes,
    >,
    LinesCodec,
>;

/// The lines of the body answering one operation.
#[derive(Debug)]
pub(super) struct BodyLines {
    lines: Lines,
    operation: &'static str,
}

fn to_io(err: hyper::Error) -> std::io::Error {
    std::io::Error::other(err)
}

impl BodyLines {
    /// The lines of `body`, each at most `max_line_len` bytes, answering
    /// `operation` (named in errors).
    pub(super) fn new(body: Incoming, max_line_len: usize, operation: &'static str) -> Self {
        let data = BodyDataStream::new(body).map_err(to_io as fn(hyper::Error) -> std::io::Error);
        Self {
            lines: FramedRead::new(
                StreamReader::new(data),
                LinesCodec::new_with_max_length(max_line_len),
            ),
            operation,
        }
    }

    /// What the body answers, for errors about its content.
    pub(super) fn operation(&self) -> &'static str {
        self.operation
    }

    /// The next line without its line ending, or `None` when the agent
    /// closed the body.
    pub(super) async fn next_line(&mut self) -> Option<Result<String, AgentClientError>> {
        let line = self.lines.next().await?;
        Some(line.map_err(|err| AgentClientError::Body {
            operation: self.operation.into(),
            source: std::io::Error::other(err),
        }))
    }
}
