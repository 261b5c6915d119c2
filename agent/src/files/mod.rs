//! Files in the guest: path checks, single files and tar streams moved
//! between host and guest, native fs operations, and inotify watches.

pub mod binary;
pub mod entry;
pub mod glob;
pub mod ops;
pub mod paths;
pub mod tarball;
pub mod watch;
pub mod watch_filter;
