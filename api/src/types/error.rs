//! The one error body every slicer HTTP endpoint (daemon and agent) returns.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// JSON error body: `{"error": "...", "code": "..."}`.
///
/// `error` is a human-readable, lowercase message naming the object and the
/// cause; `code` is a stable machine-readable identifier, present only where
/// one exists (see `reference/slicer.md` §11 item 17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// Stable machine code such as `bad_request` or `not_found`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ErrorBody {
    /// An error body with a message and a stable code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            error: message.into(),
            code: Some(code.to_owned()),
        }
    }
}
