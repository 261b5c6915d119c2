//! Secrets (`/secrets`, `reference/slicer.md` §7.10): files in the
//! daemon's store, copied into guests at `/run/slicer/secrets/<name>`.
//! Contents travel as base64 and are never listed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `Secret`: metadata of one stored secret (never its contents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecretInfo {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Octal mode such as `0600`.
    pub permissions: String,
    /// Owner uid in the guest.
    pub uid: u32,
    /// Owner gid in the guest.
    pub gid: u32,
    /// RFC 3339 time of the last change.
    pub mod_time: String,
}

/// `CreateSecretRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateSecretRequest {
    /// File name: letters, digits, `.`, `_`, `-`; not starting with `.`.
    pub name: String,
    /// Contents, standard base64.
    pub data: String,
    /// Octal mode (default `0600`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    /// Owner uid (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Owner gid (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

/// `UpdateSecretRequest`: every field optional; absent ones are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateSecretRequest {
    /// New contents, standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// New octal mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    /// New owner uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// New owner gid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}
