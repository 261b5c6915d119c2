//! [`TapRegistry`]: every TAP device the controller creates is recorded in
//! the store (with its owner) before it is created and forgotten after it
//! is removed, so a crash between the two never leaves an unknown TAP.

use crate::store::{OwnerIndex, Store, StoreError};

const TAPS_TREE: &str = "taps";

/// The TAP devices we own.
#[derive(Debug, Clone)]
pub struct TapRegistry {
    index: OwnerIndex,
}

impl TapRegistry {
    /// The registry of `store`.
    pub fn new(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            index: OwnerIndex::open(store, TAPS_TREE)?,
        })
    }

    /// Record that `owner` is about to own `tap`; durable on return.
    pub fn record(&self, tap: &str, owner: &str) -> Result<(), StoreError> {
        self.index.record(tap.as_bytes(), owner)?;
        self.index.flush()
    }

    /// Forget `tap` after it was removed.
    pub fn forget(&self, tap: &str) -> Result<(), StoreError> {
        self.index.release(tap.as_bytes(), None).map(drop)
    }

    /// Every recorded TAP with its owner.
    pub fn list(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .index
            .scan(&[])?
            .into_iter()
            .map(|(tap, owner)| (String::from_utf8_lossy(&tap).into_owned(), owner))
            .collect())
    }

    /// The TAPs recorded for `owner`.
    pub fn owned_by(&self, owner: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .index
            .keys_of(owner)?
            .into_iter()
            .map(|tap| String::from_utf8_lossy(&tap).into_owned())
            .collect())
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
        assert!(taps.owned_by("web-1").unwrap().is_empty());
        assert_eq!(taps.owned_by("web-2").unwrap(), ["web2"]);
    }
}
