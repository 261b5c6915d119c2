//! Wire types shared by the slicer daemon, its CLI and the guest agent.
//!
//! The [`types`] module does no I/O: it only defines the shapes that cross
//! a process boundary (HTTP bodies, query strings, NDJSON frames), so the
//! daemon, the typed client and `slicer-agent` can never disagree about a
//! field name. With the `server` feature, [`server`] holds the daemon's
//! REST routes over a [`server::Backend`]; with `client`, [`client`] is the
//! typed client built on the same types.

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod server;
pub mod types;
