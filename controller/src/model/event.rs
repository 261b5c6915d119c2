//! [`EventLog`]: what the controllers did and why (adopted a VM, relaunched
//! a dead one, removed an orphaned TAP), kept in the store so `slicer` can
//! show it after the fact.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

const EVENTS_TREE: &str = "events";
/// Events kept; older ones are dropped.
const EVENTS_KEPT: usize = 10_000;

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339 time.
    pub time: String,
    /// The object, e.g. `vms/web-1`.
    pub object: String,
    /// A short machine-readable reason, e.g. `Adopted`.
    pub reason: String,
    /// What happened, for people.
    pub message: String,
}

/// The event log in the store.
#[derive(Debug, Clone)]
pub struct EventLog {
    store: Store,
}

impl EventLog {
    /// The event log of `store`.
    pub fn new(store: &Store) -> Self {
        Self {
            store: store.clone(),
        }
    }

    /// Record an event; also logged with `tracing`. A failure to store it
    /// is logged and otherwise ignored: events are a diagnostic.
    pub fn record(&self, object: &str, reason: &str, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(object, reason, "{message}");
        let event = Event {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            object: object.to_owned(),
            reason: reason.to_owned(),
            message,
        };
        if let Err(err) = self.append(&event) {
            tracing::warn!(error = %err, "cannot store event");
        }
    }

    fn append(&self, event: &Event) -> Result<(), StoreError> {
        let tree = self.store.raw_tree(EVENTS_TREE)?;
        let seq = self.store.next_counter(EVENTS_TREE)?;
        let bytes = serde_json::to_vec(event).map_err(|source| StoreError::Corrupt {
            kind: EVENTS_TREE,
            name: event.object.clone(),
            source,
        })?;
        let db_err = |source| StoreError::Db {
            kind: EVENTS_TREE,
            name: event.object.clone(),
            source,
        };
        tree.insert(seq.to_be_bytes(), bytes).map_err(db_err)?;
        if tree.len() > EVENTS_KEPT
            && let Some((oldest, _)) = tree.first().map_err(db_err)?
        {
            tree.remove(oldest).map_err(db_err)?;
        }
        Ok(())
    }

    /// Every stored event, oldest first, optionally only those of objects
    /// starting with `prefix`.
    pub fn list(&self, prefix: Option<&str>) -> Result<Vec<Event>, StoreError> {
        let tree = self.store.raw_tree(EVENTS_TREE)?;
        let mut out = Vec::new();
        for entry in tree.iter().values() {
            let bytes = entry.map_err(|source| StoreError::Db {
                kind: EVENTS_TREE,
                name: String::new(),
                source,
            })?;
            let event: Event =
                serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                    kind: EVENTS_TREE,
                    name: String::new(),
                    source,
                })?;
            if prefix.is_none_or(|p| event.object.starts_with(p)) {
                out.push(event);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_kept_in_order_and_filtered() {
        let store = Store::temporary().unwrap();
        let log = EventLog::new(&store);
        log.record("vms/a-1", "Adopted", "pid 1");
        log.record("vms/b-1", "Relaunched", "pid 2");
        log.record("vms/a-1", "Deleted", "gone");
        let all = log.list(None).unwrap();
        assert_eq!(
            all.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(),
            ["Adopted", "Relaunched", "Deleted"]
        );
        assert_eq!(log.list(Some("vms/a-")).unwrap().len(), 2);
    }
}
