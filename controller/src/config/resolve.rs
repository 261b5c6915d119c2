//! From the YAML as written to validated, defaulted host-group specs.
//! Validation collects every problem in the file, each naming the group
//! and the field, and nothing is applied unless there are none.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::file::{DaemonConfig, HostGroupConfig, NetworkConfig, SlicerConfig};
use super::size::parse_size;

/// Default vCPUs per VM.
const DEFAULT_VCPUS: u32 = 2;
/// Default RAM per VM (4 GiB).
const DEFAULT_RAM_BYTES: u64 = 4 << 30;
/// Default resolvers (`reference/slicer.md` §11 item 20).
const DEFAULT_DNS: [Ipv4Addr; 2] = [Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(1, 1, 1, 1)];
/// Linux interface names are at most 15 bytes.
const IFNAME_MAX: usize = 15;
/// Longest group name: `<name>-<n>` must stay a short DNS label.
const GROUP_NAME_MAX: usize = 40;

/// A VMM named in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HypervisorName {
    /// Firecracker.
    Firecracker,
    /// QEMU.
    Qemu,
    /// Cloud Hypervisor.
    CloudHypervisor,
}

/// Disk backend of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// A sparse ext4 file per VM cloned from the base image.
    Image,
    /// ZFS zvol snapshots.
    Zfs,
    /// devmapper thin snapshots.
    Devmapper,
}

/// Networking mode of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// A Linux bridge holding the gateway; a TAP per VM on it.
    Bridge,
    /// A private namespace and /30 per VM.
    Isolated,
    /// macvtap on a LAN NIC.
    Macvtap,
}

/// Validated networking of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Mode.
    pub mode: NetworkMode,
    /// Bridge name (bridge mode).
    pub bridge: Option<String>,
    /// TAP name prefix.
    pub tap_prefix: String,
    /// Gateway address and subnet (bridge, macvtap).
    pub gateway: Option<Ipv4Net>,
    /// Static addresses, one per VM.
    pub addresses: Vec<Ipv4Addr>,
    /// First and last address of the allocation range.
    pub range: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Isolated-mode range.
    pub isolated_range: Option<Ipv4Net>,
    /// Isolated-mode blocked destinations.
    pub drop: Vec<String>,
    /// Isolated-mode allowed destinations.
    pub allow: Vec<String>,
    /// macvtap parent NIC.
    pub parent: Option<String>,
}

/// A validated host group with every default applied: what is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostGroupSpec {
    /// Group name.
    pub name: String,
    /// Service VMs; 0 means an API-only sandbox pool.
    pub count: u32,
    /// vCPUs per VM (and the API maximum).
    pub vcpus: u32,
    /// RAM per VM (and the API maximum).
    pub ram_bytes: u64,
    /// GPUs per VM.
    pub gpu_count: u32,
    /// Disk backend.
    pub storage: StorageKind,
    /// Disk size.
    pub storage_size_bytes: Option<u64>,
    /// Keep snapshot-backend disks.
    pub persistent: bool,
    /// First-boot script (inline or read from `userdata_file`).
    pub userdata: Option<String>,
    /// Guest resolvers.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Image name; `None` uses the daemon's.
    pub image: Option<String>,
    /// Networking; `None` means vsock only.
    pub network: Option<NetworkSpec>,
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The group, if the field belongs to one.
    pub group: Option<String>,
    /// The field path, e.g. `network.gateway`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.group {
            Some(group) => write!(f, "host_groups[{group}].{}: {}", self.field, self.reason),
            None => write!(f, "{}: {}", self.field, self.reason),
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {file}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML of the expected shape.
    #[error("{file}: {source}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parse error (with line and column).
        #[source]
        source: serde_yaml::Error,
    },
    /// The file parsed but breaks rules.
    #[error("{file}: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem found.
        errors: Vec<FieldError>,
    },
}

/// Read, parse and validate `path`; relative `userdata_file`s are read
/// from `base_dir` (the daemon's working directory).
pub fn load(
    path: &Path,
    base_dir: &Path,
) -> Result<(SlicerConfig, Vec<HostGroupSpec>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.to_owned(),
        source,
    })?;
    parse(&text, path, base_dir)
}

/// Parse and validate `text` (named `file` in errors).
pub fn parse(
    text: &str,
    file: &Path,
    base_dir: &Path,
) -> Result<(SlicerConfig, Vec<HostGroupSpec>), ConfigError> {
    let config: SlicerConfig = serde_yaml::from_str(text).map_err(|source| ConfigError::Parse {
        file: file.to_owned(),
        source,
    })?;
    let mut check = Checker::default();
    let hypervisor = check.daemon(&config.config);
    let groups: Vec<HostGroupSpec> = config
        .config
        .host_groups
        .iter()
        .enumerate()
        .filter_map(|(i, group)| check.group(i, group, hypervisor, base_dir))
        .collect();
    check.across_groups(&groups);
    if check.errors.is_empty() {
        Ok((config, groups))
    } else {
        Err(ConfigError::Invalid {
            file: file.to_owned(),
            errors: check.errors,
        })
    }
}

#[derive(Debug, Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, group: Option<&str>, field: &str, reason: impl Into<String>) {
        self.errors.push(FieldError {
            group: group.map(str::to_owned),
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    fn daemon(&mut self, config: &DaemonConfig) -> Option<HypervisorName> {
        let hypervisor = match config.hypervisor.as_deref() {
            None | Some("firecracker") => config
                .hypervisor
                .as_ref()
                .map(|_| HypervisorName::Firecracker),
            Some("qemu") => Some(HypervisorName::Qemu),
            Some("cloud-hypervisor") => Some(HypervisorName::CloudHypervisor),
            Some("apple") => {
                self.fail(None, "hypervisor", "apple is Slicer for Mac only; on Linux use firecracker, qemu or cloud-hypervisor");
                None
            }
            Some(other) => {
                self.fail(
                    None,
                    "hypervisor",
                    format!(
                        "unknown hypervisor {other:?}; use firecracker, qemu or cloud-hypervisor"
                    ),
                );
                None
            }
        };
        if !config.pci.is_empty() && hypervisor == Some(HypervisorName::Firecracker) {
            self.fail(
                None,
                "pci",
                "PCI passthrough needs hypervisor qemu or cloud-hypervisor",
            );
        }
        if let Some(api) = &config.api
            && api.port == Some(0)
        {
            self.fail(None, "api.port", "must be between 1 and 65535");
        }
        hypervisor
    }

    fn group(
        &mut self,
        index: usize,
        group: &HostGroupConfig,
        hypervisor: Option<HypervisorName>,
        base_dir: &Path,
    ) -> Option<HostGroupSpec> {
        let before = self.errors.len();
        let label = if group.name.is_empty() {
            format!("#{index}")
        } else {
            group.name.clone()
        };
        let g = Some(label.as_str());
        let name = &group.name;
        if name.is_empty() {
            self.fail(g, "name", "is required");
        } else if name.len() > GROUP_NAME_MAX
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || name.starts_with('-')
            || name.ends_with('-')
        {
            self.fail(g, "name", format!("{name:?} must be lowercase letters, digits and '-', at most {GROUP_NAME_MAX} characters"));
        }
        let count = group.count.unwrap_or(1);
        let vcpus = group.vcpu.unwrap_or(DEFAULT_VCPUS);
        if vcpus == 0 {
            self.fail(g, "vcpu", "must be at least 1");
        }
        if hypervisor == Some(HypervisorName::Firecracker) && vcpus > 32 {
            self.fail(
                g,
                "vcpu",
                format!("{vcpus} is above Firecracker's limit of 32"),
            );
        }
        let ram_fields = [
            ("ram_gb", group.ram_gb, 30u32),
            ("ram_mb", group.ram_mb, 20),
            ("ram_bytes", group.ram_bytes, 0),
        ];
        let given: Vec<_> = ram_fields.iter().filter(|(_, v, _)| v.is_some()).collect();
        let ram_bytes = match given.as_slice() {
            [] => DEFAULT_RAM_BYTES,
            [(field, Some(value), shift)] => match value.checked_mul(1 << shift) {
                Some(bytes) if bytes >= 64 << 20 && bytes % (1 << 20) == 0 => bytes,
                _ => {
                    self.fail(
                        g,
                        field,
                        format!("{value} must come to at least 64 MiB, in whole MiB"),
                    );
                    DEFAULT_RAM_BYTES
                }
            },
            _ => {
                let names: Vec<&str> = given.iter().map(|(f, _, _)| *f).collect();
                self.fail(
                    g,
                    names[1],
                    format!(
                        "set at most one of ram_gb, ram_mb, ram_bytes (got {})",
                        names.join(", ")
                    ),
                );
                DEFAULT_RAM_BYTES
            }
        };
        let gpu_count = group.gpu_count.unwrap_or(0);
        if gpu_count > 0
            && !matches!(
                hypervisor,
                Some(HypervisorName::Qemu | HypervisorName::CloudHypervisor)
            )
        {
            self.fail(
                g,
                "gpu_count",
                "GPU passthrough needs hypervisor qemu or cloud-hypervisor",
            );
        }
        let storage = match group.storage.as_deref() {
            None | Some("image") => StorageKind::Image,
            Some("zfs") => StorageKind::Zfs,
            Some("devmapper") => StorageKind::Devmapper,
            Some(other) => {
                self.fail(
                    g,
                    "storage",
                    format!("unknown backend {other:?}; use image, zfs or devmapper"),
                );
                StorageKind::Image
            }
        };
        let storage_size_bytes = match (&group.storage_size, storage) {
            (Some(_), StorageKind::Devmapper) => {
                self.fail(
                    g,
                    "storage_size",
                    "is not allowed with storage devmapper (the pool fixes the size)",
                );
                None
            }
            (None, StorageKind::Image) => {
                self.fail(
                    g,
                    "storage_size",
                    "is required with storage image, e.g. 25G",
                );
                None
            }
            (Some(text), _) => match parse_size(text) {
                Some(bytes) if bytes >= 64 << 20 => Some(bytes),
                _ => {
                    self.fail(
                        g,
                        "storage_size",
                        format!("{text:?} is not a size of at least 64M such as 512M or 25G"),
                    );
                    None
                }
            },
            (None, _) => None,
        };
        let userdata = match (&group.userdata, &group.userdata_file) {
            (Some(_), Some(_)) => {
                self.fail(
                    g,
                    "userdata_file",
                    "set either userdata or userdata_file, not both",
                );
                None
            }
            (Some(text), None) => Some(text.clone()),
            (None, Some(path)) => match std::fs::read_to_string(base_dir.join(path)) {
                Ok(text) => Some(text),
                Err(err) => {
                    self.fail(
                        g,
                        "userdata_file",
                        format!("cannot read {}: {err}", base_dir.join(path).display()),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        let dns_servers = match &group.dns_servers {
            None => DEFAULT_DNS.to_vec(),
            Some(list) => list
                .iter()
                .filter_map(|s| match s.parse() {
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        self.fail(g, "dns_servers", format!("{s:?} is not an IPv4 address"));
                        None
                    }
                })
                .collect(),
        };
        let network = group
            .network
            .as_ref()
            .map(|n| self.network(g, name, count, n));
        (self.errors.len() == before).then(|| HostGroupSpec {
            name: name.clone(),
            count,
            vcpus,
            ram_bytes,
            gpu_count,
            storage,
            storage_size_bytes,
            persistent: group.persistent.unwrap_or(false),
            userdata,
            dns_servers,
            image: group.image.clone(),
            network,
        })
    }

    fn network(
        &mut self,
        g: Option<&str>,
        name: &str,
        count: u32,
        n: &NetworkConfig,
    ) -> NetworkSpec {
        let mode = match n.mode.as_deref() {
            None | Some("bridge") => NetworkMode::Bridge,
            Some("isolated") => NetworkMode::Isolated,
            Some("macvtap") => NetworkMode::Macvtap,
            Some("nat") => {
                self.fail(
                    g,
                    "network.mode",
                    "nat is Slicer for Mac only; on Linux use bridge, isolated or macvtap",
                );
                NetworkMode::Bridge
            }
            Some(other) => {
                self.fail(
                    g,
                    "network.mode",
                    format!("unknown mode {other:?}; use bridge, isolated or macvtap"),
                );
                NetworkMode::Bridge
            }
        };
        let tap_prefix = n
            .tap_prefix
            .clone()
            .unwrap_or_else(|| name.chars().take(10).collect());
        if tap_prefix.len() > 14 {
            self.fail(
                g,
                "network.tap_prefix",
                format!("{tap_prefix:?} is longer than 14 characters"),
            );
        }
        if let Some(bridge) = &n.bridge
            && (bridge.is_empty() || bridge.len() > IFNAME_MAX)
        {
            self.fail(
                g,
                "network.bridge",
                format!("{bridge:?} must be 1 to {IFNAME_MAX} characters"),
            );
        }
        let gateway = n
            .gateway
            .as_ref()
            .and_then(|text| match text.parse::<Ipv4Net>() {
                Ok(net)
                    if net.prefix_len() <= 30
                        && net.addr() != net.network()
                        && net.addr() != net.broadcast() =>
                {
                    Some(net)
                }
                _ => {
                    self.fail(
                        g,
                        "network.gateway",
                        format!(
                            "{text:?} must be a host address in CIDR form such as 192.168.137.1/24"
                        ),
                    );
                    None
                }
            });
        if mode == NetworkMode::Bridge && n.gateway.is_none() {
            self.fail(
                g,
                "network.gateway",
                "is required in bridge mode, e.g. 192.168.137.1/24",
            );
        }
        if mode == NetworkMode::Bridge && n.bridge.is_none() && n.mode.is_some() {
            self.fail(
                g,
                "network.bridge",
                "is required in bridge mode, e.g. brvm0",
            );
        }
        let in_subnet = |ip: Ipv4Addr| {
            gateway.is_none_or(|gw| {
                gw.contains(&ip) && ip != gw.network() && ip != gw.broadcast() && ip != gw.addr()
            })
        };
        let mut addresses = Vec::new();
        for text in &n.addresses {
            let bare = text.split('/').next().unwrap_or(text);
            match bare.parse::<Ipv4Addr>() {
                Ok(ip) if in_subnet(ip) => addresses.push(ip),
                _ => self.fail(
                    g,
                    "network.addresses",
                    format!("{text:?} is not a usable address in the gateway subnet"),
                ),
            }
        }
        let mut range = None;
        let mut isolated_range = None;
        if let Some(text) = &n.range {
            if mode == NetworkMode::Isolated {
                match text.parse::<Ipv4Net>() {
                    Ok(net) if net.prefix_len() <= 29 => isolated_range = Some(net.trunc()),
                    _ => self.fail(
                        g,
                        "network.range",
                        format!(
                            "{text:?} must be a CIDR of /29 or larger such as 169.254.100.0/22"
                        ),
                    ),
                }
            } else {
                let parsed = text.split_once('-').and_then(|(a, b)| {
                    Some((
                        a.trim().parse::<Ipv4Addr>().ok()?,
                        b.trim().parse::<Ipv4Addr>().ok()?,
                    ))
                });
                match parsed {
                    Some((a, b)) if a <= b && in_subnet(a) && in_subnet(b) => range = Some((a, b)),
                    _ => self.fail(
                        g,
                        "network.range",
                        format!("{text:?} must be A-B with A <= B, both inside the gateway subnet"),
                    ),
                }
            }
        }
        if mode == NetworkMode::Isolated {
            let digits = count.max(1).to_string().len();
            if name.len() + 1 + digits > IFNAME_MAX {
                self.fail(g, "name", format!("in isolated mode the hostname {name}-{} must fit in {IFNAME_MAX} characters", count.max(1)));
            }
        }
        for (field, list) in [("network.drop", &n.drop), ("network.allow", &n.allow)] {
            for entry in list {
                let ok = entry.parse::<Ipv4Net>().is_ok()
                    || entry.parse::<Ipv4Addr>().is_ok()
                    || entry.parse::<std::net::SocketAddrV4>().is_ok();
                if !ok {
                    self.fail(
                        g,
                        field,
                        format!("{entry:?} must be a CIDR, an address, or ip:port"),
                    );
                }
            }
        }
        NetworkSpec {
            mode,
            bridge: n.bridge.clone(),
            tap_prefix,
            gateway,
            addresses,
            range,
            isolated_range,
            drop: n.drop.clone(),
            allow: n.allow.clone(),
            parent: n.parent.clone(),
        }
    }

    fn across_groups(&mut self, groups: &[HostGroupSpec]) {
        for (i, a) in groups.iter().enumerate() {
            for b in &groups[..i] {
                if a.name == b.name {
                    self.fail(Some(&a.name), "name", "is used by more than one host group");
                }
                let nets = |g: &HostGroupSpec| -> Vec<Ipv4Net> {
                    g.network
                        .iter()
                        .flat_map(|n| {
                            n.gateway
                                .map(|gw| gw.trunc())
                                .into_iter()
                                .chain(n.isolated_range)
                        })
                        .collect()
                };
                for na in nets(a) {
                    for nb in nets(b) {
                        if na.contains(&nb.network()) || nb.contains(&na.network()) {
                            self.fail(
                                Some(&a.name),
                                "network",
                                format!("{na} overlaps {nb} of group {}", b.name),
                            );
                        }
                    }
                }
                if let (Some(ba), Some(bb)) = (
                    a.network.as_ref().and_then(|n| n.bridge.as_ref()),
                    b.network.as_ref().and_then(|n| n.bridge.as_ref()),
                ) && ba == bb
                {
                    self.fail(
                        Some(&a.name),
                        "network.bridge",
                        format!("{ba} is also the bridge of group {}", b.name),
                    );
                }
            }
        }
    }
}
