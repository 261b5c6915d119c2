//! Port forward: where the agent dials for `GET /vm/{h}/forward`
//! (`reference/slicer.md` §7.9).

use std::path::PathBuf;

/// Header naming the target inside the guest: `host:port` or `unix:/path`.
pub const FORWARD_UPSTREAM_HEADER: &str = "X-Inlets-Upstream";

/// `Upgrade:` token of the agent's forward endpoint.
pub const FORWARD_UPGRADE_PROTOCOL: &str = "slicer-forward";

/// A forward target inside the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardTarget {
    /// A TCP `host:port`.
    Tcp(String),
    /// A unix socket path.
    Unix(PathBuf),
}

impl std::str::FromStr for ForwardTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix:") {
            if !path.starts_with('/') {
                return Err(format!(
                    "invalid forward target {s:?}: unix socket path must be absolute"
                ));
            }
            return Ok(Self::Unix(path.into()));
        }
        match s.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Self::Tcp(s.to_owned()))
            }
            _ => Err(format!(
                "invalid forward target {s:?}: expected host:port or unix:/path"
            )),
        }
    }
}

impl std::fmt::Display for ForwardTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(addr) => f.write_str(addr),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_and_unix_targets() {
        assert_eq!(
            "127.0.0.1:8000".parse(),
            Ok(ForwardTarget::Tcp("127.0.0.1:8000".into()))
        );
        assert_eq!(
            "unix:/run/app.sock".parse(),
            Ok(ForwardTarget::Unix("/run/app.sock".into()))
        );
        assert!("8000".parse::<ForwardTarget>().is_err());
        assert!("unix:rel.sock".parse::<ForwardTarget>().is_err());
        assert!("host:99999".parse::<ForwardTarget>().is_err());
    }
}
