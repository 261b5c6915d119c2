//! [`Store`]: typed, compare-and-swap access to the sled database.

use std::path::Path;
use std::time::SystemTime;

use tokio::sync::broadcast;

use super::error::StoreError;
use super::migrate;
use super::object::{Kind, Object, ObjectMeta};

/// Capacity of the change channel; a watcher that lags further behind is
/// told so and must resync (list everything).
const EVENT_CAPACITY: usize = 4096;

/// A committed change to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreEvent {
    /// Kind of the object ([`Kind::KIND`]).
    pub kind: &'static str,
    /// Name of the object.
    pub name: String,
}

/// What a delete request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The object had no finalizers and is gone.
    Removed,
    /// Deletion is pending until its finalizers are removed.
    Pending,
    /// There was no such object.
    Absent,
}

/// The store. Cheap to clone; all clones share one database.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    events: broadcast::Sender<StoreEvent>,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

impl Store {
    /// Open (or create) the store in directory `path` and migrate it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        Self::from_db(db)
    }

    /// A store that lives in memory and a temporary file, for tests and
    /// simulations.
    pub fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(|source| StoreError::Open {
                path: "(temporary)".into(),
                source,
            })?;
        Self::from_db(db)
    }

    fn from_db(db: sled::Db) -> Result<Self, StoreError> {
        migrate::migrate(&db)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Ok(Self { db, events })
    }

    /// Subscribe to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<StoreEvent> {
        self.events.subscribe()
    }

    /// Make every committed write durable now.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(drop).map_err(|source| StoreError::Db {
            kind: "store",
            name: String::new(),
            source,
        })
    }

    fn tree<K: Kind>(&self) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(K::KIND).map_err(|source| StoreError::Db {
            kind: K::KIND,
            name: String::new(),
            source,
        })
    }

    fn decode<K: Kind>(name: &str, bytes: &[u8]) -> Result<Object<K>, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
            kind: K::KIND,
            name: name.to_owned(),
            source,
        })
    }

    fn encode<K: Kind>(object: &Object<K>) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(object).map_err(|source| StoreError::Corrupt {
            kind: K::KIND,
            name: object.meta.name.clone(),
            source,
        })
    }

    fn announce<K: Kind>(&self, name: &str) {
        // No subscriber is fine: nothing is running that cares yet.
        let _ = self.events.send(StoreEvent {
            kind: K::KIND,
            name: name.to_owned(),
        });
    }

    /// One object, if it exists.
    pub fn get<K: Kind>(&self, name: &str) -> Result<Option<Object<K>>, StoreError> {
        let db_err = |source| StoreError::Db {
            kind: K::KIND,
            name: name.to_owned(),
            source,
        };
        match self.tree::<K>()?.get(name).map_err(db_err)? {
            Some(bytes) => Self::decode(name, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every object of kind `K`, ordered by name.
    pub fn list<K: Kind>(&self) -> Result<Vec<Object<K>>, StoreError> {
        let mut out = Vec::new();
        for entry in self.tree::<K>()?.iter() {
            let (key, bytes) = entry.map_err(|source| StoreError::Db {
                kind: K::KIND,
                name: String::new(),
                source,
            })?;
            out.push(Self::decode(&String::from_utf8_lossy(&key), &bytes)?);
        }
        Ok(out)
    }

    /// The objects of kind `K` whose names start with `prefix` and pass
    /// `keep`, ordered by name: a scan of that key range only, and only
    /// kept objects are decoded (a group's VMs are `<group>-<n>`).
    pub fn list_prefix<K: Kind>(
        &self,
        prefix: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Object<K>>, StoreError> {
        let mut out = Vec::new();
        for entry in self.tree::<K>()?.scan_prefix(prefix) {
            let (key, bytes) = entry.map_err(|source| StoreError::Db {
                kind: K::KIND,
                name: prefix.to_owned(),
                source,
            })?;
            let name = String::from_utf8_lossy(&key);
            if keep(&name) {
                out.push(Self::decode(&name, &bytes)?);
            }
        }
        Ok(out)
    }

    /// Names of every object of kind `K`.
    pub fn names<K: Kind>(&self) -> Result<Vec<String>, StoreError> {
        self.tree::<K>()?
            .iter()
            .keys()
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k).into_owned())
                    .map_err(|source| StoreError::Db {
                        kind: K::KIND,
                        name: String::new(),
                        source,
                    })
            })
            .collect()
    }

    /// Create object `name` with `spec`; fails if it exists.
    pub fn create<K: Kind>(&self, name: &str, spec: K) -> Result<Object<K>, StoreError> {
        let object = Object {
            meta: ObjectMeta {
                name: name.to_owned(),
                generation: 1,
                resource_version: 1,
                observed_generation: 0,
                created_at: now(),
                deletion_requested_at: None,
                finalizers: Vec::new(),
                conditions: Vec::new(),
            },
            spec,
            status: K::Status::default(),
        };
        let bytes = Self::encode(&object)?;
        let db_err = |source| StoreError::Db {
            kind: K::KIND,
            name: name.to_owned(),
            source,
        };
        match self
            .tree::<K>()?
            .compare_and_swap(name, None::<&[u8]>, Some(bytes))
            .map_err(db_err)?
        {
            Ok(()) => {
                self.announce::<K>(name);
                Ok(object)
            }
            Err(_) => Err(StoreError::AlreadyExists {
                kind: K::KIND,
                name: name.to_owned(),
            }),
        }
    }

    /// Apply `change` to the current object and write it back with a
    /// compare-and-swap, re-reading and retrying if another writer got
    /// there first. The resource version always bumps; the generation bumps
    /// when the spec changed. `change` may run several times.
    pub fn modify<K: Kind, E>(
        &self,
        name: &str,
        mut change: impl FnMut(&mut Object<K>) -> Result<(), E>,
    ) -> Result<Result<Object<K>, E>, StoreError> {
        let tree = self.tree::<K>()?;
        let db_err = |source| StoreError::Db {
            kind: K::KIND,
            name: name.to_owned(),
            source,
        };
        loop {
            let Some(old_bytes) = tree.get(name).map_err(db_err)? else {
                return Err(StoreError::NotFound {
                    kind: K::KIND,
                    name: name.to_owned(),
                });
            };
            let old = Self::decode::<K>(name, &old_bytes)?;
            let mut new = old.clone();
            if let Err(err) = change(&mut new) {
                return Ok(Err(err));
            }
            new.meta.name = old.meta.name.clone();
            if new == old {
                // A write that changes nothing is no write: no version bump
                // and no event, so a controller that records what it saw on
                // every pass does not wake itself up forever.
                return Ok(Ok(old));
            }
            new.meta.resource_version = old.meta.resource_version + 1;
            new.meta.generation = old.meta.generation + u64::from(new.spec != old.spec);
            let new_bytes = Self::encode(&new)?;
            if tree
                .compare_and_swap(name, Some(old_bytes), Some(new_bytes))
                .map_err(db_err)?
                .is_ok()
            {
                self.announce::<K>(name);
                return Ok(Ok(new));
            }
        }
    }

    /// Replace the spec, provided nobody wrote since `expected_version` was
    /// read (optimistic concurrency for callers that showed a user the old
    /// state).
    pub fn update_spec<K: Kind>(
        &self,
        name: &str,
        expected_version: u64,
        spec: K,
    ) -> Result<Object<K>, StoreError> {
        self.modify::<K, StoreError>(name, |object| {
            if object.meta.resource_version != expected_version {
                return Err(StoreError::Conflict {
                    kind: K::KIND,
                    name: name.to_owned(),
                    expected: expected_version,
                    actual: object.meta.resource_version,
                });
            }
            object.spec = spec.clone();
            Ok(())
        })?
    }

    /// Update the status (and conditions, observed generation) with
    /// `change`; retried on concurrent writes.
    pub fn update_status<K: Kind>(
        &self,
        name: &str,
        mut change: impl FnMut(&mut Object<K>),
    ) -> Result<Object<K>, StoreError> {
        self.modify::<K, std::convert::Infallible>(name, |object| {
            let spec = object.spec.clone();
            change(object);
            // Status writers never change the spec.
            object.spec = spec;
            Ok(())
        })?
        .map_err(|never| match never {})
    }

    /// Add finalizer `finalizer` if missing.
    pub fn add_finalizer<K: Kind>(
        &self,
        name: &str,
        finalizer: &str,
    ) -> Result<Object<K>, StoreError> {
        self.update_status::<K>(name, |object| {
            if !object.meta.finalizers.iter().any(|f| f == finalizer) {
                object.meta.finalizers.push(finalizer.to_owned());
            }
        })
    }

    /// Remove finalizer `finalizer`; if deletion was requested and none
    /// remain, the object is removed. Returns whether it still exists.
    pub fn remove_finalizer<K: Kind>(
        &self,
        name: &str,
        finalizer: &str,
    ) -> Result<bool, StoreError> {
        let object = match self.update_status::<K>(name, |object| {
            object.meta.finalizers.retain(|f| f != finalizer)
        }) {
            Ok(object) => object,
            Err(StoreError::NotFound { .. }) => return Ok(false),
            Err(err) => return Err(err),
        };
        if object.is_deleting() && object.meta.finalizers.is_empty() {
            self.remove_if_unchanged(&object)?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Request deletion: remove at once if no finalizers hold the object,
    /// else mark it and let its controller tear down.
    pub fn request_delete<K: Kind>(&self, name: &str) -> Result<DeleteOutcome, StoreError> {
        let marked = self.modify::<K, std::convert::Infallible>(name, |object| {
            object.meta.deletion_requested_at.get_or_insert_with(now);
            Ok(())
        });
        let object = match marked {
            Ok(Ok(object)) => object,
            Ok(Err(never)) => match never {},
            Err(StoreError::NotFound { .. }) => return Ok(DeleteOutcome::Absent),
            Err(err) => return Err(err),
        };
        if object.meta.finalizers.is_empty() {
            self.remove_if_unchanged(&object)?;
            return Ok(DeleteOutcome::Removed);
        }
        Ok(DeleteOutcome::Pending)
    }

    /// Remove `object` if it is still at the version we saw; a concurrent
    /// writer (say, adding a finalizer) wins and the removal is skipped.
    fn remove_if_unchanged<K: Kind>(&self, object: &Object<K>) -> Result<(), StoreError> {
        let name = &object.meta.name;
        let db_err = |source| StoreError::Db {
            kind: K::KIND,
            name: name.clone(),
            source,
        };
        let bytes = Self::encode(object)?;
        if self
            .tree::<K>()?
            .compare_and_swap(name, Some(bytes), None::<&[u8]>)
            .map_err(db_err)?
            .is_ok()
        {
            self.announce::<K>(name);
        }
        Ok(())
    }

    /// Write many specs of kind `K` in one transaction: each `(name, spec)`
    /// is created, updated (generation bumped) or left alone when equal;
    /// each name in `delete` gets its deletion requested (removed at once
    /// when no finalizer holds it). Either every write lands or none does.
    pub fn write_specs<K: Kind>(
        &self,
        upserts: &[(String, K)],
        delete: &[String],
    ) -> Result<(), StoreError> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        let tree = self.tree::<K>()?;
        let stamp = now();
        let result = tree.transaction(|tx| {
            let abort = |err: StoreError| ConflictableTransactionError::Abort(err);
            for (name, spec) in upserts {
                let object = match tx.get(name.as_bytes())? {
                    Some(bytes) => {
                        let mut object = Self::decode::<K>(name, &bytes).map_err(abort)?;
                        if object.spec == *spec {
                            continue;
                        }
                        object.spec = spec.clone();
                        object.meta.generation += 1;
                        object.meta.resource_version += 1;
                        object
                    }
                    None => Object {
                        meta: ObjectMeta {
                            name: name.clone(),
                            generation: 1,
                            resource_version: 1,
                            observed_generation: 0,
                            created_at: stamp.clone(),
                            deletion_requested_at: None,
                            finalizers: Vec::new(),
                            conditions: Vec::new(),
                        },
                        spec: spec.clone(),
                        status: K::Status::default(),
                    },
                };
                tx.insert(name.as_bytes(), Self::encode(&object).map_err(abort)?)?;
            }
            for name in delete {
                let Some(bytes) = tx.get(name.as_bytes())? else {
                    continue;
                };
                let mut object = Self::decode::<K>(name, &bytes).map_err(abort)?;
                if object.meta.finalizers.is_empty() {
                    tx.remove(name.as_bytes())?;
                } else if object.meta.deletion_requested_at.is_none() {
                    object.meta.deletion_requested_at = Some(stamp.clone());
                    object.meta.resource_version += 1;
                    tx.insert(name.as_bytes(), Self::encode(&object).map_err(abort)?)?;
                }
            }
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(err)) => return Err(err),
            Err(TransactionError::Storage(source)) => {
                return Err(StoreError::Db {
                    kind: K::KIND,
                    name: String::new(),
                    source,
                });
            }
        }
        for (name, _) in upserts {
            self.announce::<K>(name);
        }
        for name in delete {
            self.announce::<K>(name);
        }
        Ok(())
    }

    /// A raw sled tree for allocators that keep their own keyspace (IP
    /// leases) and need atomic per-key compare-and-swap.
    pub fn raw_tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(name).map_err(|source| StoreError::Db {
            kind: "tree",
            name: name.to_owned(),
            source,
        })
    }

    /// Read and bump a persistent counter (e.g. hostname numbers), atomically.
    pub fn next_counter(&self, counter: &str) -> Result<u64, StoreError> {
        let db_err = |source| StoreError::Db {
            kind: "counters",
            name: counter.to_owned(),
            source,
        };
        let tree = self.db.open_tree("counters").map_err(db_err)?;
        let value = tree
            .update_and_fetch(counter, |old| {
                let n = old
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(0, u64::from_be_bytes);
                Some((n + 1).to_be_bytes().to_vec())
            })
            .map_err(db_err)?;
        Ok(value
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map_or(1, u64::from_be_bytes))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Widget {
        size: u32,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    struct WidgetStatus {
        seen: u32,
    }

    impl Kind for Widget {
        const KIND: &'static str = "widgets";
        type Status = WidgetStatus;
    }

    #[test]
    fn create_get_list_and_duplicate_create() {
        let store = Store::temporary().unwrap();
        let created = store.create("a", Widget { size: 1 }).unwrap();
        assert_eq!(
            (created.meta.generation, created.meta.resource_version),
            (1, 1)
        );
        assert!(matches!(
            store.create("a", Widget { size: 2 }),
            Err(StoreError::AlreadyExists { .. })
        ));
        store.create("b", Widget { size: 2 }).unwrap();
        assert_eq!(store.get::<Widget>("a").unwrap().unwrap().spec.size, 1);
        assert_eq!(store.names::<Widget>().unwrap(), ["a", "b"]);
        assert_eq!(store.list::<Widget>().unwrap().len(), 2);
    }

    #[test]
    fn prefix_lists_decode_only_kept_names_in_range() {
        let store = Store::temporary().unwrap();
        for name in ["a-1", "a-2", "a-b-1", "ab-1", "b-1"] {
            store.create(name, Widget { size: 1 }).unwrap();
        }
        let names = |objects: Vec<Object<Widget>>| {
            objects.into_iter().map(|o| o.meta.name).collect::<Vec<_>>()
        };
        assert_eq!(
            names(store.list_prefix::<Widget>("a-", |_| true).unwrap()),
            ["a-1", "a-2", "a-b-1"]
        );
        assert_eq!(
            names(
                store
                    .list_prefix::<Widget>("a-", |n| !n.starts_with("a-b-"))
                    .unwrap()
            ),
            ["a-1", "a-2"]
        );
        assert!(
            store
                .list_prefix::<Widget>("c-", |_| true)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn spec_changes_bump_generation_status_changes_do_not() {
        let store = Store::temporary().unwrap();
        store.create("a", Widget { size: 1 }).unwrap();
        let after_status = store
            .update_status::<Widget>("a", |o| o.status.seen = 7)
            .unwrap();
        assert_eq!(
            (
                after_status.meta.generation,
                after_status.meta.resource_version
            ),
            (1, 2)
        );
        let after_spec = store.update_spec("a", 2, Widget { size: 5 }).unwrap();
        assert_eq!(
            (after_spec.meta.generation, after_spec.meta.resource_version),
            (2, 3)
        );
        assert_eq!(after_spec.status.seen, 7);
        let same_spec = store.update_spec("a", 3, Widget { size: 5 }).unwrap();
        assert_eq!(
            same_spec.meta.generation, 2,
            "an unchanged spec keeps its generation"
        );
    }

    #[test]
    fn stale_writer_gets_a_conflict_and_changes_nothing() {
        let store = Store::temporary().unwrap();
        store.create("a", Widget { size: 1 }).unwrap();
        store.update_spec("a", 1, Widget { size: 2 }).unwrap();
        let err = store.update_spec("a", 1, Widget { size: 3 }).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    expected: 1,
                    actual: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(store.get::<Widget>("a").unwrap().unwrap().spec.size, 2);
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let store = Store::temporary().unwrap();
        store.create("a", Widget { size: 1 }).unwrap();
        store
            .add_finalizer::<Widget>("a", "slicer/teardown")
            .unwrap();
        assert_eq!(
            store.request_delete::<Widget>("a").unwrap(),
            DeleteOutcome::Pending
        );
        let pending = store.get::<Widget>("a").unwrap().unwrap();
        assert!(pending.is_deleting());
        assert!(
            !store
                .remove_finalizer::<Widget>("a", "slicer/teardown")
                .unwrap()
        );
        assert!(store.get::<Widget>("a").unwrap().is_none());
        assert_eq!(
            store.request_delete::<Widget>("a").unwrap(),
            DeleteOutcome::Absent
        );
        store.create("b", Widget { size: 1 }).unwrap();
        assert_eq!(
            store.request_delete::<Widget>("b").unwrap(),
            DeleteOutcome::Removed
        );
    }

    #[test]
    fn batched_spec_writes_create_update_skip_and_delete_together() {
        let store = Store::temporary().unwrap();
        store.create("keep", Widget { size: 1 }).unwrap();
        store.create("gone", Widget { size: 1 }).unwrap();
        store
            .write_specs(
                &[
                    ("keep".into(), Widget { size: 1 }),
                    ("new".into(), Widget { size: 2 }),
                ],
                &["gone".into()],
            )
            .unwrap();
        let keep = store.get::<Widget>("keep").unwrap().unwrap();
        assert_eq!(keep.meta.generation, 1, "an equal spec is not a change");
        assert_eq!(store.get::<Widget>("new").unwrap().unwrap().spec.size, 2);
        assert!(store.get::<Widget>("gone").unwrap().is_none());
        store
            .write_specs(&[("keep".into(), Widget { size: 3 })], &[])
            .unwrap();
        assert_eq!(
            store
                .get::<Widget>("keep")
                .unwrap()
                .unwrap()
                .meta
                .generation,
            2
        );
    }

    #[test]
    fn writes_that_change_nothing_are_skipped() {
        let store = Store::temporary().unwrap();
        store.create("a", Widget { size: 1 }).unwrap();
        let mut events = store.subscribe();
        let same = store
            .update_status::<Widget>("a", |o| o.status.seen = 0)
            .unwrap();
        assert_eq!(same.meta.resource_version, 1);
        assert!(events.try_recv().is_err(), "no event for a no-op write");
    }

    #[test]
    fn writes_are_announced() {
        let store = Store::temporary().unwrap();
        let mut events = store.subscribe();
        store.create("a", Widget { size: 1 }).unwrap();
        store
            .update_status::<Widget>("a", |o| o.status.seen = 1)
            .unwrap();
        store.request_delete::<Widget>("a").unwrap();
        for _ in 0..3 {
            assert_eq!(
                events.try_recv().unwrap(),
                StoreEvent {
                    kind: "widgets",
                    name: "a".into()
                }
            );
        }
    }

    #[test]
    fn objects_and_counters_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.create("a", Widget { size: 9 }).unwrap();
            assert_eq!(store.next_counter("vm").unwrap(), 1);
            assert_eq!(store.next_counter("vm").unwrap(), 2);
            store.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.get::<Widget>("a").unwrap().unwrap().spec.size, 9);
        assert_eq!(store.next_counter("vm").unwrap(), 3);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Concurrent read-modify-write through `modify` never loses an
        /// update, and the resource version counts every write.
        #[test]
        fn concurrent_modifies_never_lose_updates(threads in 2usize..6, per_thread in 1u32..40) {
            let store = Store::temporary().unwrap();
            store.create("a", Widget { size: 0 }).unwrap();
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        for _ in 0..per_thread {
                            store.modify::<Widget, ()>("a", |o| { o.spec.size += 1; Ok(()) }).unwrap().unwrap();
                        }
                    });
                }
            });
            let object = store.get::<Widget>("a").unwrap().unwrap();
            let total = u32::try_from(threads).unwrap() * per_thread;
            prop_assert_eq!(object.spec.size, total);
            prop_assert_eq!(object.meta.resource_version, u64::from(total) + 1);
            prop_assert_eq!(object.meta.generation, u64::from(total) + 1);
        }

        /// Counters hand out every number exactly once under concurrency.
        #[test]
        fn counters_never_repeat(threads in 2usize..6, per_thread in 1usize..50) {
            let store = Store::temporary().unwrap();
            let mut seen: Vec<u64> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| scope.spawn(|| (0..per_thread).map(|_| store.next_counter("g").unwrap()).collect::<Vec<_>>()))
                    .collect();
                handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
            });
            seen.sort_unstable();
            let expected: Vec<u64> = (1..=u64::try_from(threads * per_thread).unwrap()).collect();
            prop_assert_eq!(seen, expected);
        }
    }
}
