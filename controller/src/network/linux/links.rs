//! The rtnetlink requests slicer needs (look up, create, delete and
//! configure links and their IPv4 addresses), each turning errors into
//! [`NetworkError`]s that name the operation and the link.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use futures_util::TryStreamExt;
use ipnet::Ipv4Net;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlag, LinkInfo, LinkMessage};
use rtnetlink::Handle;

use crate::network::NetworkError;

/// A link as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `IFLA_INFO_KIND` (`bridge`, `tun`, …); physical NICs have none.
    pub kind: Option<InfoKind>,
    /// Index of the bridge it is attached to.
    pub controller: Option<u32>,
    /// Administratively up.
    pub up: bool,
}

impl Link {
    fn from_message(message: &LinkMessage) -> Self {
        let mut link = Self {
            index: message.header.index,
            name: String::new(),
            kind: None,
            controller: None,
            up: message.header.flags.contains(&LinkFlag::Up),
        };
        for attribute in &message.attributes {
            match attribute {
                LinkAttribute::IfName(name) => link.name.clone_from(name),
                LinkAttribute::Controller(index) => link.controller = Some(*index),
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(kind) = info {
                            link.kind = Some(kind.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }

    /// The kind for messages: `bridge`, `tun`, or `device without a kind`.
    pub fn kind_name(&self) -> String {
        self.kind
            .as_ref()
            .map_or_else(|| "device without a kind".to_owned(), ToString::to_string)
    }

    /// Fail with [`NetworkError::WrongKind`] unless the link is a `wanted`.
    pub fn require_kind(&self, wanted: &InfoKind) -> Result<(), NetworkError> {
        if self.kind.as_ref() == Some(wanted) {
            return Ok(());
        }
        Err(NetworkError::WrongKind {
            link: self.name.clone(),
            found: self.kind_name(),
            wanted: wanted.to_string(),
        })
    }
}

/// An IPv4 address on a link, with the message needed to delete it.
#[derive(Debug, Clone)]
pub(super) struct LinkAddress {
    /// Address and prefix length.
    pub net: Ipv4Net,
    message: AddressMessage,
}

/// The kernel's errno inside an rtnetlink error, as an `io::Error`.
pub(super) fn to_io(error: rtnetlink::Error) -> io::Error {
    match error {
        rtnetlink::Error::NetlinkError(message) => message.to_io(),
        other => io::Error::other(other.to_string()),
    }
}

fn link_error(operation: &str, link: &str) -> impl FnOnce(rtnetlink::Error) -> NetworkError {
    let (operation, link) = (operation.to_owned(), link.to_owned());
    move |error| NetworkError::Link {
        operation,
        link,
        source: to_io(error),
    }
}

fn is_errno(error: &rtnetlink::Error, errno: i32) -> bool {
    matches!(error, rtnetlink::Error::NetlinkError(message) if message.raw_code().abs() == errno)
}

/// The route-netlink requests, over one connection.
#[derive(Debug, Clone)]
pub(super) struct Links {
    handle: Handle,
}

impl Links {
    /// Requests over `handle`, whose connection task is already running.
    pub fn new(handle: Handle) -> Self {
        Self { handle }
    }

    /// The link called `name`, if there is one.
    pub async fn get(&self, name: &str) -> Result<Option<Link>, NetworkError> {
        let mut replies = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match replies.try_next().await {
            Ok(Some(message)) => Ok(Some(Link::from_message(&message))),
            Ok(None) => Ok(None),
            Err(error) if is_errno(&error, libc::ENODEV) => Ok(None),
            Err(error) => Err(link_error("look up", name)(error)),
        }
    }

    /// Every link in the namespace.
    pub async fn list(&self) -> Result<Vec<Link>, NetworkError> {
        self.handle
            .link()
            .get()
            .execute()
            .map_ok(|message| Link::from_message(&message))
            .try_collect()
            .await
            .map_err(link_error("list", "*"))
    }

    /// Create bridge `name` (down, no addresses).
    pub async fn add_bridge(&self, name: &str) -> Result<(), NetworkError> {
        self.handle
            .link()
            .add()
            .bridge(name.to_owned())
            .execute()
            .await
            .map_err(link_error("create bridge", name))
    }

    /// Delete `link`; one that vanished meanwhile is fine.
    pub async fn delete(&self, link: &Link) -> Result<(), NetworkError> {
        match self.handle.link().del(link.index).execute().await {
            Err(error) if !is_errno(&error, libc::ENODEV) => {
                Err(link_error("delete", &link.name)(error))
            }
            _ => Ok(()),
        }
    }

    /// Set `link` up, attached to `controller` when given.
    pub async fn set_up(&self, link: &Link, controller: Option<&Link>) -> Result<(), NetworkError> {
        let request = self.handle.link().set(link.index).up();
        let (request, operation) = match controller {
            Some(bridge) => (
                request.controller(bridge.index),
                format!("attach to {} and set up", bridge.name),
            ),
            None => (request, "set up".to_owned()),
        };
        request
            .execute()
            .await
            .map_err(link_error(&operation, &link.name))
    }

    /// The IPv4 addresses on `link`.
    pub async fn ipv4_addresses(&self, link: &Link) -> Result<Vec<LinkAddress>, NetworkError> {
        let messages: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(link.index)
            .execute()
            .try_collect()
            .await
            .map_err(link_error("list addresses of", &link.name))?;
        Ok(messages
            .into_iter()
            .filter(|message| message.header.index == link.index)
            .filter_map(|message| {
                let addr = ipv4_of(&message)?;
                let net = Ipv4Net::new(addr, message.header.prefix_len).ok()?;
                Some(LinkAddress { net, message })
            })
            .collect())
    }

    /// Put `net` on `link`.
    pub async fn add_address(&self, link: &Link, net: Ipv4Net) -> Result<(), NetworkError> {
        match self
            .handle
            .address()
            .add(link.index, IpAddr::V4(net.addr()), net.prefix_len())
            .execute()
            .await
        {
            Err(error) if !is_errno(&error, libc::EEXIST) => Err(link_error(
                &format!("add address {net} to"),
                &link.name,
            )(error)),
            _ => Ok(()),
        }
    }

    /// Take `address` off `link`.
    pub async fn delete_address(
        &self,
        link: &Link,
        address: LinkAddress,
    ) -> Result<(), NetworkError> {
        let net = address.net;
        match self.handle.address().del(address.message).execute().await {
            Err(error) if !is_errno(&error, libc::EADDRNOTAVAIL) => Err(link_error(
                &format!("remove address {net} from"),
                &link.name,
            )(error)),
            _ => Ok(()),
        }
    }
}

/// The local IPv4 address of an address message (`IFA_LOCAL`, else
/// `IFA_ADDRESS`, which differ only on point-to-point links).
fn ipv4_of(message: &AddressMessage) -> Option<Ipv4Addr> {
    let pick = |local: bool| {
        message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                AddressAttribute::Local(IpAddr::V4(ip)) if local => Some(*ip),
                AddressAttribute::Address(IpAddr::V4(ip)) if !local => Some(*ip),
                _ => None,
            })
    };
    pick(true).or_else(|| pick(false))
}
