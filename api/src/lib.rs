//! Wire types shared by the slicer daemon, its CLI and the guest agent.
//!
//! The [`types`] module does no I/O: it only defines the shapes that cross
//! a process boundary (HTTP bodies, query strings, NDJSON frames), so the
//! daemon, the typed client and `slicer-agent` can never disagree about a
//! field name. With the `server` feature, [`server`] holds the daemon's
//! REST routes over a [`server::Backend`]; with `client`, [`client`] is the
//! typed client built on the same types; with `archive`, [`archive`] holds
//! the tar packing and unpacking both ends of a copy share. [`glob`] is
//! the one glob matcher (watch patterns, copy excludes).

#[cfg(feature = "archive")]
pub mod archive;
#[cfg(feature = "client")]
pub mod client;
pub mod glob;
#[cfg(feature = "server")]
pub mod server;
pub mod types;
