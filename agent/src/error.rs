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
    /// {operation} failed on {path}: {source}
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
            Self::Io { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::Body(_) => (StatusCode::BAD_REQUEST, "bad_body"),
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        }
    }
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        tracing::debug!(%status, error = %self, "request failed");
        (status, Json(ErrorBody::new(code, self.to_string()))).into_response()
    }
}
