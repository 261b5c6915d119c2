//! [`AgentClient`] calls for filesystem operations and watches.

use http::Method;
use slicer_api::types::{FsEntry, FsMkdirRequest, FsPathQuery, FsRemoveQuery, FsWatchQuery};

use super::body::empty_body;
use super::client::{AgentClient, drain, json_body, with_query};
use super::error::AgentClientError;
use super::watch_stream::WatchStream;

impl AgentClient {
    /// List a directory (404 when it does not exist).
    pub async fn fs_readdir(&self, path: &str) -> Result<Vec<FsEntry>, AgentClientError> {
        let op = "GET /v1/fs/readdir";
        let query = FsPathQuery { path: path.into() };
        let uri = with_query("/v1/fs/readdir", &query, op)?;
        let response = self.call(Method::GET, uri, empty_body(), None, op).await?;
        json_body(response, op).await
    }

    /// Stat a path; a 404 ([`AgentClientError::agent_status`]) means it
    /// does not exist.
    pub async fn fs_stat(&self, path: &str) -> Result<FsEntry, AgentClientError> {
        let op = "GET /v1/fs/stat";
        let query = FsPathQuery { path: path.into() };
        let uri = with_query("/v1/fs/stat", &query, op)?;
        let response = self.call(Method::GET, uri, empty_body(), None, op).await?;
        json_body(response, op).await
    }

    /// Create a directory.
    pub async fn fs_mkdir(&self, request: &FsMkdirRequest) -> Result<(), AgentClientError> {
        let op = "POST /v1/fs/mkdir";
        let response = self
            .call_json(Method::POST, "/v1/fs/mkdir".into(), request, op)
            .await?;
        drain(response, op).await
    }

    /// Remove a path (a directory with its contents when `recursive`).
    pub async fn fs_remove(&self, path: &str, recursive: bool) -> Result<(), AgentClientError> {
        let op = "DELETE /v1/fs/remove";
        let query = FsRemoveQuery {
            path: path.into(),
            recursive: Some(recursive),
        };
        let uri = with_query("/v1/fs/remove", &query, op)?;
        let response = self
            .call(Method::DELETE, uri, empty_body(), None, op)
            .await?;
        drain(response, op).await
    }

    /// Watch paths; events arrive as they are sent, until the watch ends
    /// (one_shot, max_events, timeout) or the stream is dropped.
    pub async fn fs_watch(&self, query: &FsWatchQuery) -> Result<WatchStream, AgentClientError> {
        Ok(WatchStream::new(self.fs_watch_body(query).await?))
    }

    /// The raw `text/event-stream` body of [`Self::fs_watch`], for relaying
    /// it unchanged (heartbeats included).
    pub async fn fs_watch_body(
        &self,
        query: &FsWatchQuery,
    ) -> Result<hyper::body::Incoming, AgentClientError> {
        let op = "GET /v1/fs/watch";
        let uri = with_query("/v1/fs/watch", query, op)?;
        let response = self
            .call_streaming(Method::GET, uri, empty_body(), None, op)
            .await?;
        Ok(response.into_body())
    }
}
