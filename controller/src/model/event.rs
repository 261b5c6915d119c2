//! [`EventLog`]: what the controllers did and why (adopted a VM, relaunched
//! a dead one, removed an orphaned TAP), kept in the store so `slicer` can
//! show it after the fact.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

const EVENTS_TREE: &str = "events";
/// Events kept; older ones are dropped.
const EVENTS_KEPT: u64 = 10_000;

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
    kept: u64,
}

impl EventLog {
    /// The event log of `store`, keeping the newest 10 000 events.
    pub fn new(store: &Store) -> Self {
        Self::keeping(store, EVENTS_KEPT)
    }

    /// The event log of `store`, keeping the newest `kept` events.
    fn keeping(store: &Store, kept: u64) -> Self {
        Self {
            store: store.clone(),
            kept,
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
        // Keys are dense sequence numbers, so everything below
        // `seq - kept` is old: a range scan touches only what it removes
        // (usually one key), where counting the tree (`sled::Tree::len`
        // iterates it) made every event cost O(events kept).
        let oldest_kept = (seq + 1).saturating_sub(self.kept);
        for key in tree.range(..oldest_kept.to_be_bytes()).keys() {
            tree.remove(key.map_err(db_err)?).map_err(db_err)?;
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

    #[test]
    fn only_the_newest_events_are_kept() {
        let store = Store::temporary().unwrap();
        let log = EventLog::keeping(&store, 3);
        for n in 1..=10 {
            log.record("vms/a-1", "Tick", format!("{n}"));
        }
        let kept = log.list(None).unwrap();
        assert_eq!(
            kept.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["8", "9", "10"]
        );
    }
}
