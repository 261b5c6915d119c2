//! [`GroupError`]: why a host-group reconcile failed.

use crate::network::NetworkError;
use crate::store::StoreError;

/// Why a host-group reconcile failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum GroupError {
    /// store access failed for host group {group}
    Store {
        /// The group.
        group: String,
        /// The underlying error.
        #[source]
        source: StoreError,
    },
    /// cannot set up the bridge of host group {group}
    Network {
        /// The group.
        group: String,
        /// The underlying error.
        #[source]
        source: NetworkError,
    },
    /// host group {group} still has {remaining} VMs being deleted
    VmsRemain {
        /// The group.
        group: String,
        /// How many are left.
        remaining: usize,
    },
}

impl GroupError {
    pub(super) fn store(group: &str) -> impl Fn(StoreError) -> Self + '_ {
        move |source| Self::Store {
            group: group.to_owned(),
            source,
        }
    }
}
