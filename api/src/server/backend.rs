//! [`Backend`]: everything the REST routes need from the daemon. The
//! controller implements it on top of the store (desired state in, status
//! out) and the agent client.

use async_trait::async_trait;
use axum::body::Body;
use futures_util::stream::BoxStream;

use super::ApiError;
use crate::types::{
    ApplyRequest, ApplyResponse, BufferedExecResult, CreateNodeQuery, CreateNodeRequest,
    CreateNodeResponse, DeleteResponse, ExecFrame, ExecQuery, HostGroupInfo, InfoResponse,
    NodeInfo, TagFilter,
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
}
