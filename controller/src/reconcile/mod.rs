//! The reconciler runtime, modelled on kube-runtime's controller: a
//! scheduler that de-duplicates and delays keys, a runner that never runs
//! two reconciles of one key at once, an error policy with capped
//! exponential backoff, periodic resync to catch drift, a finalizer helper
//! that holds deletion until teardown succeeds, and the bridge from store
//! changes to work.
//!
//! Reconcile functions compare stored desired state with observed state;
//! they never depend on which event woke them, so running one at any time,
//! any number of times, is safe.

mod action;
mod error_policy;
mod finalizer;
mod runner;
mod scheduler;
mod watch;

pub use action::Action;
pub use error_policy::Backoff;
pub use finalizer::{FinalizerError, FinalizerEvent, finalizer};
pub use runner::{Reconciler, RunnerConfig, run};
pub use scheduler::Scheduler;
pub use watch::watch_kind;
