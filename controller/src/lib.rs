//! The slicer daemon and CLI as a library, so end-to-end tests and
//! benchmarks drive the same code the `slicer` binary runs.

pub mod agent_client;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod hypervisor;
pub mod image;
pub mod lifecycle;
pub mod model;
pub mod network;
pub mod paths;
pub mod reconcile;
pub mod schemas;
pub mod secrets;
pub mod storage;
pub mod store;
pub mod vsock;
