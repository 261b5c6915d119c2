//! Background exec: the bodies and queries of `POST /vm/{h}/exec?background=true`
//! and the `/vm/{h}/exec/{exec_id}…` endpoints (`reference/slicer.md` §7.4).
//!
//! Log frames reuse [`ExecFrame`](super::ExecFrame) with its `id` set.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Ring size used when `ring_bytes` is absent or `0`.
pub const DEFAULT_RING_BYTES: u64 = 1024 * 1024;

/// Bytes all background rings of one agent may hold together.
pub const RING_BUDGET_BYTES: u64 = 256 * 1024 * 1024;

/// Default `timeout` of wait-exit, in seconds.
pub const DEFAULT_WAIT_SECS: u64 = 30;

/// Largest `timeout` of wait-exit, in seconds; larger values are clamped.
pub const MAX_WAIT_SECS: u64 = 600;

/// Default `grace_ms` of a `TERM` kill before it escalates to `KILL`.
pub const DEFAULT_KILL_GRACE_MS: u64 = 5000;

/// The 201 answer to a background exec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecStarted {
    /// Opaque id naming the exec in later calls.
    pub exec_id: String,
    /// Process id (also the process group and session id).
    pub pid: u32,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Size of the exec's ring buffer.
    pub ring_bytes: u64,
}

/// Status of one background exec (`ExecBackgroundInfo` upstream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecBackgroundInfo {
    /// Opaque id.
    pub exec_id: String,
    /// Process id.
    pub pid: u32,
    /// The `cmd` as given.
    pub command: String,
    /// The `args` as given.
    pub args: Vec<String>,
    /// Working directory the process started in.
    pub cwd: String,
    /// User the process runs as.
    pub uid: u32,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Whether the process is still alive.
    pub running: bool,
    /// Exit code once it ended (128 + n when killed by signal n).
    pub exit_code: Option<i32>,
    /// Signal that ended it (`SIGKILL`), if any.
    #[serde(default)]
    pub signal: Option<String>,
    /// RFC 3339 end time once it ended.
    pub ended_at: Option<String>,
    /// Bytes of frames written to the ring so far.
    pub bytes_written: u64,
    /// Bytes of frames evicted from the ring so far.
    pub bytes_dropped: u64,
    /// Id the next log frame will get.
    pub next_id: u64,
    /// Size of the ring.
    pub ring_bytes: u64,
}

/// Query of `GET /vm/{h}/exec/{id}/logs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecLogsQuery {
    /// Keep the stream open with live frames until the process exits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<bool>,
    /// Start the replay at this frame id (frame ids start at 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_id: Option<u64>,
}

/// Body of `POST /vm/{h}/exec/{id}/kill`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecKillRequest {
    /// `TERM` (default), `KILL`, `INT`, `HUP`, `QUIT`, `USR1` or `USR2`;
    /// a `SIG` prefix is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// With `TERM`: how long to wait before escalating to `KILL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_ms: Option<u64>,
}

/// Answer to a kill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecKillResponse {
    /// The exec.
    pub exec_id: String,
    /// Its process (group) id.
    pub pid: u32,
    /// Whether it was still running when the signal was sent.
    pub running: bool,
    /// The signal sent (`SIGTERM`), or null when the process had already exited.
    pub signal_sent: Option<String>,
}

/// Query of `GET /vm/{h}/exec/{id}/wait-exit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecWaitQuery {
    /// Seconds to wait (default 30, at most 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// Answer to wait-exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecWaitResult {
    /// The exec.
    pub exec_id: String,
    /// Whether it is still running (then `timed_out` is true).
    pub running: bool,
    /// Exit code once it ended.
    pub exit_code: Option<i32>,
    /// Signal that ended it.
    pub signal: Option<String>,
    /// RFC 3339 end time once it ended.
    pub ended_at: Option<String>,
    /// The wait ended because `timeout` passed; call again to keep waiting.
    pub timed_out: bool,
}

/// Answer to `DELETE /vm/{h}/exec/{id}` (reap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecReapResponse {
    /// The exec.
    pub exec_id: String,
    /// Always true: the entry and its ring are gone.
    pub reaped: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::query::from_query;

    #[test]
    fn info_keeps_null_fields_on_the_wire() {
        let info = ExecBackgroundInfo {
            exec_id: "e1".into(),
            pid: 7,
            command: "sleep".into(),
            args: vec!["5".into()],
            cwd: "/".into(),
            uid: 0,
            started_at: "t".into(),
            running: true,
            exit_code: None,
            signal: None,
            ended_at: None,
            bytes_written: 0,
            bytes_dropped: 0,
            next_id: 1,
            ring_bytes: DEFAULT_RING_BYTES,
        };
        let json = serde_json::to_value(&info).unwrap();
        assert!(json["exit_code"].is_null());
        assert!(json["ended_at"].is_null());
        assert_eq!(
            serde_json::from_value::<ExecBackgroundInfo>(json).unwrap(),
            info
        );
    }

    #[test]
    fn logs_query_parses() {
        let q: ExecLogsQuery = from_query("follow=true&from_id=3").unwrap();
        assert_eq!(q.follow, Some(true));
        assert_eq!(q.from_id, Some(3));
    }
}
