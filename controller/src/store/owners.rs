//! [`OwnerIndex`]: keys (addresses, TAP devices) held by owners (VMs), in
//! a sled tree keyed by the held key, with a second tree keyed by owner so
//! "what does this VM hold" is a prefix scan instead of a walk over every
//! key. Both trees change together in one transaction.

use std::convert::Infallible;

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Store, StoreError};

/// Separates the owner from the held key in the by-owner tree; owners
/// (hostnames) never contain it.
const SEPARATOR: u8 = 0;

/// Keys held by owners, looked up both ways.
#[derive(Debug, Clone)]
pub struct OwnerIndex {
    name: &'static str,
    by_key: sled::Tree,
    by_owner: sled::Tree,
}

fn owner_key(owner: &str, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(owner.len() + 1 + key.len());
    out.extend_from_slice(owner.as_bytes());
    out.push(SEPARATOR);
    out.extend_from_slice(key);
    out
}

fn owner_prefix(owner: &str) -> Vec<u8> {
    owner_key(owner, &[])
}

impl OwnerIndex {
    /// The index stored in tree `name` (held key → owner, the layout the
    /// store always had) and `<name>_by_owner`. The by-owner tree is
    /// repaired from the main tree here, so stores written before it
    /// existed, or by a process that died between the two trees, get a
    /// complete one.
    pub fn open(store: &Store, name: &'static str) -> Result<Self, StoreError> {
        let index = Self {
            name,
            by_key: store.raw_tree(name)?,
            by_owner: store.raw_tree(&format!("{name}_by_owner"))?,
        };
        index.repair()?;
        Ok(index)
    }

    fn db_err(&self, key: &[u8]) -> impl Fn(sled::Error) -> StoreError + '_ {
        let name = String::from_utf8_lossy(key).into_owned();
        move |source| StoreError::Db {
            kind: self.name,
            name: name.clone(),
            source,
        }
    }

    fn tx_err(&self, key: &[u8]) -> impl Fn(TransactionError<Infallible>) -> StoreError + '_ {
        let db_err = self.db_err(key);
        move |err| match err {
            TransactionError::Storage(source) => db_err(source),
            TransactionError::Abort(never) => match never {},
        }
    }

    fn repair(&self) -> Result<(), StoreError> {
        for entry in self.by_key.iter() {
            let (key, owner) = entry.map_err(self.db_err(b"*"))?;
            let reverse = owner_key(&String::from_utf8_lossy(&owner), &key);
            self.by_owner
                .insert(reverse, &[])
                .map_err(self.db_err(&key))?;
        }
        for entry in self.by_owner.iter().keys() {
            let reverse = entry.map_err(self.db_err(b"*"))?;
            let Some(split) = reverse.iter().position(|b| *b == SEPARATOR) else {
                continue;
            };
            let (owner, key) = (&reverse[..split], &reverse[split + 1..]);
            let held = self.by_key.get(key).map_err(self.db_err(key))?;
            if held.as_deref() != Some(owner) {
                self.by_owner.remove(&reverse).map_err(self.db_err(key))?;
            }
        }
        Ok(())
    }

    /// Give `key` to `owner` unless another owner holds it; returns
    /// whether `owner` holds it now. Atomic against concurrent claims.
    pub fn claim(&self, key: &[u8], owner: &str) -> Result<bool, StoreError> {
        (&self.by_key, &self.by_owner)
            .transaction(|(by_key, by_owner)| {
                match by_key.get(key)? {
                    Some(held) => return Ok(held.as_ref() == owner.as_bytes()),
                    None => {
                        by_key.insert(key, owner.as_bytes())?;
                        by_owner.insert(owner_key(owner, key), &[])?;
                    }
                }
                Ok::<_, ConflictableTransactionError<Infallible>>(true)
            })
            .map_err(self.tx_err(key))
    }

    /// Record `key` as `owner`'s, whoever held it before.
    pub fn record(&self, key: &[u8], owner: &str) -> Result<(), StoreError> {
        (&self.by_key, &self.by_owner)
            .transaction(|(by_key, by_owner)| {
                if let Some(old) = by_key.insert(key, owner.as_bytes())? {
                    by_owner.remove(owner_key(&String::from_utf8_lossy(&old), key))?;
                }
                by_owner.insert(owner_key(owner, key), &[])?;
                Ok::<_, ConflictableTransactionError<Infallible>>(())
            })
            .map_err(self.tx_err(key))
    }

    /// Drop `key` if `owner` (or, with `None`, anyone) holds it; returns
    /// whether it was dropped.
    pub fn release(&self, key: &[u8], owner: Option<&str>) -> Result<bool, StoreError> {
        (&self.by_key, &self.by_owner)
            .transaction(|(by_key, by_owner)| {
                let Some(held) = by_key.get(key)? else {
                    return Ok(false);
                };
                if owner.is_some_and(|o| o.as_bytes() != held.as_ref()) {
                    return Ok(false);
                }
                by_key.remove(key)?;
                by_owner.remove(owner_key(&String::from_utf8_lossy(&held), key))?;
                Ok::<_, ConflictableTransactionError<Infallible>>(true)
            })
            .map_err(self.tx_err(key))
    }

    /// The keys `owner` holds, in key order.
    pub fn keys_of(&self, owner: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = owner_prefix(owner);
        self.by_owner
            .scan_prefix(&prefix)
            .keys()
            .map(|reverse| {
                reverse
                    .map(|r| r[prefix.len()..].to_vec())
                    .map_err(self.db_err(owner.as_bytes()))
            })
            .collect()
    }

    /// Every held key starting with `prefix`, with its owner.
    pub fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, String)>, StoreError> {
        self.by_key
            .scan_prefix(prefix)
            .map(|entry| {
                entry
                    .map(|(key, owner)| {
                        (key.to_vec(), String::from_utf8_lossy(&owner).into_owned())
                    })
                    .map_err(self.db_err(prefix))
            })
            .collect()
    }

    /// Make both trees durable now.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.by_key.flush().map_err(self.db_err(b"*"))?;
        self.by_owner.flush().map_err(self.db_err(b"*"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keys(index: &OwnerIndex, owner: &str) -> Vec<String> {
        index
            .keys_of(owner)
            .unwrap()
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect()
    }

    #[test]
    fn claims_are_exclusive_and_owners_see_their_keys() {
        let store = Store::temporary().unwrap();
        let index = OwnerIndex::open(&store, "things").unwrap();
        assert!(index.claim(b"k1", "a").unwrap());
        assert!(
            index.claim(b"k1", "a").unwrap(),
            "claiming again is a no-op"
        );
        assert!(!index.claim(b"k1", "b").unwrap(), "held by a");
        assert!(index.claim(b"k2", "a").unwrap());
        assert!(index.claim(b"k3", "ab").unwrap());
        assert_eq!(keys(&index, "a"), ["k1", "k2"], "ab's keys are not a's");
        assert!(!index.release(b"k1", Some("b")).unwrap(), "not b's");
        assert!(index.release(b"k1", Some("a")).unwrap());
        assert_eq!(keys(&index, "a"), ["k2"]);
        index.record(b"k2", "b").unwrap();
        assert!(keys(&index, "a").is_empty(), "recorded over: now b's");
        assert_eq!(keys(&index, "b"), ["k2"]);
        assert!(index.release(b"k2", None).unwrap());
        assert_eq!(
            index.scan(b"k").unwrap(),
            [(b"k3".to_vec(), "ab".to_owned())]
        );
    }

    #[test]
    fn open_rebuilds_the_owner_tree_from_the_key_tree() {
        let store = Store::temporary().unwrap();
        // The layout before the by-owner tree existed, plus a stale
        // by-owner entry left by a process that died mid-way.
        let old = store.raw_tree("things").unwrap();
        old.insert(b"k1", b"a").unwrap();
        old.insert(b"k2", b"b").unwrap();
        store
            .raw_tree("things_by_owner")
            .unwrap()
            .insert(owner_key("c", b"k9"), &[])
            .unwrap();
        let index = OwnerIndex::open(&store, "things").unwrap();
        assert_eq!(keys(&index, "a"), ["k1"]);
        assert_eq!(keys(&index, "b"), ["k2"]);
        assert!(keys(&index, "c").is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Concurrent claims of the same keys by different owners give
        /// each key to exactly one, and both trees agree afterwards.
        #[test]
        fn concurrent_claims_never_share_a_key(threads in 2usize..5, keys_n in 1u8..20) {
            let store = Store::temporary().unwrap();
            let index = OwnerIndex::open(&store, "things").unwrap();
            let won: Vec<(u8, usize)> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|t| {
                    let index = &index;
                    scope.spawn(move || (0..keys_n).filter(|k| index.claim(&[*k], &format!("o{t}")).unwrap()).map(|k| (k, t)).collect::<Vec<_>>())
                }).collect();
                handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
            });
            prop_assert_eq!(won.len(), usize::from(keys_n));
            for t in 0..threads {
                let mine: Vec<Vec<u8>> = won.iter().filter(|(_, o)| *o == t).map(|(k, _)| vec![*k]).collect();
                prop_assert_eq!(index.keys_of(&format!("o{t}")).unwrap(), mine);
            }
        }
    }
}
