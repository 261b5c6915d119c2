//! Daemon-to-agent messages that have no counterpart in Slicer's public API.
//!
//! The daemon↔agent protocol is ours (`reference/slicer.md` §11 item 1):
//! HTTP/1.1 over vsock port [`AGENT_VSOCK_PORT`], documented in
//! `docs/agent-protocol.md`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The vsock port the guest agent listens on.
pub const AGENT_VSOCK_PORT: u32 = 10789;

/// One secret to materialise in the guest at `/run/slicer/secrets/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecretFile {
    /// File name; a single path component.
    pub name: String,
    /// Contents, standard base64.
    pub data: String,
    /// Octal mode such as `0600`.
    #[serde(default = "default_secret_permissions")]
    pub permissions: String,
    /// Owner uid.
    #[serde(default)]
    pub uid: u32,
    /// Owner gid.
    #[serde(default)]
    pub gid: u32,
}

fn default_secret_permissions() -> String {
    "0600".to_owned()
}

/// Body of `POST /v1/provision`: what a guest needs on every boot.
///
/// Secrets are written first (replacing the previous set), then userdata is
/// started in the background unless `/etc/slicer/userdata-ran` exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProvisionRequest {
    /// Secrets granted to this VM.
    #[serde(default)]
    pub secrets: Vec<SecretFile>,
    /// First-boot bash script, run once per disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userdata: Option<String>,
}

/// What `POST /v1/provision` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProvisionResponse {
    /// Number of secrets written.
    pub secrets_written: usize,
    /// `started`, `already-ran` or `none`.
    pub userdata: UserdataState,
}

/// What happened to userdata on a provision call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UserdataState {
    /// It was started now.
    Started,
    /// It is already running from an earlier call.
    Running,
    /// The marker exists: it ran on an earlier boot of this disk.
    AlreadyRan,
    /// No userdata was given.
    None,
}

/// `action` of a shutdown request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShutdownAction {
    /// Power the guest off.
    #[default]
    Shutdown,
    /// Reboot the guest (a VM exit: the VMM runs with `-no-reboot`).
    Reboot,
}

/// Query of `POST /v1/shutdown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShutdownQuery {
    /// What to do; defaults to a poweroff.
    #[serde(default)]
    pub action: ShutdownAction,
}
