//! [`Backend`]: everything the REST routes need from the daemon. The
//! controller implements it on top of the store (desired state in, status
//! out) and the agent client.

use async_trait::async_trait;
use axum::body::Body;
use futures_util::stream::BoxStream;

use super::ApiError;
use crate::types::{
    AgentHealth, ApplyRequest, ApplyResponse, BufferedExecResult, CreateNodeQuery,
    CreateNodeRequest, CreateNodeResponse, CreateSecretRequest, DeleteResponse, ExecFrame,
    ExecQuery, HostGroupInfo, InfoResponse, LogsQuery, LogsResponse, NodeInfo, NodeStats,
    RestoreQuery, SecretInfo, TagFilter, TagPatch, UpdateSecretRequest, VmDescription,
    VmShutdownQuery, VmTags,
};

/// The output of an exec.
pub enum ExecOutput {
    /// NDJSON frames as they come.
    Stream(BoxStream<'static, ExecFrame>),
    /// One JSON object after the process exited.
    Buffered(BufferedExecResult),
}

impl std::fmt::Debug for ExecOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stream(_) => f.write_str("ExecOutput::Stream"),
            Self::Buffered(result) => f.debug_tuple("ExecOutput::Buffered").field(result).finish(),
        }
    }
}

/// The daemon behind the REST API.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `GET /info`.
    async fn info(&self) -> InfoResponse;

    /// `GET /hostgroup`.
    async fn host_groups(&self) -> Result<Vec<HostGroupInfo>, ApiError>;

    /// `GET /nodes` (`group` = None) and `GET /hostgroup/{group}/nodes`.
    async fn nodes(
        &self,
        group: Option<String>,
        filter: TagFilter,
    ) -> Result<Vec<NodeInfo>, ApiError>;

    /// `POST /hostgroup/{group}/nodes`.
    async fn create_node(
        &self,
        group: String,
        query: CreateNodeQuery,
        request: CreateNodeRequest,
    ) -> Result<CreateNodeResponse, ApiError>;

    /// `DELETE /hostgroup/{group}/nodes/{hostname}`.
    async fn delete_node(
        &self,
        group: String,
        hostname: String,
    ) -> Result<DeleteResponse, ApiError>;

    /// `POST /vm/{hostname}/exec` (foreground: streamed or buffered).
    async fn exec(
        &self,
        hostname: String,
        query: ExecQuery,
        stdin: Body,
    ) -> Result<ExecOutput, ApiError>;

    /// `POST /apply`: validate and apply a host-group file.
    async fn apply(&self, request: ApplyRequest) -> Result<ApplyResponse, ApiError>;

    /// `GET /apply`: the stored host groups as a config file (YAML) that
    /// `POST /apply` accepts unchanged.
    async fn stored_config(&self) -> Result<String, ApiError>;

    /// `GET /vm/{hostname}`.
    async fn describe(&self, hostname: String) -> Result<VmDescription, ApiError>;

    /// `GET /vm/{hostname}/tags`.
    async fn tags(&self, hostname: String) -> Result<VmTags, ApiError>;

    /// `PATCH /vm/{hostname}/tags`: one atomic edit.
    async fn patch_tags(&self, hostname: String, patch: TagPatch) -> Result<VmTags, ApiError>;

    /// `GET /vm/{hostname}/logs`.
    async fn logs(&self, hostname: String, query: LogsQuery) -> Result<LogsResponse, ApiError>;

    /// `GET|HEAD /vm/{hostname}/health`.
    async fn health(&self, hostname: String) -> Result<AgentHealth, ApiError>;

    /// `POST /vm/{hostname}/shutdown`: answers once the VM is stopped.
    async fn shutdown(&self, hostname: String, query: VmShutdownQuery) -> Result<String, ApiError>;

    /// `POST /vm/{hostname}/pause`: answers once the vCPUs are frozen.
    async fn pause(&self, hostname: String) -> Result<String, ApiError>;

    /// `POST /vm/{hostname}/resume`: answers once the VM runs again.
    async fn resume(&self, hostname: String) -> Result<String, ApiError>;

    /// `POST /vm/{hostname}/suspend`.
    async fn suspend(&self, hostname: String) -> Result<String, ApiError>;

    /// `POST /vm/{hostname}/restore`.
    async fn restore(&self, hostname: String, query: RestoreQuery) -> Result<String, ApiError>;

    /// `POST /vm/{hostname}/relaunch`: start a stopped VM on its disk.
    async fn relaunch(&self, hostname: String) -> Result<CreateNodeResponse, ApiError>;

    /// `GET /nodes/stats` (`hostname` = None) and `GET /node/{hostname}/stats`.
    async fn node_stats(&self, hostname: Option<String>) -> Result<Vec<NodeStats>, ApiError>;

    /// `GET /secrets`: metadata only.
    async fn secrets(&self) -> Result<Vec<SecretInfo>, ApiError>;

    /// `POST /secrets`.
    async fn create_secret(&self, request: CreateSecretRequest) -> Result<SecretInfo, ApiError>;

    /// `PATCH /secrets/{name}`.
    async fn update_secret(
        &self,
        name: String,
        request: UpdateSecretRequest,
    ) -> Result<SecretInfo, ApiError>;

    /// `DELETE /secrets/{name}`.
    async fn delete_secret(&self, name: String) -> Result<(), ApiError>;

    /// `GET /metrics`: Prometheus text exposition.
    async fn metrics(&self) -> Result<String, ApiError>;

    /// Called once per answered request, for `slicer_api_requests_total`
    /// and `slicer_api_request_duration_seconds`.
    fn observe_request(&self, method: &str, code: u16, seconds: f64) {
        let _ = (method, code, seconds);
    }
}
