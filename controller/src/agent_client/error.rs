//! Errors of agent calls.

use std::path::PathBuf;

use crate::vsock::HybridVsockError;

/// Why a call to a guest agent failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum AgentClientError {
    /// cannot reach the agent
    Vsock(#[from] HybridVsockError),
    /// http exchange with the agent behind {socket} failed during {operation}
    Http {
        /// The VM's vsock socket.
        socket: PathBuf,
        /// What we were doing (`GET /v1/health`).
        operation: String,
        /// The underlying error.
        #[source]
        source: hyper::Error,
    },
    /// the agent answered {operation} with {status}: {message}
    Agent {
        /// What we asked (`POST /v1/exec`).
        operation: String,
        /// HTTP status of the answer.
        status: http::StatusCode,
        /// The agent's error message.
        message: String,
    },
    /// cannot decode the agent's answer to {operation}
    Decode {
        /// What we asked.
        operation: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// cannot encode the request body of {operation}
    Encode {
        /// What we asked.
        operation: String,
        /// The encoding error.
        #[source]
        source: serde_json::Error,
    },
    /// cannot read the agent's answer to {operation}
    Body {
        /// What we asked.
        operation: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// cannot encode the query for {operation}
    Query {
        /// What we asked.
        operation: String,
        /// The encoding error.
        #[source]
        source: serde_html_form::ser::Error,
    },
    /// the agent behind {socket} was not ready after {waited:?} (last error: {last_error})
    NotReady {
        /// The VM's vsock socket.
        socket: PathBuf,
        /// How long we waited.
        waited: std::time::Duration,
        /// The last failure seen while polling.
        last_error: String,
    },
}

impl AgentClientError {
    /// The HTTP status the agent answered with, if it answered at all.
    pub fn agent_status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Agent { status, .. } => Some(*status),
            _ => None,
        }
    }
}
