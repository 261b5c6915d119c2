//! File copy: query parameters of `/vm/{hostname}/cp` (relayed to the agent).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Response header carrying the octal mode of a downloaded file.
pub const FILE_MODE_HEADER: &str = "X-Slicer-File-Mode";

/// How the body of a copy is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CopyMode {
    /// The body is one file's bytes (`application/octet-stream`).
    #[default]
    Binary,
    /// The body is an uncompressed tar stream (`application/x-tar`).
    Tar,
}

/// Query parameters of a copy, upload (`POST`) or download (`GET`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CopyQuery {
    /// Absolute destination (upload) or source (download) path in the guest.
    pub path: String,
    /// `binary` (default) or `tar`.
    #[serde(default)]
    pub mode: CopyMode,
    /// Owner to give uploaded files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Group to give uploaded files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Octal mode to give an uploaded file, such as `0644`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
}
