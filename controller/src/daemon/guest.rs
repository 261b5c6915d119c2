//! [`GuestBackend`] for [`DaemonBackend`]: the guest-facing routes relayed
//! to the VM's agent over vsock. The VM must exist (404) and be running
//! (409 while paused or not running); the agent's own status and message
//! (400, 404, 410, 502, 503, …) are passed through unchanged.

use async_trait::async_trait;
use axum::body::Body;
use http::StatusCode;
use slicer_api::server::{ApiError, GuestBackend, GuestConnection, GuestDownload};
use slicer_api::types::{
    CopyQuery, ExecBackgroundInfo, ExecKillRequest, ExecKillResponse, ExecLogsQuery, ExecQuery,
    ExecReapResponse, ExecStarted, ExecWaitQuery, ExecWaitResult, ForwardTarget, FsEntry,
    FsMkdirRequest, FsRemoveQuery, FsWatchQuery, ShellQuery,
};

use super::backend::{DaemonBackend, stdin_body};
use crate::agent_client::{AgentClient, AgentClientError};
use crate::hypervisor::VmHandle;
use crate::model::VmPhase;

/// The stable error code the agent uses for `status` (`docs/agent-protocol.md`).
fn agent_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        410 => "reaped",
        426 => "upgrade_required",
        431 => "headers_too_large",
        502 => "dial_failed",
        503 => "ring_budget_exhausted",
        _ => "internal",
    }
}

/// An agent failure as the API answer: the agent's status and message
/// when it answered, else 502 naming what failed.
fn relay(hostname: &str, err: AgentClientError) -> ApiError {
    match err {
        AgentClientError::Agent {
            status, message, ..
        } => ApiError::new(status, agent_code(status), message),
        other => ApiError::agent(format!(
            "agent of vm {hostname}: {}",
            crate::lifecycle::error_chain(&other)
        )),
    }
}

impl DaemonBackend {
    /// The agent of a running VM: 404 unknown, 409 paused or not running.
    pub(super) fn agent(&self, hostname: &str) -> Result<AgentClient, ApiError> {
        let vm = self.vm(hostname)?;
        match vm.status.phase {
            VmPhase::Running => {}
            VmPhase::Paused => {
                return Err(ApiError::conflict(format!("vm {hostname} is paused")));
            }
            other => {
                return Err(ApiError::conflict(format!(
                    "vm {hostname} is not running ({other:?})"
                )));
            }
        }
        VmHandle::load(&self.ctx.data.run_dir(hostname))
            .ok()
            .flatten()
            .map(|handle| handle.agent())
            .ok_or_else(|| ApiError::conflict(format!("vm {hostname} has no running vmm")))
    }
}

#[async_trait]
impl GuestBackend for DaemonBackend {
    async fn exec_background(
        &self,
        hostname: String,
        query: ExecQuery,
    ) -> Result<ExecStarted, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .exec_background(&query)
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn exec_list(&self, hostname: String) -> Result<Vec<ExecBackgroundInfo>, ApiError> {
        let agent = self.agent(&hostname)?;
        agent.exec_list().await.map_err(|err| relay(&hostname, err))
    }

    async fn exec_info(
        &self,
        hostname: String,
        exec_id: String,
    ) -> Result<ExecBackgroundInfo, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .exec_info(&exec_id)
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn exec_reap(
        &self,
        hostname: String,
        exec_id: String,
    ) -> Result<ExecReapResponse, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .exec_reap(&exec_id)
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn exec_logs(
        &self,
        hostname: String,
        exec_id: String,
        query: ExecLogsQuery,
    ) -> Result<Body, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .exec_logs_body(&exec_id, &query)
            .await
            .map(Body::new)
            .map_err(|err| relay(&hostname, err))
    }

    async fn exec_kill(
        &self,
        hostname: String,
        exec_id: String,
        request: ExecKillRequest,
    ) -> Result<ExecKillResponse, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .exec_kill(&exec_id, &request)
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn exec_wait_exit(
        &self,
        hostname: String,
        exec_id: String,
        query: ExecWaitQuery,
    ) -> Result<ExecWaitResult, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .exec_wait_exit(&exec_id, query.timeout)
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn upload(
        &self,
        hostname: String,
        query: CopyQuery,
        unpacked_size: Option<u64>,
        body: Body,
    ) -> Result<(), ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .upload_sized(&query, unpacked_size, stdin_body(body))
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn download(
        &self,
        hostname: String,
        query: CopyQuery,
    ) -> Result<GuestDownload, ApiError> {
        let agent = self.agent(&hostname)?;
        let download = agent
            .download(&query)
            .await
            .map_err(|err| relay(&hostname, err))?;
        Ok(GuestDownload {
            mode: download.mode,
            source: download.source,
            body: Body::new(download.body),
        })
    }

    async fn fs_readdir(&self, hostname: String, path: String) -> Result<Vec<FsEntry>, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .fs_readdir(&path)
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn fs_stat(&self, hostname: String, path: String) -> Result<FsEntry, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .fs_stat(&path)
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn fs_mkdir(&self, hostname: String, request: FsMkdirRequest) -> Result<(), ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .fs_mkdir(&request)
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn fs_remove(&self, hostname: String, query: FsRemoveQuery) -> Result<(), ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .fs_remove(&query.path, query.recursive.unwrap_or(false))
            .await
            .map_err(|err| relay(&hostname, err))
    }

    async fn fs_watch(&self, hostname: String, query: FsWatchQuery) -> Result<Body, ApiError> {
        let agent = self.agent(&hostname)?;
        agent
            .fs_watch_body(&query)
            .await
            .map(Body::new)
            .map_err(|err| relay(&hostname, err))
    }

    async fn shell(
        &self,
        hostname: String,
        query: ShellQuery,
    ) -> Result<GuestConnection, ApiError> {
        let agent = self.agent(&hostname)?;
        let session = agent
            .shell(&query)
            .await
            .map_err(|err| relay(&hostname, err))?;
        // The route re-frames the bytes itself; hand over the raw stream.
        Ok(Box::new(session.into_inner()))
    }

    async fn forward(
        &self,
        hostname: String,
        target: ForwardTarget,
    ) -> Result<GuestConnection, ApiError> {
        let agent = self.agent(&hostname)?;
        let stream = agent
            .forward(&target)
            .await
            .map_err(|err| relay(&hostname, err))?;
        Ok(Box::new(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_answers_keep_their_status_and_message() {
        let err = relay(
            "sbox-1",
            AgentClientError::Agent {
                operation: "GET /v1/exec/{id}".into(),
                status: StatusCode::GONE,
                message: "exec bg-1 was reaped".into(),
            },
        );
        assert_eq!(err.status, StatusCode::GONE);
        assert_eq!(err.body.error, "exec bg-1 was reaped");
        assert_eq!(err.body.code.as_deref(), Some("reaped"));
    }
}
