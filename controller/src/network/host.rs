//! [`HostNetwork`]: the host-side plumbing a VM's NIC needs (a bridge per
//! group holding the gateway, a TAP per VM on it, egress NAT), behind one
//! trait so reconcile steps are tested against a fake and the real Linux
//! implementation lives in one place.

use std::net::Ipv4Addr;

use async_trait::async_trait;
use ipnet::Ipv4Net;

/// Errors of host networking; each names the link and the operation.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum NetworkError {
    /// cannot {operation} link {link}
    Link {
        /// What was attempted (`create bridge`, `set up`, `attach to br0`, …).
        operation: String,
        /// The interface.
        link: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// link {link} exists but is a {found}, not a {wanted}
    WrongKind {
        /// The interface.
        link: String,
        /// What it is.
        found: String,
        /// What we need it to be.
        wanted: String,
    },
    /// interface name {name:?} is not valid (1 to 15 bytes, no '/', ':' or whitespace)
    BadName {
        /// The rejected name.
        name: String,
    },
    /// bridge {bridge} for tap {tap} does not exist
    NoBridge {
        /// The missing bridge.
        bridge: String,
        /// The TAP that was to be attached to it.
        tap: String,
    },
    /// link {link} vanished right after it was created
    Vanished {
        /// The interface.
        link: String,
    },
    /// cannot open a route netlink connection
    Netlink {
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// What egress setup could do on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EgressStatus {
    /// Forwarding is on and the subnet is masqueraded, using the named tool.
    Masqueraded {
        /// The mechanism (`nft`, `iptables`, …).
        via: String,
    },
    /// Forwarding is on but no NAT mechanism exists; VMs reach the host
    /// and each other, not the outside.
    ForwardingOnly {
        /// Why NAT is not available, for the daemon log and events.
        reason: String,
    },
    /// Nothing could be set up.
    Unavailable {
        /// Why.
        reason: String,
    },
}

/// Host network operations. Every method is idempotent: calling it when
/// the goal already holds succeeds and changes nothing, so a reconcile
/// can repeat it after a crash at any point.
#[async_trait]
pub trait HostNetwork: Send + Sync + std::fmt::Debug {
    /// Make `name` an up Linux bridge holding `gateway` (address and prefix).
    async fn ensure_bridge(&self, name: &str, gateway: Ipv4Net) -> Result<(), NetworkError>;

    /// Remove bridge `name`; absent is fine.
    async fn remove_bridge(&self, name: &str) -> Result<(), NetworkError>;

    /// Make `name` a persistent, up TAP device enslaved to `bridge`.
    async fn ensure_tap(&self, name: &str, bridge: &str) -> Result<(), NetworkError>;

    /// Remove TAP `name`; absent is fine.
    async fn remove_tap(&self, name: &str) -> Result<(), NetworkError>;

    /// Names of the TAP devices whose name starts with `prefix`, for
    /// cleaning up what belongs to no VM.
    async fn taps_with_prefix(&self, prefix: &str) -> Result<Vec<String>, NetworkError>;

    /// Let `subnet` (behind `bridge`) reach the outside: IPv4 forwarding
    /// and masquerading where the host supports it.
    async fn ensure_egress(&self, bridge: &str, subnet: Ipv4Net) -> EgressStatus;

    /// The IPv4 addresses on link `name` (empty if it does not exist).
    async fn addresses(&self, name: &str) -> Result<Vec<Ipv4Addr>, NetworkError>;
}
