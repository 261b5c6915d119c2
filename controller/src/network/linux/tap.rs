//! Per-VM TAP devices: persistent, up and attached to the group's bridge.

use netlink_packet_route::link::InfoKind;

use super::links::{Link, Links};
use super::{name, tun};
use crate::network::NetworkError;

/// Make `name` a persistent, up TAP attached to bridge `bridge`.
///
/// The device is created in the calling thread's network namespace, which
/// must be the one the netlink connection was opened in.
pub(super) async fn ensure(links: &Links, name: &str, bridge: &str) -> Result<(), NetworkError> {
    name::validate(name)?;
    name::validate(bridge)?;
    let bridge_link = links
        .get(bridge)
        .await?
        .ok_or_else(|| NetworkError::NoBridge {
            bridge: bridge.to_owned(),
            tap: name.to_owned(),
        })?;
    bridge_link.require_kind(&InfoKind::Bridge)?;
    let tap = match links.get(name).await? {
        Some(link) => link,
        None => create(links, name).await?,
    };
    tap.require_kind(&InfoKind::Tun)?;
    if !tap.up || tap.controller != Some(bridge_link.index) {
        links.set_up(&tap, Some(&bridge_link)).await?;
    }
    Ok(())
}

async fn create(links: &Links, name: &str) -> Result<Link, NetworkError> {
    let created = tun::create_persistent_tap(name);
    match (links.get(name).await?, created) {
        (Some(link), _) => Ok(link),
        (None, Err(source)) => Err(NetworkError::Link {
            operation: "create tap".to_owned(),
            link: name.to_owned(),
            source,
        }),
        (None, Ok(())) => Err(NetworkError::Vanished {
            link: name.to_owned(),
        }),
    }
}

/// Remove TAP `name` if it exists; a link of another kind by that name is
/// left alone and reported.
pub(super) async fn remove(links: &Links, name: &str) -> Result<(), NetworkError> {
    name::validate(name)?;
    let Some(tap) = links.get(name).await? else {
        return Ok(());
    };
    tap.require_kind(&InfoKind::Tun)?;
    links.delete(&tap).await
}

/// Names of the TAPs whose name starts with `prefix`, sorted.
pub(super) async fn with_prefix(links: &Links, prefix: &str) -> Result<Vec<String>, NetworkError> {
    let mut names: Vec<String> = links
        .list()
        .await?
        .into_iter()
        .filter(|link| link.kind == Some(InfoKind::Tun) && link.name.starts_with(prefix))
        .map(|link| link.name)
        .collect();
    names.sort();
    Ok(names)
}
