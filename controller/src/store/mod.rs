//! The desired and observed state of every object, in an embedded sled
//! database.
//!
//! [`Store`] is the one writer path: the API and `slicer apply` write specs
//! through it, reconcilers write statuses and finalizers through it, and
//! every write is a compare-and-swap on the object's resource version, so
//! concurrent writers never lose each other's changes. Each committed write
//! is announced on a broadcast channel, the watch that feeds reconcilers.

mod db;
mod error;
mod migrate;
mod object;
mod owners;

pub use db::{DeleteOutcome, Store, StoreEvent};
pub use error::StoreError;
pub use migrate::SCHEMA_VERSION;
pub use object::{Condition, Kind, Object, ObjectMeta};
pub use owners::OwnerIndex;
