//! The controllers that drive real resources toward the stored desired
//! state: the host-group controller (bridge, egress, service VMs, scaling,
//! rolling changes) and the VM controller (disk, lease, TAP, VMM process,
//! agent readiness, provisioning, exit handling, teardown), plus the
//! start-up garbage collection of what belongs to nobody.
//!
//! Both controllers run on the [`crate::reconcile`] runtime; they compare
//! stored state with what exists on the host and never depend on the event
//! that woke them.

mod context;
mod gc;
mod group;
mod hostnames;
mod names;
mod taps;
mod vm;

pub use context::{Context, Timing};
pub use gc::{GcReport, collect_orphans};
pub use group::{GroupError, GroupReconciler, template_for};
pub use hostnames::create_sandbox;
pub use names::{group_of, tap_name};
pub use taps::TapRegistry;
pub use vm::{VmError, VmReconciler, error_chain, stop_for_daemon_shutdown, teardown};
