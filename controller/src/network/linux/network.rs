//! [`LinuxNetwork`]: [`HostNetwork`] on the running kernel, over one
//! route-netlink connection.

use std::io;
use std::net::Ipv4Addr;

use async_trait::async_trait;
use ipnet::Ipv4Net;

use super::links::Links;
use super::{bridge, egress, name, tap};
use crate::network::{EgressStatus, HostNetwork, NetworkError};

/// Bridges, TAPs and egress on this host, through rtnetlink (links and
/// addresses), `/dev/net/tun` (creating TAPs) and `nft`/`iptables` (NAT).
///
/// # Namespace
/// One netlink connection is opened by [`LinuxNetwork::new`] and kept for
/// the value's life; a netlink socket stays in the network namespace it
/// was made in, so every link request goes to the namespace of the thread
/// that called `new`. TAP creation and `/proc/sys` writes act in the
/// namespace of the calling thread, so callers keep to threads of that
/// same namespace (a daemon never changes namespace; tests create the
/// value and use it on one thread of a private namespace).
#[derive(Debug, Clone)]
pub struct LinuxNetwork {
    links: Links,
    /// One operation at a time: the kernel refuses a second dump on a
    /// netlink socket while one is in progress (EBUSY), and a group's
    /// bridge and its VMs' TAPs are set up by concurrent reconciles.
    serial: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl LinuxNetwork {
    /// Open the netlink connection and spawn its task on the current tokio
    /// runtime. Fails outside a runtime or when the socket cannot be made;
    /// the connection lives as long as that runtime.
    pub fn new() -> Result<Self, NetworkError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(NetworkError::Netlink {
                source: io::Error::other("LinuxNetwork::new must be called inside a tokio runtime"),
            });
        }
        let (connection, handle, _unsolicited) =
            rtnetlink::new_connection().map_err(|source| NetworkError::Netlink { source })?;
        tokio::spawn(connection);
        Ok(Self {
            links: Links::new(handle),
            serial: std::sync::Arc::default(),
        })
    }
}

#[async_trait]
impl HostNetwork for LinuxNetwork {
    async fn ensure_bridge(&self, name: &str, gateway: Ipv4Net) -> Result<(), NetworkError> {
        let _serial = self.serial.lock().await;
        bridge::ensure(&self.links, name, gateway).await
    }

    async fn remove_bridge(&self, name: &str) -> Result<(), NetworkError> {
        let _serial = self.serial.lock().await;
        bridge::remove(&self.links, name).await
    }

    async fn ensure_tap(&self, name: &str, bridge: &str) -> Result<(), NetworkError> {
        let _serial = self.serial.lock().await;
        tap::ensure(&self.links, name, bridge).await
    }

    async fn remove_tap(&self, name: &str) -> Result<(), NetworkError> {
        let _serial = self.serial.lock().await;
        tap::remove(&self.links, name).await
    }

    async fn taps_with_prefix(&self, prefix: &str) -> Result<Vec<String>, NetworkError> {
        let _serial = self.serial.lock().await;
        tap::with_prefix(&self.links, prefix).await
    }

    async fn ensure_egress(&self, bridge: &str, subnet: Ipv4Net) -> EgressStatus {
        let _serial = self.serial.lock().await;
        egress::ensure(bridge, subnet).await
    }

    async fn addresses(&self, name: &str) -> Result<Vec<Ipv4Addr>, NetworkError> {
        let _serial = self.serial.lock().await;
        name::validate(name)?;
        let Some(link) = self.links.get(name).await? else {
            return Ok(Vec::new());
        };
        Ok(self
            .links
            .ipv4_addresses(&link)
            .await?
            .into_iter()
            .map(|address| address.net.addr())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use netlink_packet_route::link::InfoKind;

    use super::*;
    use crate::network::linux::test_utils::{in_private_netns, netns_inode};
    use crate::network::linux::tun::TUN_DEVICE;

    fn require_tun() {
        assert!(
            Path::new(TUN_DEVICE).exists(),
            "{TUN_DEVICE} is missing: load the tun module (modprobe tun) to run these tests"
        );
    }

    #[test]
    fn new_outside_a_runtime_is_an_error() {
        let err = LinuxNetwork::new().unwrap_err();
        assert!(err.to_string().contains("netlink"), "{err}");
    }

    /// The whole lifecycle against the real kernel, in a namespace of its own.
    #[test]
    fn bridge_and_tap_lifecycle_in_a_private_namespace() {
        require_tun();
        let host_ns = netns_inode();
        let host_forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
        let status = in_private_netns(move || async move {
            assert_ne!(
                netns_inode(),
                host_ns,
                "the scenario must run in its own namespace"
            );
            let net = LinuxNetwork::new().unwrap();
            let gateway: Ipv4Net = "10.77.0.1/24".parse().unwrap();

            // Bridge: created, idempotent, exactly one address, up.
            net.ensure_bridge("slbr0", gateway).await.unwrap();
            net.ensure_bridge("slbr0", gateway).await.unwrap();
            assert_eq!(net.addresses("slbr0").await.unwrap(), [gateway.addr()]);
            let bridge = net.links.get("slbr0").await.unwrap().unwrap();
            assert_eq!(bridge.kind, Some(InfoKind::Bridge));
            assert!(bridge.up);
            // The host's sysfs shows the host namespace: our bridge is not there.
            assert!(!Path::new("/sys/class/net/slbr0").exists());

            // A changed gateway replaces the old address.
            let moved: Ipv4Net = "10.78.0.1/16".parse().unwrap();
            net.ensure_bridge("slbr0", moved).await.unwrap();
            assert_eq!(net.addresses("slbr0").await.unwrap(), [moved.addr()]);
            net.ensure_bridge("slbr0", gateway).await.unwrap();
            assert_eq!(net.addresses("slbr0").await.unwrap(), [gateway.addr()]);

            // TAP: persistent, attached, up, idempotent.
            net.ensure_tap("sltap0", "slbr0").await.unwrap();
            net.ensure_tap("sltap0", "slbr0").await.unwrap();
            let tap = net.links.get("sltap0").await.unwrap().unwrap();
            assert_eq!(tap.kind, Some(InfoKind::Tun));
            assert_eq!(tap.controller, Some(bridge.index));
            assert!(tap.up);
            assert_eq!(net.taps_with_prefix("sltap").await.unwrap(), ["sltap0"]);
            assert_eq!(net.taps_with_prefix("sl").await.unwrap(), ["sltap0"]);
            assert!(net.taps_with_prefix("slbr").await.unwrap().is_empty());
            assert!(net.addresses("sltap0").await.unwrap().is_empty());

            // Wrong kinds are reported, never replaced or deleted.
            let err = net.ensure_bridge("sltap0", gateway).await.unwrap_err();
            assert!(
                matches!(&err, NetworkError::WrongKind { link, found, wanted }
                    if link == "sltap0" && found == "tun" && wanted == "bridge"),
                "{err}"
            );
            let err = net.remove_tap("slbr0").await.unwrap_err();
            assert!(matches!(err, NetworkError::WrongKind { .. }), "{err}");
            let err = net.remove_bridge("sltap0").await.unwrap_err();
            assert!(matches!(err, NetworkError::WrongKind { .. }), "{err}");
            let err = net.ensure_tap("slbr0", "slbr0").await.unwrap_err();
            assert!(matches!(err, NetworkError::WrongKind { .. }), "{err}");
            let err = net.ensure_tap("sltap1", "sltap0").await.unwrap_err();
            assert_eq!(
                err.to_string(),
                "link sltap0 exists but is a tun, not a bridge"
            );
            let err = net.ensure_tap("sltap1", "nobr").await.unwrap_err();
            assert_eq!(err.to_string(), "bridge nobr for tap sltap1 does not exist");
            let err = net.ensure_bridge("bad/name", gateway).await.unwrap_err();
            assert!(matches!(err, NetworkError::BadName { .. }), "{err}");
            let err = net
                .ensure_tap("sltap1", "this-name-is-too-long")
                .await
                .unwrap_err();
            assert!(matches!(err, NetworkError::BadName { .. }), "{err}");

            // Egress: forwarding in this namespace; NAT as far as the host allows.
            let status = net.ensure_egress("slbr0", gateway).await;
            assert!(
                !matches!(status, EgressStatus::Unavailable { .. }),
                "{status:?}"
            );
            assert_eq!(
                std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
                "1\n"
            );
            assert_eq!(
                net.ensure_egress("slbr0", gateway).await,
                status,
                "egress is idempotent"
            );

            // Removal, twice each.
            net.remove_tap("sltap0").await.unwrap();
            net.remove_tap("sltap0").await.unwrap();
            assert!(net.taps_with_prefix("sl").await.unwrap().is_empty());
            net.remove_bridge("slbr0").await.unwrap();
            net.remove_bridge("slbr0").await.unwrap();
            assert!(net.links.get("slbr0").await.unwrap().is_none());
            assert!(net.addresses("slbr0").await.unwrap().is_empty());
            status
        });
        eprintln!("ensure_egress in a private namespace: {status:?}");
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
            host_forwarding,
            "the host's forwarding setting is untouched"
        );
    }
}
