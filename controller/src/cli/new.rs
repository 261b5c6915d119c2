//! `slicer new NAME [flags] > file.yaml`: print a config with one host
//! group (`reference/slicer.md` §2.6). Images are built locally for the
//! host's architecture (`slicer image build`), so `--image` names one.

use std::io::Write;
use std::path::PathBuf;

use clap::{ArgAction, Args};

use crate::config::{
    ApiConfig, AuthConfig, CaConfig, DaemonConfig, HostGroupConfig, NetworkConfig, SlicerConfig,
};

/// Flags of `slicer new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Host-group name (hostnames become NAME-1, NAME-2, …).
    pub name: String,
    /// Service VMs started with the daemon (0 = API-created only).
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// vCPUs per VM (and the API maximum).
    #[arg(long, visible_alias = "vcpu", default_value_t = 2)]
    pub cpu: u32,
    /// RAM per VM in GiB.
    #[arg(
        long,
        visible_alias = "ram_gb",
        visible_alias = "ram-gb",
        default_value_t = 4
    )]
    pub ram: u64,
    /// Disk backend: image, zfs or devmapper.
    #[arg(long, default_value = "image", value_parser = ["image", "zfs", "devmapper"])]
    pub storage: String,
    /// Disk size (`image` needs one).
    #[arg(long, default_value = "25G")]
    pub storage_size: String,
    /// Keep snapshot-backend disks after a VM stops.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub persistent: Option<bool>,
    /// Image name (default `full`).
    #[arg(long, conflicts_with = "min")]
    pub image: Option<String>,
    /// Use the minimal fast-boot image (`min`).
    #[arg(long)]
    pub min: bool,
    /// Subnet: the bridge gateway becomes .1 of it (macvtap: the LAN gateway).
    #[arg(long, default_value = "192.168.137.0/24")]
    pub cidr: String,
    /// Address range inside the CIDR, `A-B`.
    #[arg(long)]
    pub range: Option<String>,
    /// TAP name prefix (default: the group name + `tap`, cut to 14).
    #[arg(long)]
    pub tap_prefix: Option<String>,
    /// Networking mode.
    #[arg(long, default_value = "bridge", value_parser = ["bridge", "isolated", "macvtap"])]
    pub net: String,
    /// Isolated range (CIDR).
    #[arg(long)]
    pub isolated_range: Option<String>,
    /// Blocked destinations (isolated), repeatable.
    #[arg(long)]
    pub drop: Vec<String>,
    /// Allowed destinations (isolated), repeatable.
    #[arg(long)]
    pub allow: Vec<String>,
    /// macvtap parent NIC.
    #[arg(long)]
    pub parent: Option<String>,
    /// Static addresses, repeatable.
    #[arg(long = "address")]
    pub addresses: Vec<String>,
    /// Resolvers (give twice for primary and fallback).
    #[arg(long = "dns")]
    pub dns: Vec<String>,
    /// API TCP address or socket path.
    #[arg(long)]
    pub api_bind: Option<String>,
    /// API TCP port.
    #[arg(long)]
    pub api_port: Option<u16>,
    /// Bearer auth on the TCP API.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub api_auth: Option<bool>,
    /// API Unix socket (instead of TCP).
    #[arg(long, conflicts_with = "api_bind")]
    pub socket: Option<String>,
    /// Serial-over-SSH port (0 disables).
    #[arg(long)]
    pub ssh_port: Option<u16>,
    /// GitHub user whose keys to import.
    #[arg(long, visible_alias = "import-user")]
    pub github: Option<String>,
    /// Literal public key, repeatable.
    #[arg(long = "ssh-key", visible_alias = "ssh-keys")]
    pub ssh_keys: Vec<String>,
    /// Add the keys in ~/.ssh/*.pub.
    #[arg(long, action = ArgAction::Set, default_value_t = true)]
    pub find_ssh_keys: bool,
    /// First-boot script file.
    #[arg(long)]
    pub userdata_file: Option<PathBuf>,
    /// Shut guests down gracefully when the daemon stops.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub graceful_shutdown: Option<bool>,
    /// Generate a group CA and trust it in guests.
    #[arg(long)]
    pub ca: bool,
}

/// `.1/<prefix>` of a CIDR: the bridge gateway.
fn gateway_of(cidr: &str) -> anyhow::Result<String> {
    let net: ipnet::Ipv4Net = cidr
        .parse()
        .map_err(|err| anyhow::anyhow!("--cidr {cidr:?} is not an IPv4 CIDR: {err}"))?;
    let first = net
        .hosts()
        .next()
        .ok_or_else(|| anyhow::anyhow!("--cidr {cidr} has no host addresses"))?;
    Ok(format!("{first}/{}", net.prefix_len()))
}

fn local_ssh_keys() -> Vec<String> {
    let Some(home) = std::env::var_os("HOME") else {
        return Vec::new();
    };
    let Ok(dir) = std::fs::read_dir(PathBuf::from(home).join(".ssh")) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = dir
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pub"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort();
    keys
}

impl NewArgs {
    /// The config these flags describe.
    pub fn config(&self) -> anyhow::Result<SlicerConfig> {
        let mut network = NetworkConfig {
            mode: (self.net != "bridge").then(|| self.net.clone()),
            ..NetworkConfig::default()
        };
        match self.net.as_str() {
            "isolated" => {
                network.range.clone_from(&self.isolated_range);
                network.drop.clone_from(&self.drop);
                network.allow.clone_from(&self.allow);
            }
            "macvtap" => {
                network.parent.clone_from(&self.parent);
                network.gateway = Some(gateway_of(&self.cidr)?);
                network.addresses.clone_from(&self.addresses);
                network.range.clone_from(&self.range);
            }
            _ => {
                let mut bridge = format!("br{}0", self.name);
                bridge.truncate(15);
                network.bridge = Some(bridge);
                let mut prefix = self
                    .tap_prefix
                    .clone()
                    .unwrap_or_else(|| format!("{}tap", self.name));
                prefix.truncate(14);
                network.tap_prefix = Some(prefix);
                network.gateway = Some(gateway_of(&self.cidr)?);
                network.addresses.clone_from(&self.addresses);
                network.range.clone_from(&self.range);
            }
        }
        let group = HostGroupConfig {
            name: self.name.clone(),
            count: Some(self.count),
            vcpu: Some(self.cpu),
            ram_gb: Some(self.ram),
            storage: Some(self.storage.clone()),
            storage_size: (self.storage != "devmapper").then(|| self.storage_size.clone()),
            persistent: self.persistent,
            userdata_file: self.userdata_file.clone(),
            dns_servers: (!self.dns.is_empty()).then(|| self.dns.clone()),
            network: Some(network),
            ca: self.ca.then(|| CaConfig {
                generate: Some(true),
                files: Vec::new(),
            }),
            ..HostGroupConfig::default()
        };
        let socket = self.socket.clone().or_else(|| {
            self.api_bind
                .clone()
                .filter(|b| b.starts_with('/') || b.starts_with("./") || b.ends_with(".sock"))
        });
        let api = match socket {
            Some(socket) => ApiConfig {
                bind_address: Some(socket),
                ..ApiConfig::default()
            },
            None => ApiConfig {
                port: Some(self.api_port.unwrap_or(8080)),
                bind_address: Some(self.api_bind.clone().unwrap_or_else(|| "127.0.0.1".into())),
                auth: Some(AuthConfig {
                    enabled: Some(self.api_auth.unwrap_or(true)),
                    token: None,
                }),
            },
        };
        let mut ssh_keys = self.ssh_keys.clone();
        if self.find_ssh_keys {
            ssh_keys.extend(local_ssh_keys());
        }
        let image = self
            .image
            .clone()
            .unwrap_or_else(|| if self.min { "min" } else { "full" }.to_owned());
        Ok(SlicerConfig {
            config: DaemonConfig {
                host_groups: vec![group],
                image: Some(image),
                graceful_shutdown: self.graceful_shutdown,
                github_user: self.github.clone(),
                ssh_keys,
                api: Some(api),
                ssh: self.ssh_port.map(|port| {
                    let mut map = serde_yaml::Mapping::new();
                    map.insert("port".into(), u64::from(port).into());
                    serde_yaml::Value::Mapping(map)
                }),
                ..DaemonConfig::default()
            },
        })
    }

    /// Print the config.
    pub fn run(self) -> anyhow::Result<i32> {
        let yaml = serde_yaml::to_string(&self.config()?)?;
        write!(std::io::stdout().lock(), "{yaml}")?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        args: NewArgs,
    }

    fn generate(argv: &[&str]) -> String {
        let mut full = vec!["new"];
        full.extend_from_slice(argv);
        let wrap = Wrap::parse_from(full);
        serde_yaml::to_string(&wrap.args.config().unwrap()).unwrap()
    }

    #[test]
    fn generated_configs_load() {
        for argv in [
            &["vm", "--find-ssh-keys=false"][..],
            &[
                "sbox",
                "--count",
                "0",
                "--net",
                "isolated",
                "--drop",
                "192.168.1.0/24",
                "--socket",
                "/run/slicer/a.sock",
                "--find-ssh-keys=false",
            ][..],
            &[
                "lan",
                "--net",
                "macvtap",
                "--cidr",
                "192.168.1.0/24",
                "--address",
                "192.168.1.200",
                "--find-ssh-keys=false",
                "--min",
            ][..],
        ] {
            let yaml = generate(argv);
            let parsed = crate::config::parse(
                &yaml,
                std::path::Path::new("new.yaml"),
                std::path::Path::new("/"),
            );
            assert!(
                parsed.is_ok(),
                "{argv:?}:\n{yaml}\n{:?}",
                parsed.err().map(|e| e.to_string())
            );
        }
        let yaml = generate(&["vm", "--find-ssh-keys=false"]);
        assert!(yaml.contains("gateway: 192.168.137.1/24"), "{yaml}");
        assert!(yaml.contains("enabled: true"), "{yaml}");
    }
}
