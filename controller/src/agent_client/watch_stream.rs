//! [`WatchStream`]: the server-sent events of an fs watch, decoded into
//! [`FsWatchEvent`]s as they arrive. Heartbeat comments are skipped.

use hyper::body::Incoming;
use slicer_api::types::FsWatchEvent;

use super::error::AgentClientError;
use super::lines::BodyLines;

/// Longest SSE line accepted.
const MAX_LINE_LEN: usize = 1024 * 1024;
const OPERATION: &str = "GET /v1/fs/watch";

/// The events of one watch.
#[derive(Debug)]
pub struct WatchStream {
    lines: BodyLines,
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
        Self {
            lines: BodyLines::new(body, MAX_LINE_LEN, OPERATION),
        }
    }

    /// The next event, or `None` when the agent closed the watch.
    pub async fn next_event(&mut self) -> Option<Result<FsWatchEvent, AgentClientError>> {
        let mut record = Record::default();
        loop {
            let line = match self.lines.next_line().await? {
                Ok(line) => line,
                Err(err) => return Some(Err(err)),
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
