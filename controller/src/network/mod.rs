//! Host networking for VMs: address allocation and derived names. (Bridges
//! and TAP devices over rtnetlink arrive with the lifecycle work.)

mod ipam;
mod mac;

pub use ipam::{Ipam, IpamError, Lease, Pool};
pub use mac::mac_for;
