//! [`StoreError`].

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum StoreError {
    /// cannot open the store at {path}
    Open {
        /// The database directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: sled::Error,
    },
    /// store i/o failed on {kind} {name:?}
    Db {
        /// Object kind (tree).
        kind: &'static str,
        /// Object name.
        name: String,
        /// The underlying error.
        #[source]
        source: sled::Error,
    },
    /// stored {kind} {name:?} is corrupt
    Corrupt {
        /// Object kind.
        kind: &'static str,
        /// Object name.
        name: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// {kind} {name:?} already exists
    AlreadyExists {
        /// Object kind.
        kind: &'static str,
        /// Object name.
        name: String,
    },
    /// {kind} {name:?} does not exist
    NotFound {
        /// Object kind.
        kind: &'static str,
        /// Object name.
        name: String,
    },
    /// {kind} {name:?} changed since it was read (resource version {expected}, now {actual})
    Conflict {
        /// Object kind.
        kind: &'static str,
        /// Object name.
        name: String,
        /// The version the writer read.
        expected: u64,
        /// The version stored now.
        actual: u64,
    },
    /// store schema version {found} is newer than this slicer understands ({supported}); upgrade slicer
    TooNew {
        /// Version in the database.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// migration of the store from schema {from} failed
    Migration {
        /// The version being migrated from.
        from: u32,
        /// The underlying error.
        #[source]
        source: Box<StoreError>,
    },
}
