//! The Linux implementation of [`HostNetwork`](crate::network::HostNetwork):
//! rtnetlink for links and addresses, `/dev/net/tun` for TAP creation,
//! `nft`/`iptables` for NAT. Never runs `ip`.

mod bridge;
mod egress;
mod links;
mod name;
mod network;
mod tap;
mod tun;

#[cfg(test)]
mod test_utils;

pub use network::LinuxNetwork;
