//! `POST /apply`: how `slicer apply -f hosts.yaml` changes host groups at
//! runtime. The daemon validates the whole file, then writes every change
//! in one transaction, or nothing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Body of `POST /apply`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyRequest {
    /// The file name, used in error messages.
    pub file: String,
    /// The YAML text (a Slicer config with `config.host_groups`).
    pub yaml: String,
    /// Only report what would change.
    #[serde(default)]
    pub dry_run: bool,
    /// Delete stored groups that are not in the file.
    #[serde(default)]
    pub prune: bool,
}

/// What happened (or would happen) to one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplyAction {
    /// New group.
    Created,
    /// Spec changed.
    Updated,
    /// Same spec as stored.
    Unchanged,
    /// Removed by `prune`.
    Deleted,
}

/// One group's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyChange {
    /// Group name.
    pub group: String,
    /// What happens to it.
    pub action: ApplyAction,
    /// Changed fields as `field: old -> new`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

/// Answer of `POST /apply`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyResponse {
    /// Whether anything was written.
    pub applied: bool,
    /// Every group of the file (and pruned ones).
    pub changes: Vec<ApplyChange>,
}
