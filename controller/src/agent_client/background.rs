//! [`AgentClient`] calls for background execs: start, list, status, logs,
//! kill, wait-exit and reap.

use std::time::Duration;

use http::Method;
use slicer_api::types::background::{DEFAULT_WAIT_SECS, MAX_WAIT_SECS};
use slicer_api::types::{
    ExecBackgroundInfo, ExecKillRequest, ExecKillResponse, ExecLogsQuery, ExecQuery,
    ExecReapResponse, ExecStarted, ExecWaitQuery, ExecWaitResult,
};

use super::body::empty_body;
use super::client::{AgentClient, json_body, with_query};
use super::error::AgentClientError;
use super::exec_stream::ExecStream;

/// Slack on top of a wait-exit timeout for the answer to travel back.
const WAIT_SLACK: Duration = Duration::from_secs(10);

fn exec_path(exec_id: &str, suffix: &str) -> String {
    // Exec ids are server-chosen tokens; escape anything that would change the path.
    let id: String = exec_id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("/v1/exec/{id}{suffix}")
}

impl AgentClient {
    /// Start `query` detached (`background=true` is set for you). The agent
    /// answers 400 for `stdin`/`buffered`, 503 when the ring budget is spent.
    pub async fn exec_background(
        &self,
        query: &ExecQuery,
    ) -> Result<ExecStarted, AgentClientError> {
        let op = "POST /v1/exec?background=true";
        let mut query = query.clone();
        query.background = Some(true);
        let uri = with_query("/v1/exec", &query, op)?;
        let response = self.call(Method::POST, uri, empty_body(), None, op).await?;
        json_body(response, op).await
    }

    /// Every background exec not yet reaped.
    pub async fn exec_list(&self) -> Result<Vec<ExecBackgroundInfo>, AgentClientError> {
        let op = "GET /v1/exec";
        let response = self
            .call(Method::GET, "/v1/exec".into(), empty_body(), None, op)
            .await?;
        json_body(response, op).await
    }

    /// Status of one background exec (410 once reaped).
    pub async fn exec_info(&self, exec_id: &str) -> Result<ExecBackgroundInfo, AgentClientError> {
        let op = "GET /v1/exec/{id}";
        let response = self
            .call(Method::GET, exec_path(exec_id, ""), empty_body(), None, op)
            .await?;
        json_body(response, op).await
    }

    /// Replay (or with `follow`, follow) an exec's ring. Frames carry `id`;
    /// a `gap` frame comes first when `from_id` was evicted.
    pub async fn exec_logs(
        &self,
        exec_id: &str,
        query: &ExecLogsQuery,
    ) -> Result<ExecStream, AgentClientError> {
        let body = self.exec_logs_body(exec_id, query).await?;
        Ok(ExecStream::for_operation(body, "GET /v1/exec/{id}/logs"))
    }

    /// The raw NDJSON body of [`Self::exec_logs`], for relaying it unchanged.
    pub async fn exec_logs_body(
        &self,
        exec_id: &str,
        query: &ExecLogsQuery,
    ) -> Result<hyper::body::Incoming, AgentClientError> {
        let op = "GET /v1/exec/{id}/logs";
        let uri = with_query(&exec_path(exec_id, "/logs"), query, op)?;
        let response = self
            .call_streaming(Method::GET, uri, empty_body(), None, op)
            .await?;
        Ok(response.into_body())
    }

    /// Signal an exec's process group (`TERM` escalates to `KILL` after
    /// `grace_ms`).
    pub async fn exec_kill(
        &self,
        exec_id: &str,
        request: &ExecKillRequest,
    ) -> Result<ExecKillResponse, AgentClientError> {
        let op = "POST /v1/exec/{id}/kill";
        let response = self
            .call_json(Method::POST, exec_path(exec_id, "/kill"), request, op)
            .await?;
        json_body(response, op).await
    }

    /// Wait up to `timeout_secs` (default 30, at most 600) for an exec to
    /// exit; `timed_out` says the caller may call again.
    pub async fn exec_wait_exit(
        &self,
        exec_id: &str,
        timeout_secs: Option<u64>,
    ) -> Result<ExecWaitResult, AgentClientError> {
        let op = "GET /v1/exec/{id}/wait-exit";
        let query = ExecWaitQuery {
            timeout: timeout_secs,
        };
        let uri = with_query(&exec_path(exec_id, "/wait-exit"), &query, op)?;
        let secs = timeout_secs.unwrap_or(DEFAULT_WAIT_SECS).min(MAX_WAIT_SECS);
        let call = self.call_streaming(Method::GET, uri, empty_body(), None, op);
        let response = tokio::time::timeout(Duration::from_secs(secs) + WAIT_SLACK, call)
            .await
            .map_err(|_| AgentClientError::Body {
                operation: op.into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {secs}s plus {WAIT_SLACK:?}"),
                ),
            })??;
        json_body(response, op).await
    }

    /// Reap an exec: free its ring without signalling it. Later calls for
    /// it answer 410.
    pub async fn exec_reap(&self, exec_id: &str) -> Result<ExecReapResponse, AgentClientError> {
        let op = "DELETE /v1/exec/{id}";
        let response = self
            .call(
                Method::DELETE,
                exec_path(exec_id, ""),
                empty_body(),
                None,
                op,
            )
            .await?;
        json_body(response, op).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_ids_are_escaped_into_the_path() {
        assert_eq!(exec_path("bg-1-ff", "/logs"), "/v1/exec/bg-1-ff/logs");
        assert_eq!(exec_path("a/b c", ""), "/v1/exec/a%2Fb%20c");
    }
}
