//! Per-VM disks: the [`DiskBackend`] trait and the `image` backend
//! ([`ImageFiles`]: reflink or sparse clone of the base, grown to size).

mod backend;
mod clone;
mod grow;

pub use backend::{DiskBackend, DiskError, DiskOutcome, ImageFiles};
pub use clone::{CloneError, CloneMethod, clone_file};
pub use grow::{GrowError, grow_ext4};
