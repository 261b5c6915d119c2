//! [`AgentError`]: every failure a request can meet, mapped in one place to
//! an HTTP status and the JSON error body.

use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use slicer_api::types::ErrorBody;

/// Why a request failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum AgentError {
    /// invalid query: {0}
    BadQuery(String),
    /// unknown uid {0}: no entry in /etc/passwd
    UnknownUid(u32),
    /// invalid env item {0:?}: expected KEY=VALUE
    BadEnv(String),
    /// working directory {0} does not exist or is not a directory
    BadCwd(PathBuf),
    /// invalid path {path:?}: {reason}
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// {0} does not exist
    NotFound(PathBuf),
    /// {0}: must specify a file not a directory
    IsDirectory(PathBuf),
    /// invalid permissions {0:?}: expected an octal mode such as 0644
    BadMode(String),
    /// invalid secret {name:?}: {reason}
    BadSecret {
        /// The secret's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// request headers are {size} bytes, over the limit of {limit}
    HeadersTooLarge {
        /// Bytes of headers received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// tar entry {0:?} would escape the destination directory
    TarEscape(String),
    /// {0}
    CopyTarget(slicer_api::types::CopyTargetError),
    /// invalid X-Slicer-Unpacked-Size {0:?}: expected a byte count
    UnpackedSize(String),
    /// X-Slicer-Unpacked-Size {needed} bytes does not fit in {path}: {free} bytes free
    NoSpace {
        /// Bytes the upload announced.
        needed: u64,
        /// Where it would be written.
        path: PathBuf,
        /// Bytes free there for unprivileged writers (`f_bavail`).
        free: u64,
    },
    /// {operation} failed on {path}
    Io {
        /// What was being done.
        operation: &'static str,
        /// On which path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// reading the request body failed: {0}
    Body(String),
    /// cannot run {program}
    Spawn {
        /// The program.
        program: String,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// no background exec {0}
    ExecNotFound(String),
    /// background exec {0} was reaped
    ExecReaped(String),
    /// cannot start a background exec
    RingBudget(#[from] crate::exec::budget::RingBudgetError),
    /// invalid signal {0:?}: expected TERM, KILL, INT, HUP, QUIT, USR1 or USR2
    BadSignal(String),
    /// sending {signal} to background exec {exec_id} failed
    Signal {
        /// The exec.
        exec_id: String,
        /// The signal.
        signal: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// {0} already exists
    AlreadyExists(PathBuf),
    /// {0} is not a directory
    NotADirectory(PathBuf),
    /// directory {0} is not empty (use recursive=true)
    DirectoryNotEmpty(PathBuf),
    /// request needs an HTTP upgrade to {0} (Connection: Upgrade, Upgrade: {0})
    UpgradeRequired(&'static str),
    /// dialing forward target {target} failed
    Dial {
        /// The target as given.
        target: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl AgentError {
    /// An I/O error on `path` during `operation`; a missing path becomes
    /// [`AgentError::NotFound`].
    pub fn io(operation: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Self::NotFound(path)
        } else {
            Self::Io {
                operation,
                path,
                source,
            }
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::HeadersTooLarge { .. } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
            ),
            Self::Io { .. } | Self::Signal { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            Self::Spawn { .. } => (StatusCode::BAD_REQUEST, "spawn_failed"),
            Self::ExecNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::ExecReaped(_) => (StatusCode::GONE, "reaped"),
            Self::RingBudget(crate::exec::budget::RingBudgetError::Exhausted { .. }) => {
                (StatusCode::SERVICE_UNAVAILABLE, "ring_budget_exhausted")
            }
            Self::AlreadyExists(_) => (StatusCode::BAD_REQUEST, "already_exists"),
            Self::UpgradeRequired(_) => (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            Self::Dial { .. } => (StatusCode::BAD_GATEWAY, "dial_failed"),
            Self::Body(_) => (StatusCode::BAD_REQUEST, "bad_body"),
            Self::NoSpace { .. } => (StatusCode::BAD_REQUEST, "insufficient_space"),
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        }
    }
}

impl From<slicer_api::archive::UnpackError> for AgentError {
    fn from(err: slicer_api::archive::UnpackError) -> Self {
        use slicer_api::archive::UnpackError;
        match err {
            UnpackError::Escape(name) => Self::TarEscape(name),
            UnpackError::Read { dest, source } => Self::io("read tar", dest, source),
            UnpackError::Write { path, source } => Self::io("unpack", path, source),
        }
    }
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = chain(&self);
        tracing::debug!(%status, error = %message, "request failed");
        (status, Json(ErrorBody::new(code, message))).into_response()
    }
}

/// `error` and its sources as one line, `outer: cause: root`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
