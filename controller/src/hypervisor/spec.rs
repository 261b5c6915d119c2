//! [`VmSpec`]: the hypervisor-neutral description of one VM to launch.
//! Drivers translate it into their own configuration and never see
//! anything else.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Everything a driver needs to launch one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSpec {
    /// VM name; also the guest hostname.
    pub name: String,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Kernel, initramfs and guest settings for the kernel command line.
    pub boot: BootSource,
    /// Root disk image (raw ext4), exposed to the guest as `/dev/vda`.
    pub root_disk: PathBuf,
    /// Network interface on a host TAP device, if any.
    pub nic: Option<NicSpec>,
    /// Directory for this VM's sockets, pid records and VMM log.
    pub run_dir: PathBuf,
    /// File that receives the guest's serial console.
    pub console_log: PathBuf,
}

/// What the guest boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootSource {
    /// Compressed kernel (bzImage), for VMMs that accept one (QEMU).
    pub kernel_bzimage: PathBuf,
    /// Uncompressed ELF kernel, for Firecracker and Cloud Hypervisor.
    pub kernel_elf: PathBuf,
    /// Initramfs that loads the virtio and vsock modules.
    pub initrd: Option<PathBuf>,
    /// Settings the agent reads from the kernel command line.
    pub guest: GuestSettings,
}

/// Guest identity and network, passed as `slicer.*` kernel parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSettings {
    /// Guest hostname (`slicer.hostname`).
    pub hostname: String,
    /// Static IPv4 configuration, if the VM has a NIC.
    pub network: Option<GuestNetwork>,
}

/// Static IPv4 settings of the guest's first interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestNetwork {
    /// Address of the guest.
    pub address: Ipv4Addr,
    /// Prefix length of the subnet.
    pub prefix_len: u8,
    /// Default gateway.
    pub gateway: Ipv4Addr,
    /// Resolvers, primary first.
    pub dns: Vec<Ipv4Addr>,
}

/// A virtio-net device backed by a host TAP device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicSpec {
    /// Name of the existing TAP device on the host.
    pub tap: String,
    /// Guest MAC address.
    pub mac: MacAddr,
}

/// An Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// Kernel parameters every slicer guest gets, whatever the VMM.
const BASE_KERNEL_ARGS: &str = "console=ttyS0 quiet panic=-1 cryptomgr.notests root=/dev/vda rw";

impl BootSource {
    /// The kernel command line common to all drivers; a driver appends its
    /// own parameters after it.
    pub fn kernel_cmdline(&self) -> String {
        let mut args = vec![BASE_KERNEL_ARGS.to_owned()];
        args.push(format!("slicer.hostname={}", self.guest.hostname));
        if let Some(net) = &self.guest.network {
            args.push(format!("slicer.ip={}/{}", net.address, net.prefix_len));
            args.push(format!("slicer.gw={}", net.gateway));
            if !net.dns.is_empty() {
                let dns: Vec<String> = net.dns.iter().map(Ipv4Addr::to_string).collect();
                args.push(format!("slicer.dns={}", dns.join(",")));
            }
        }
        args.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_carries_hostname_and_network() {
        let boot = BootSource {
            kernel_bzimage: "k".into(),
            kernel_elf: "e".into(),
            initrd: None,
            guest: GuestSettings {
                hostname: "vm-1".into(),
                network: Some(GuestNetwork {
                    address: Ipv4Addr::new(192, 168, 137, 2),
                    prefix_len: 24,
                    gateway: Ipv4Addr::new(192, 168, 137, 1),
                    dns: vec![Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(1, 1, 1, 1)],
                }),
            },
        };
        let cmdline = boot.kernel_cmdline();
        assert!(cmdline.starts_with("console=ttyS0 "));
        assert!(cmdline.contains(" slicer.hostname=vm-1 "));
        assert!(cmdline.contains(" slicer.ip=192.168.137.2/24 slicer.gw=192.168.137.1 "));
        assert!(cmdline.ends_with(" slicer.dns=8.8.8.8,1.1.1.1"));
    }

    #[test]
    fn mac_prints_lowercase_colon_separated() {
        assert_eq!(
            MacAddr([0x02, 0xab, 0, 1, 2, 0xff]).to_string(),
            "02:ab:00:01:02:ff"
        );
    }
}
