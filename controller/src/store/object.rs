//! The shape every stored object shares: metadata, a spec (desired state)
//! and a status (observed state), as in Kubernetes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A kind of stored object: its spec type names its sled tree and status.
pub trait Kind:
    Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static
{
    /// Name of the sled tree (and of the kind in messages), e.g. `vms`.
    const KIND: &'static str;
    /// The observed state reconcilers write.
    type Status: Serialize
        + DeserializeOwned
        + Clone
        + Default
        + PartialEq
        + std::fmt::Debug
        + Send
        + Sync;
}

/// Metadata common to every object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// Unique name within its kind.
    pub name: String,
    /// Bumped on every spec change; reconcilers record the generation they
    /// acted on as `observed_generation`.
    pub generation: u64,
    /// Bumped on every write; the compare-and-swap token.
    pub resource_version: u64,
    /// The generation the controller has fully acted on.
    #[serde(default)]
    pub observed_generation: u64,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// Set when deletion was requested while finalizers remained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_requested_at: Option<String>,
    /// Teardown that must finish before the object disappears.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Conditions reported by controllers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One observed condition (`Ready`, `Degraded`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it holds.
    pub status: bool,
    /// Machine-readable reason.
    pub reason: String,
    /// Human-readable detail.
    pub message: String,
    /// RFC 3339 time of the last change of `status`.
    pub last_transition: String,
}

/// A stored object of kind `K`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Object<K: Kind> {
    /// Metadata.
    pub meta: ObjectMeta,
    /// Desired state.
    pub spec: K,
    /// Observed state.
    #[serde(default)]
    pub status: K::Status,
}

impl<K: Kind> Object<K> {
    /// Whether deletion was requested.
    pub fn is_deleting(&self) -> bool {
        self.meta.deletion_requested_at.is_some()
    }

    /// Whether the controller has acted on the current spec.
    pub fn is_observed(&self) -> bool {
        self.meta.observed_generation >= self.meta.generation
    }

    /// Set condition `kind`, keeping its transition time when the status
    /// did not change.
    pub fn set_condition(
        &mut self,
        kind: &str,
        status: bool,
        reason: &str,
        message: impl Into<String>,
        now: &str,
    ) {
        let message = message.into();
        match self.meta.conditions.iter_mut().find(|c| c.kind == kind) {
            Some(existing) => {
                if existing.status != status {
                    existing.last_transition = now.to_owned();
                }
                existing.status = status;
                existing.reason = reason.to_owned();
                existing.message = message;
            }
            None => self.meta.conditions.push(Condition {
                kind: kind.to_owned(),
                status,
                reason: reason.to_owned(),
                message,
                last_transition: now.to_owned(),
            }),
        }
    }
}
