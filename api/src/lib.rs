//! Wire types shared by the slicer daemon, its CLI and the guest agent.
//!
//! This crate does no I/O: it only defines the shapes that cross a process
//! boundary (HTTP bodies, query strings, NDJSON frames), so the daemon, the
//! typed client and `slicer-agent` can never disagree about a field name.

pub mod types;
