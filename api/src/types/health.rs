//! Agent health, as served by the agent and relayed by `GET /vm/{h}/health`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `SlicerAgentHealthResponse`: what the guest agent reports about itself.
///
/// Uptimes are int64 **nanoseconds** (`reference/slicer.md` §11 item 14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentHealth {
    /// The guest's hostname.
    pub hostname: String,
    /// Nanoseconds since the agent started.
    pub agent_uptime: i64,
    /// Version string of `slicer-agent`.
    pub agent_version: String,
    /// Nanoseconds since the guest kernel booted.
    pub system_uptime: i64,
    /// Whether userdata has finished on this disk (marker present).
    pub userdata_ran: bool,
    /// Exit code of userdata; `null` while it has not finished.
    pub userdata_exit_code: Option<i32>,
    /// The guest's primary IPv4 address, bare (no prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}
