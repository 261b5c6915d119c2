//! `slicer.*` settings from the kernel command line.

use std::net::Ipv4Addr;

/// What the host passed to the guest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GuestArgs {
    /// `slicer.hostname=NAME`.
    pub hostname: Option<String>,
    /// `slicer.ip=A.B.C.D/PREFIX`.
    pub address: Option<(Ipv4Addr, u8)>,
    /// `slicer.gw=A.B.C.D`.
    pub gateway: Option<Ipv4Addr>,
    /// `slicer.dns=A,B`.
    pub dns: Vec<Ipv4Addr>,
}

impl GuestArgs {
    /// Parse a command line.
    pub fn parse(cmdline: &str) -> Self {
        let mut args = Self::default();
        for word in cmdline.split_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            match key {
                "slicer.hostname" if !value.is_empty() => args.hostname = Some(value.to_owned()),
                "slicer.ip" => {
                    args.address = value.split_once('/').and_then(|(ip, prefix)| {
                        Some((ip.parse().ok()?, prefix.parse().ok().filter(|p| *p <= 32)?))
                    });
                }
                "slicer.gw" => args.gateway = value.parse().ok(),
                "slicer.dns" => {
                    args.dns = value.split(',').filter_map(|d| d.parse().ok()).collect()
                }
                _ => {}
            }
        }
        args
    }

    /// Read `/proc/cmdline`.
    pub fn from_proc() -> Self {
        Self::parse(&std::fs::read_to_string("/proc/cmdline").unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slicer_keys_and_ignores_the_rest() {
        let args = GuestArgs::parse(
            "console=ttyS0 slicer.hostname=vm-1 slicer.ip=10.0.0.2/24 slicer.gw=10.0.0.1 slicer.dns=8.8.8.8,1.1.1.1 quiet",
        );
        assert_eq!(args.hostname.as_deref(), Some("vm-1"));
        assert_eq!(args.address, Some((Ipv4Addr::new(10, 0, 0, 2), 24)));
        assert_eq!(args.gateway, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(args.dns.len(), 2);
        assert_eq!(GuestArgs::parse("slicer.ip=10.0.0.2/99").address, None);
    }
}
