//! The stored kinds: what users ask for ([`HostGroupSpec`] from YAML and
//! `slicer apply`, [`Vm`] from the group controller and the API) and what
//! the controllers observe (their statuses), plus the event log.

mod event;
mod host_group;
mod vm;

pub use event::{Event, EventLog};
pub use host_group::{HOST_GROUP_FINALIZER, HostGroupStatus};
pub use vm::{
    LaunchedConfig, PowerState, VM_FINALIZER, Vm, VmExit, VmPhase, VmRole, VmStatus, hostname,
};
