//! Files in the guest: path checks, single files and tar streams moved
//! between host and guest, native fs operations, and inotify watches.

pub mod binary;
pub mod cp_v1;
pub mod entry;
pub mod ops;
pub mod paths;
pub mod staged;
pub mod tarball;
pub mod watch;
pub mod watch_filter;
