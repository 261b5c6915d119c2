//! [`WatchStream`]: the server-sent events of an fs watch, decoded into
//! [`FsWatchEvent`]s as they arrive. Heartbeat comments are skipped.

use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyDataStream;
use hyper::body::Incoming;
use slicer_api::types::FsWatchEvent;
use tokio_util::codec::{FramedRead, LinesCodec};
use tokio_util::io::StreamReader;

use super::error::AgentClientError;

/// Longest SSE line accepted.
const MAX_LINE_LEN: usize = 1024 * 1024;
const OPERATION: &str = "GET /v1/fs/watch";

type Lines = FramedRead<
    StreamReader<
        futures_util::stream::MapErr<BodyDataStream<Incoming>, fn(hyper::Error) -> std::io::Error>,
        bytes::Bytes,
    >,
    LinesCodec,
>;

/// The events of one watch.
#[derive(Debug)]
pub struct WatchStream {
    lines: Lines,
}

fn to_io(err: hyper::Error) -> std::io::Error {
    std::io::Error::other(err)
}

/// Collects the fields of one SSE record until its blank line.
#[derive(Debug, Default)]
struct Record {
    event: Option<String>,
    data: Vec<String>,
}

impl Record {
    /// Feed one line; returns the finished record's data on a blank line.
    fn feed(&mut self, line: &str) -> Option<(Option<String>, String)> {
        if line.is_empty() {
            let record = std::mem::take(self);
            return (!record.data.is_empty()).then(|| (record.event, record.data.join("\n")));
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
        None
    }
}

impl WatchStream {
    pub(super) fn new(body: Incoming) -> Self {
        let data = BodyDataStream::new(body).map_err(to_io as fn(hyper::Error) -> std::io::Error);
        Self {
            lines: FramedRead::new(
                StreamReader::new(data),
                LinesCodec::new_with_max_length(MAX_LINE_LEN),
            ),
        }
    }

    /// The next event, or `None` when the agent closed the watch.
    pub async fn next_event(&mut self) -> Option<Result<FsWatchEvent, AgentClientError>> {
        let mut record = Record::default();
        loop {
            let line = match self.lines.next().await? {
                Ok(line) => line,
                Err(err) => {
                    return Some(Err(AgentClientError::Body {
                        operation: OPERATION.into(),
                        source: std::io::Error::other(err),
                    }));
                }
            };
            let Some((event, data)) = record.feed(line.trim_end_matches('\r')) else {
                continue;
            };
            if event.as_deref().is_some_and(|e| e != "watch") {
                continue;
            }
            return Some(
                serde_json::from_str(&data).map_err(|source| AgentClientError::Decode {
                    operation: OPERATION.into(),
                    source,
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_end_at_blank_lines_and_comments_are_skipped() {
        let mut r = Record::default();
        assert_eq!(r.feed(":"), None);
        assert_eq!(r.feed(""), None);
        assert_eq!(r.feed("id: 1"), None);
        assert_eq!(r.feed("event: watch"), None);
        assert_eq!(r.feed("data: {\"a\":1}"), None);
        assert_eq!(
            r.feed(""),
            Some((Some("watch".to_owned()), "{\"a\":1}".to_owned()))
        );
    }
}
