//! Simulated drivers for control-plane benchmarks: a hypervisor, a host
//! network and a disk backend that implement the daemon's real traits but
//! start nothing, plus one fake guest agent that every simulated VM shares.
//!
//! They exist so the controllers, the store and the API can be measured at
//! a scale (thousands of VMs) no test machine can boot. They live in the
//! test crate only and are never compiled into the daemon.

mod agent;
mod disks;
mod hypervisor;
mod network;

pub use agent::{AgentCounters, SimulatedAgent};
pub use disks::SimulatedDisks;
pub use hypervisor::SimulatedHypervisor;
pub use network::SimulatedNetwork;
