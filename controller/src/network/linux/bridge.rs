//! Group bridges: an up Linux bridge holding exactly the gateway address.

use ipnet::Ipv4Net;
use netlink_packet_route::link::InfoKind;

use super::links::{Link, Links};
use super::name;
use crate::network::NetworkError;

/// Make `name` an up bridge whose only IPv4 address is `gateway`.
///
/// A bridge named by a group belongs to slicer, so any other IPv4 address
/// on it is stale (the group's gateway changed) and is removed.
pub(super) async fn ensure(
    links: &Links,
    name: &str,
    gateway: Ipv4Net,
) -> Result<(), NetworkError> {
    name::validate(name)?;
    let bridge = match links.get(name).await? {
        Some(link) => link,
        None => create(links, name).await?,
    };
    bridge.require_kind(&InfoKind::Bridge)?;
    let mut has_gateway = false;
    for address in links.ipv4_addresses(&bridge).await? {
        if address.net == gateway {
            has_gateway = true;
        } else {
            links.delete_address(&bridge, address).await?;
        }
    }
    if !has_gateway {
        links.add_address(&bridge, gateway).await?;
    }
    if !bridge.up {
        links.set_up(&bridge, None).await?;
    }
    Ok(())
}

/// Create the bridge; if another reconcile created it first, use that one.
async fn create(links: &Links, name: &str) -> Result<Link, NetworkError> {
    let created = links.add_bridge(name).await;
    match (links.get(name).await?, created) {
        (Some(link), _) => Ok(link),
        (None, Err(error)) => Err(error),
        (None, Ok(())) => Err(NetworkError::Vanished {
            link: name.to_owned(),
        }),
    }
}

/// Remove bridge `name` if it exists; a link of another kind by that name
/// is left alone and reported.
pub(super) async fn remove(links: &Links, name: &str) -> Result<(), NetworkError> {
    name::validate(name)?;
    let Some(bridge) = links.get(name).await? else {
        return Ok(());
    };
    bridge.require_kind(&InfoKind::Bridge)?;
    links.delete(&bridge).await
}
