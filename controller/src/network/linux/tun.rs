//! Creating persistent TAP devices through `/dev/net/tun`: netlink cannot
//! make tun/tap links, so this is the one place that talks ioctl.

// The TUNSETIFF/TUNSETPERSIST ioctls have no safe wrapper.
#![allow(unsafe_code)]

use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;

use super::name::MAX_NAME_BYTES;

/// The clone device every TAP is made through.
pub(super) const TUN_DEVICE: &str = "/dev/net/tun";

nix::ioctl_write_int!(tun_set_iff, b'T', 202);
nix::ioctl_write_int!(tun_set_persist, b'T', 203);

/// Flags of the TAP: Ethernet frames without the packet-info prefix, with
/// the virtio-net header, since QEMU opens the device with `vnet_hdr` and
/// the kernel refuses a reopen whose flags disagree on the header.
fn tap_flags() -> io::Result<libc::c_short> {
    libc::c_short::try_from(libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR)
        .map_err(|_| io::Error::other("tap flags do not fit in ifr_flags"))
}

/// Make `name` a persistent TAP device in the calling thread's network
/// namespace. The name must already be valid (`name::validate`).
pub(super) fn create_persistent_tap(name: &str) -> io::Result<()> {
    if name.len() > MAX_NAME_BYTES {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(TUN_DEVICE)
        .map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot open {TUN_DEVICE} (is the tun module loaded?): {err}"),
            )
        })?;
    let mut ifr_name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (slot, byte) in ifr_name.iter_mut().zip(name.bytes()) {
        *slot = libc::c_char::from_ne_bytes([byte]);
    }
    let request = libc::ifreq {
        ifr_name,
        ifr_ifru: libc::__c_anonymous_ifr_ifru {
            ifru_flags: tap_flags()?,
        },
    };
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open /dev/net/tun descriptor owned by `file`, which
    // outlives the call; TUNSETIFF reads a `struct ifreq`, and `request` is
    // one, NUL-terminated (the name is at most 15 bytes in a 16-byte array)
    // and alive for the duration of the call. The kernel only reads it.
    unsafe { tun_set_iff(fd, std::ptr::from_ref(&request) as libc::c_ulong) }
        .map_err(io::Error::from)?;
    // SAFETY: same descriptor; TUNSETPERSIST takes its argument by value.
    unsafe { tun_set_persist(fd, 1) }.map_err(io::Error::from)?;
    // Closing `file` detaches us; the device stays because it is persistent.
    Ok(())
}
