//! `slicer up`: the daemon. It opens the store, collects what belongs to
//! nobody, applies the config's host groups, runs the group and VM
//! controllers and the REST API, and on SIGTERM/Ctrl-C stops as Slicer's
//! `graceful_shutdown` says (or leaves every VM running with `--keep-vms`).

mod apply;
mod auth;
mod backend;
mod guest;
mod metrics;
mod run;
mod vm_api;

pub use apply::{ApplyError, apply_groups, plan_groups};
pub use auth::{AuthError, TokenSource, api_token};
pub use backend::DaemonBackend;
pub use metrics::{DaemonMetrics, EGRESS_ADAPTER_ENV};
pub use run::{UpOptions, group_triggers, up};

#[cfg(test)]
mod tests;
