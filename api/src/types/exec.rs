//! Exec: the query parameters of `POST /vm/{hostname}/exec` (relayed to the
//! agent unchanged) and the NDJSON frames and buffered body it answers with.
//!
//! Frame shapes follow `reference/slicer.md` §7.4 exactly: typed frames
//! (`started`, `stdout`, `stderr`, `exit`) with the payload in `data`, and a
//! bare `{"error": ..., "exit_code": ...}` frame when the command could not
//! be started at all.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::query::keep_empty;

/// The default shell used when the `shell` parameter is absent.
pub const DEFAULT_SHELL: &str = "/bin/bash";

/// Query parameters of an exec request. Every option is a query parameter;
/// the body is only used for stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecQuery {
    /// Program, or a command string when a shell is used.
    pub cmd: String,
    /// Arguments, in order (`args=a&args=b`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Extra environment as `KEY=VALUE` items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Run as this uid (default root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Run with this gid (default: the user's primary group, or root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Working directory (default: the user's home, or `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Shell to run `cmd` through; absent means `/bin/bash`, empty means
    /// exec the program directly with argv = `cmd` + `args`.
    #[serde(
        default,
        deserialize_with = "keep_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub shell: Option<String>,
    /// Stream the request body to the process's stdin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<bool>,
    /// Capture stdout (default true; `false` discards it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<bool>,
    /// Capture stderr (default true; `false` discards it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<bool>,
    /// Payload encoding of output frames: `text` (default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdio: Option<OutputEncoding>,
    /// Return one JSON object instead of a stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffered: Option<bool>,
    /// Accepted for compatibility and ignored (`reference/slicer.md` §11 item 43).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    /// Start detached and answer 201 with an [`ExecStarted`](super::ExecStarted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    /// Ring size in bytes for background mode; `0` or absent means 1 MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_bytes: Option<u64>,
}

impl ExecQuery {
    /// The shell to use, or `None` for direct exec.
    pub fn effective_shell(&self) -> Option<&str> {
        match self.shell.as_deref() {
            None => Some(DEFAULT_SHELL),
            Some("") => None,
            Some(shell) => Some(shell),
        }
    }
}

/// How output payloads are encoded in frames and buffered results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputEncoding {
    /// UTF-8 text (invalid sequences replaced).
    #[default]
    Text,
    /// Standard base64 of the raw bytes: binary-safe.
    Base64,
}

/// The `type` of a typed exec frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecFrameKind {
    /// First frame: the process started.
    Started,
    /// A chunk of stdout.
    Stdout,
    /// A chunk of stderr.
    Stderr,
    /// Last frame: the process ended.
    Exit,
    /// Background-exec log replay skipped evicted frames.
    Gap,
}

/// One NDJSON exec frame (`SlicerExecWriteResult` upstream).
///
/// Every field is optional on the wire; the constructors produce the
/// frames the agent emits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecFrame {
    /// Frame type; absent on error frames and on legacy untyped frames.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ExecFrameKind>,
    /// Process id, on `started`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Output payload, on `stdout`/`stderr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// `base64` when `data` is base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<OutputEncoding>,
    /// RFC 3339 start time, on `started`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339 end time, on `exit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Name of the signal that ended the process (`SIGKILL`), on `exit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// RFC 3339 time of an output chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Legacy untyped stdout payload (read by clients, never emitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Legacy untyped stderr payload (read by clients, never emitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// Exit code, on `exit` and error frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why the command could not run, on error frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Monotonic frame id, on background-exec log frames only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Bytes skipped, on `gap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_bytes: Option<u64>,
    /// Frames skipped, on `gap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_frames: Option<u64>,
    /// Explanation, on `gap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ExecFrame {
    /// The first frame of a stream: the process started with `pid`.
    pub fn started(pid: u32, started_at: String) -> Self {
        Self {
            kind: Some(ExecFrameKind::Started),
            pid: Some(pid),
            started_at: Some(started_at),
            ..Self::default()
        }
    }

    /// An output chunk on `stream` (which must be `Stdout` or `Stderr`).
    pub fn output(
        stream: ExecFrameKind,
        data: String,
        encoding: OutputEncoding,
        timestamp: String,
    ) -> Self {
        Self {
            kind: Some(stream),
            data: Some(data),
            encoding: (encoding == OutputEncoding::Base64).then_some(encoding),
            timestamp: Some(timestamp),
            ..Self::default()
        }
    }

    /// The last frame of a stream: the process ended.
    pub fn exit(exit_code: i32, signal: Option<String>, ended_at: String) -> Self {
        Self {
            kind: Some(ExecFrameKind::Exit),
            exit_code: Some(exit_code),
            signal,
            ended_at: Some(ended_at),
            ..Self::default()
        }
    }

    /// A failure frame: the command could not be run at all.
    pub fn failure(error: impl Into<String>, exit_code: i32) -> Self {
        Self {
            error: Some(error.into()),
            exit_code: Some(exit_code),
            ..Self::default()
        }
    }

    /// The payload of an output frame, typed (`data`) or legacy
    /// (`stdout`/`stderr`), and which stream it belongs to.
    pub fn output_payload(&self) -> Option<(ExecFrameKind, &str)> {
        match (self.kind, &self.data, &self.stdout, &self.stderr) {
            (Some(k @ (ExecFrameKind::Stdout | ExecFrameKind::Stderr)), Some(d), _, _) => {
                Some((k, d.as_str()))
            }
            (Some(ExecFrameKind::Stdout) | None, None, Some(d), _) if !d.is_empty() => {
                Some((ExecFrameKind::Stdout, d.as_str()))
            }
            (Some(ExecFrameKind::Stderr) | None, None, _, Some(d)) if !d.is_empty() => {
                Some((ExecFrameKind::Stderr, d.as_str()))
            }
            _ => None,
        }
    }
}

/// Body of a buffered exec (`buffered=true`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BufferedExecResult {
    /// Everything the process wrote to stdout.
    pub stdout: String,
    /// Everything the process wrote to stderr.
    pub stderr: String,
    /// Exit code (128 + signal number when killed by a signal).
    pub exit_code: i32,
    /// Why the command could not run; empty when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `base64` when `stdout`/`stderr` are base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<OutputEncoding>,
    /// Process id, when the process started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Signal that ended the process, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::query::{from_query, to_query};

    #[test]
    fn repeated_args_and_empty_shell_round_trip() {
        let q: ExecQuery = from_query("cmd=ls&args=-l&args=/tmp&shell=&uid=1000").unwrap();
        assert_eq!(q.args, vec!["-l", "/tmp"]);
        assert_eq!(q.shell.as_deref(), Some(""));
        assert_eq!(q.effective_shell(), None);
        assert_eq!(q.uid, Some(1000));
        let back: ExecQuery = from_query(&to_query(&q).unwrap()).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn absent_shell_means_bash() {
        let q: ExecQuery = from_query("cmd=true").unwrap();
        assert_eq!(q.shell, None);
        assert_eq!(q.effective_shell(), Some(DEFAULT_SHELL));
    }

    #[test]
    fn frames_serialize_as_in_the_reference() {
        let f = ExecFrame::exit(0, None, "t".into());
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"type":"exit","ended_at":"t","exit_code":0}"#
        );
        let e = ExecFrame::failure("no such binary", 1);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"exit_code":1,"error":"no such binary"}"#
        );
    }

    #[test]
    fn legacy_frames_yield_their_payload() {
        let f: ExecFrame =
            serde_json::from_str(r#"{"timestamp":"t","stdout":"hi","stderr":"","exit_code":0}"#)
                .unwrap();
        assert_eq!(f.output_payload(), Some((ExecFrameKind::Stdout, "hi")));
    }
}
