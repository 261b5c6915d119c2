//! `GET /v1/fs/watch`: inotify changes as server-sent events.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use slicer_api::types::duration::parse_go_duration;
use slicer_api::types::query::from_query;
use slicer_api::types::{FsWatchEvent, FsWatchEventType, FsWatchQuery};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::AgentState;
use crate::error::AgentError;
use crate::exec::output::now;
use crate::files::paths;
use crate::files::watch::Watcher;
use crate::files::watch_filter::{Debouncer, WatchFilter};

/// Debounce window when `debounce` is absent.
const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(200);
/// Idle time after which a heartbeat comment is sent.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// What ends a watch besides the client leaving.
#[derive(Debug, Clone, Copy)]
struct Limits {
    one_shot: bool,
    max_events: Option<u64>,
    deadline: Option<Instant>,
}

fn duration(name: &str, value: Option<&str>) -> Result<Option<Duration>, AgentError> {
    value
        .map(|v| {
            parse_go_duration(v).ok_or_else(|| {
                AgentError::BadQuery(format!(
                    "invalid {name} {v:?}: expected a Go duration such as 200ms"
                ))
            })
        })
        .transpose()
}

/// Watch paths and stream their changes.
pub async fn watch(
    State(_): State<Arc<AgentState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AgentError> {
    let query: FsWatchQuery = from_query(query.as_deref().unwrap_or(""))
        .map_err(|e| AgentError::BadQuery(e.to_string()))?;
    if let Some(last) = headers.get("last-event-id") {
        // Checked as upstream does, then ignored: ids restart per connection.
        let valid = last
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        if valid.is_none() {
            return Err(AgentError::BadQuery(
                "Last-Event-ID must be an unsigned integer".into(),
            ));
        }
    }
    if query.paths.is_empty() {
        return Err(AgentError::BadQuery("paths is required".into()));
    }
    let paths: Vec<PathBuf> = query
        .paths
        .iter()
        .map(|p| paths::checked(p))
        .collect::<Result<_, _>>()?;
    let filter = WatchFilter::new(&query.events, &query.patterns)?;
    let debounce = duration("debounce", query.debounce.as_deref())?.unwrap_or(DEFAULT_DEBOUNCE);
    let timeout = duration("timeout", query.timeout.as_deref())?;
    let limits = Limits {
        one_shot: query.one_shot.unwrap_or(false),
        max_events: query.max_events.filter(|n| *n > 0),
        deadline: timeout.map(|t| Instant::now() + t),
    };
    let watcher = Watcher::new(&paths, query.recursive.unwrap_or(false))?;
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(run(watcher, filter, debounce, limits, tx));
    let body = Body::from_stream(ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>));
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// The SSE record of one event.
pub fn sse_record(event: &FsWatchEvent) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("id: {}\nevent: watch\ndata: {data}\n\n", event.id))
}

fn event(id: u64, kind: FsWatchEventType, path: String) -> FsWatchEvent {
    let meta = std::fs::symlink_metadata(&path).ok();
    FsWatchEvent {
        id,
        kind,
        timestamp: now(),
        size: meta
            .as_ref()
            .map_or(0, |m| i64::try_from(m.size()).unwrap_or(i64::MAX)),
        is_dir: meta.as_ref().is_some_and(std::fs::Metadata::is_dir),
        path,
        message: None,
    }
}

async fn run(
    mut watcher: Watcher,
    filter: WatchFilter,
    debounce: Duration,
    limits: Limits,
    tx: mpsc::Sender<Bytes>,
) {
    let mut debouncer = Debouncer::new(debounce);
    let mut sent = 0u64;
    let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        let due = debouncer.next_due().map(Instant::from_std);
        tokio::select! {
            events = watcher.next_events() => match events {
                Ok(events) => {
                    let seen = std::time::Instant::now();
                    for e in events {
                        if filter.accepts(e.kind, &e.path) {
                            debouncer.push(e.kind, e.path.to_string_lossy().into_owned(), seen);
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "fs watch ended");
                    return;
                }
            },
            () = sleep_until(due), if due.is_some() => {}
            _ = heartbeat.tick() => {
                if tx.send(Bytes::from_static(b":\n\n")).await.is_err() {
                    return;
                }
            }
            () = sleep_until(limits.deadline), if limits.deadline.is_some() => return,
            () = tx.closed() => return,
        }
        for (kind, path) in debouncer.take_due(std::time::Instant::now()) {
            sent += 1;
            if tx.send(sse_record(&event(sent, kind, path))).await.is_err() {
                return;
            }
            heartbeat.reset();
            if limits.one_shot || limits.max_events.is_some_and(|max| sent >= max) {
                return;
            }
        }
        if watcher.is_empty() && debouncer.next_due().is_none() {
            return;
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_sse_with_matching_ids() {
        let e = FsWatchEvent {
            id: 7,
            kind: FsWatchEventType::Write,
            path: "/a".into(),
            timestamp: "t".into(),
            size: 1,
            is_dir: false,
            message: None,
        };
        assert_eq!(
            sse_record(&e),
            "id: 7\nevent: watch\ndata: {\"id\":7,\"type\":\"write\",\"path\":\"/a\",\"timestamp\":\"t\",\"size\":1,\"isDir\":false}\n\n"
        );
    }

    #[tokio::test]
    async fn debounced_writes_become_one_event_and_max_events_closes() {
        let dir = tempfile::tempdir().unwrap();
        let watcher = Watcher::new(&[dir.path().to_owned()], false).unwrap();
        let filter = WatchFilter::new(&["write".into()], &[]).unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let limits = Limits {
            one_shot: false,
            max_events: Some(2),
            deadline: Some(Instant::now() + Duration::from_secs(5)),
        };
        let task = tokio::spawn(run(watcher, filter, Duration::from_millis(300), limits, tx));
        let file = dir.path().join("f");
        for i in 0..5 {
            std::fs::write(&file, format!("{i}")).unwrap();
        }
        let first = String::from_utf8(rx.recv().await.unwrap().to_vec()).unwrap();
        assert!(first.starts_with("id: 1\nevent: watch\n"), "{first}");
        assert!(first.contains("\"type\":\"write\""));
        std::fs::write(dir.path().join("g"), b"x").unwrap();
        let second = String::from_utf8(rx.recv().await.unwrap().to_vec()).unwrap();
        assert!(second.contains("/g"), "{second}");
        // max_events=2 ends the stream.
        assert!(rx.recv().await.is_none());
        task.await.unwrap();
    }
}
