//! Host networking for VMs: address allocation, derived names, and the
//! host-side plumbing (bridges, TAP devices, egress) behind [`HostNetwork`].

mod host;
mod ipam;
mod linux;
mod mac;

pub use host::{EgressStatus, HostNetwork, NetworkError};
pub use ipam::{Ipam, IpamError, Lease, Pool};
pub use linux::LinuxNetwork;
pub use mac::mac_for;
