//! Static IPv4 from the kernel command line, over netlink.

use std::net::IpAddr;

use futures_util::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;

use super::cmdline::GuestArgs;

/// Errors of network configuration.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum NetworkError {
    /// netlink request failed: {0}
    Netlink(#[from] rtnetlink::Error),
    /// cannot open a netlink socket: {0}
    Socket(#[from] std::io::Error),
    /// no network interface besides lo
    NoInterface,
}

/// Bring `lo` up; with `slicer.ip`, configure the first other interface,
/// the default route and the resolvers.
pub async fn configure(args: &GuestArgs) -> Result<(), NetworkError> {
    let (connection, handle, _) = rtnetlink::new_connection()?;
    tokio::spawn(connection);
    let links: Vec<_> = handle.link().get().execute().try_collect().await?;
    let name_of = |link: &netlink_packet_route::link::LinkMessage| {
        link.attributes.iter().find_map(|a| match a {
            netlink_packet_route::link::LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
    };
    if let Some(lo) = links.iter().find(|l| name_of(l).as_deref() == Some("lo")) {
        handle.link().set(lo.header.index).up().execute().await?;
    }
    let Some((address, prefix)) = args.address else {
        return Ok(());
    };
    let nic = links
        .iter()
        .find(|l| name_of(l).as_deref() != Some("lo"))
        .ok_or(NetworkError::NoInterface)?;
    let index = nic.header.index;
    handle.link().set(index).up().execute().await?;
    let existing: Vec<_> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await?;
    // Only our IPv4 address counts: the kernel adds an IPv6 link-local
    // address as soon as the link is up, and it may already be listed here.
    let configured = existing.iter().any(|message| {
        message.attributes.iter().any(|attribute| {
            matches!(
                attribute,
                AddressAttribute::Local(ip) | AddressAttribute::Address(ip)
                    if *ip == IpAddr::V4(address)
            )
        })
    });
    if !configured {
        handle
            .address()
            .add(index, address.into(), prefix)
            .execute()
            .await?;
        if let Some(gateway) = args.gateway {
            handle.route().add().v4().gateway(gateway).execute().await?;
        }
    }
    if !args.dns.is_empty() {
        let text: String = args
            .dns
            .iter()
            .map(|d| format!("nameserver {d}\n"))
            .collect();
        if let Err(err) = std::fs::write("/etc/resolv.conf", text) {
            tracing::warn!(error = %err, "cannot write /etc/resolv.conf");
        }
    }
    Ok(())
}
