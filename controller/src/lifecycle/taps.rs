//! [`TapRegistry`]: every TAP device the controller creates is recorded in
//! the store (with its owner) before it is created and forgotten after it
//! is removed, so a crash between the two never leaves an unknown TAP.

use crate::store::{Store, StoreError};

const TAPS_TREE: &str = "taps";

/// The TAP devices we own.
#[derive(Debug, Clone)]
pub struct TapRegistry {
    tree: sled::Tree,
}

impl TapRegistry {
    /// The registry of `store`.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            tree: store.raw_tree(TAPS_TREE)?,
        })
    }

    fn db_err(tap: &str) -> impl Fn(sled::Error) -> StoreError + '_ {
        move |source| StoreError::Db {
            kind: TAPS_TREE,
            name: tap.to_owned(),
            source,
        }
    }

    /// Record that `owner` is about to own `tap`.
    pub fn record(&self, tap: &str, owner: &str) -> Result<(), StoreError> {
        self.tree
            .insert(tap, owner.as_bytes())
            .map_err(Self::db_err(tap))?;
        self.tree.flush().map_err(Self::db_err(tap))?;
        Ok(())
    }

    /// Forget `tap` after it was removed.
    pub fn forget(&self, tap: &str) -> Result<(), StoreError> {
        self.tree.remove(tap).map_err(Self::db_err(tap))?;
        Ok(())
    }

    /// Every recorded TAP with its owner.
    pub fn list(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.tree
            .iter()
            .map(|entry| {
                entry
                    .map(|(k, v)| {
                        (
                            String::from_utf8_lossy(&k).into_owned(),
                            String::from_utf8_lossy(&v).into_owned(),
                        )
                    })
                    .map_err(Self::db_err("*"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_forgets() {
        let store = Store::temporary().unwrap();
        let taps = TapRegistry::new(&store).unwrap();
        taps.record("web1", "web-1").unwrap();
        taps.record("web2", "web-2").unwrap();
        taps.forget("web1").unwrap();
        assert_eq!(taps.list().unwrap(), [("web2".into(), "web-2".into())]);
    }
}
