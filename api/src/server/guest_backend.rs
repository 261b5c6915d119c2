//! [`GuestBackend`]: what the guest-facing REST routes (background exec,
//! copy, fs, watch, shell, forward) need from the daemon. Each call finds
//! the VM (404), refuses one that is paused or not running (409) and
//! relays to its agent, passing the agent's status and message through.
//!
//! Streams (logs, downloads, watch events) come back as bodies relayed as
//! they arrive, so nothing is buffered whole; shell and forward come back
//! as a raw agent connection the route bridges onto a WebSocket.

use async_trait::async_trait;
use axum::body::Body;
use tokio::io::{AsyncRead, AsyncWrite};

use super::ApiError;
use crate::types::{
    CopyQuery, CopySource, ExecBackgroundInfo, ExecKillRequest, ExecKillResponse, ExecLogsQuery,
    ExecQuery, ExecReapResponse, ExecStarted, ExecWaitQuery, ExecWaitResult, ForwardTarget,
    FsEntry, FsMkdirRequest, FsRemoveQuery, FsWatchQuery, ShellQuery,
};

/// A raw, bidirectional connection to a guest agent after an upgrade.
pub trait GuestIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> GuestIo for T {}

/// A boxed [`GuestIo`].
pub type GuestConnection = Box<dyn GuestIo>;

/// A download from the guest: the body streams as the agent sends it.
#[derive(Debug)]
pub struct GuestDownload {
    /// The file's mode (binary downloads), sent as `X-Slicer-File-Mode`.
    pub mode: Option<u32>,
    /// The file's bytes, or the tar stream.
    pub body: Body,
    /// cp-v1 modes: what the source is, sent as `X-Slicer-Source-Type`
    /// and `X-Slicer-Source-Name-Base64`.
    pub source: Option<CopySource>,
}

/// The daemon side of the guest-facing routes.
#[async_trait]
pub trait GuestBackend: Send + Sync + 'static {
    /// `POST /vm/{hostname}/exec?background=true`: 201 with the exec.
    async fn exec_background(
        &self,
        hostname: String,
        query: ExecQuery,
    ) -> Result<ExecStarted, ApiError>;

    /// `GET /vm/{hostname}/exec`: every exec not yet reaped.
    async fn exec_list(&self, hostname: String) -> Result<Vec<ExecBackgroundInfo>, ApiError>;

    /// `GET /vm/{hostname}/exec/{exec_id}` (410 once reaped).
    async fn exec_info(
        &self,
        hostname: String,
        exec_id: String,
    ) -> Result<ExecBackgroundInfo, ApiError>;

    /// `DELETE /vm/{hostname}/exec/{exec_id}`: free the ring, no signal.
    async fn exec_reap(
        &self,
        hostname: String,
        exec_id: String,
    ) -> Result<ExecReapResponse, ApiError>;

    /// `GET /vm/{hostname}/exec/{exec_id}/logs`: NDJSON frames, relayed.
    async fn exec_logs(
        &self,
        hostname: String,
        exec_id: String,
        query: ExecLogsQuery,
    ) -> Result<Body, ApiError>;

    /// `POST /vm/{hostname}/exec/{exec_id}/kill`.
    async fn exec_kill(
        &self,
        hostname: String,
        exec_id: String,
        request: ExecKillRequest,
    ) -> Result<ExecKillResponse, ApiError>;

    /// `GET /vm/{hostname}/exec/{exec_id}/wait-exit`.
    async fn exec_wait_exit(
        &self,
        hostname: String,
        exec_id: String,
        query: ExecWaitQuery,
    ) -> Result<ExecWaitResult, ApiError>;

    /// `POST /vm/{hostname}/cp`: stream `body` (a file or a tar) into the
    /// guest; `unpacked_size` is `X-Slicer-Unpacked-Size`, when sent.
    async fn upload(
        &self,
        hostname: String,
        query: CopyQuery,
        unpacked_size: Option<u64>,
        body: Body,
    ) -> Result<(), ApiError>;

    /// `GET /vm/{hostname}/cp`: stream a file or a tar out of the guest.
    async fn download(&self, hostname: String, query: CopyQuery)
    -> Result<GuestDownload, ApiError>;

    /// `GET /vm/{hostname}/fs/readdir`.
    async fn fs_readdir(&self, hostname: String, path: String) -> Result<Vec<FsEntry>, ApiError>;

    /// `GET /vm/{hostname}/fs/stat` (404: the path does not exist).
    async fn fs_stat(&self, hostname: String, path: String) -> Result<FsEntry, ApiError>;

    /// `POST /vm/{hostname}/fs/mkdir`.
    async fn fs_mkdir(&self, hostname: String, request: FsMkdirRequest) -> Result<(), ApiError>;

    /// `DELETE /vm/{hostname}/fs/remove`.
    async fn fs_remove(&self, hostname: String, query: FsRemoveQuery) -> Result<(), ApiError>;

    /// `GET /vm/{hostname}/fs/watch`: the agent's `text/event-stream`,
    /// relayed as it streams.
    async fn fs_watch(&self, hostname: String, query: FsWatchQuery) -> Result<Body, ApiError>;

    /// `GET /vm/{hostname}/shell`: a started shell speaking Slicer's shell
    /// framing (`reference/slicer.md` §7.8) on a raw connection.
    async fn shell(&self, hostname: String, query: ShellQuery)
    -> Result<GuestConnection, ApiError>;

    /// `GET /vm/{hostname}/forward`: one tunnel to `target` inside the guest.
    async fn forward(
        &self,
        hostname: String,
        target: ForwardTarget,
    ) -> Result<GuestConnection, ApiError>;
}
