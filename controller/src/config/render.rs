//! From stored host-group specs back to the YAML a user writes, so that
//! `slicer get hostgroups -o yaml` prints a file `slicer apply` accepts
//! and that resolves to the very same specs (a round trip).

use super::file::{DaemonConfig, HostGroupConfig, NetworkConfig, SlicerConfig};
use super::resolve::{HostGroupSpec, NetworkMode, NetworkSpec, StorageKind};

/// The config file holding `groups`.
pub fn render(groups: &[HostGroupSpec]) -> SlicerConfig {
    SlicerConfig {
        config: DaemonConfig {
            host_groups: groups.iter().map(group).collect(),
            ..DaemonConfig::default()
        },
    }
}

fn group(spec: &HostGroupSpec) -> HostGroupConfig {
    HostGroupConfig {
        name: spec.name.clone(),
        count: Some(spec.count),
        vcpu: Some(spec.vcpus),
        ram_bytes: Some(spec.ram_bytes),
        storage: Some(
            match spec.storage {
                StorageKind::Image => "image",
                StorageKind::Zfs => "zfs",
                StorageKind::Devmapper => "devmapper",
            }
            .to_owned(),
        ),
        storage_size: spec.storage_size_bytes.map(|b| b.to_string()),
        persistent: Some(spec.persistent),
        userdata: spec.userdata.clone(),
        dns_servers: Some(spec.dns_servers.iter().map(ToString::to_string).collect()),
        gpu_count: Some(spec.gpu_count),
        network: spec.network.as_ref().map(network),
        image: spec.image.clone(),
        ..HostGroupConfig::default()
    }
}

fn network(spec: &NetworkSpec) -> NetworkConfig {
    NetworkConfig {
        mode: Some(
            match spec.mode {
                NetworkMode::Bridge => "bridge",
                NetworkMode::Isolated => "isolated",
                NetworkMode::Macvtap => "macvtap",
            }
            .to_owned(),
        ),
        bridge: spec.bridge.clone(),
        tap_prefix: Some(spec.tap_prefix.clone()),
        gateway: spec.gateway.map(|g| g.to_string()),
        addresses: spec.addresses.iter().map(ToString::to_string).collect(),
        range: spec
            .range
            .map(|(a, b)| format!("{a}-{b}"))
            .or_else(|| spec.isolated_range.map(|r| r.to_string())),
        drop: spec.drop.clone(),
        allow: spec.allow.clone(),
        parent: spec.parent.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::parse;

    #[test]
    fn rendered_groups_parse_back_to_the_same_specs() {
        let yaml = r#"
config:
  host_groups:
    - name: web
      count: 2
      vcpu: 1
      ram_mb: 512
      storage: image
      storage_size: 2G
      userdata: "echo hi"
      network:
        bridge: brweb0
        tap_prefix: webtap
        gateway: 10.20.0.1/24
        range: 10.20.0.10-10.20.0.20
    - name: pool
      count: 0
      storage_size: 1G
"#;
        let (_, specs) = parse(yaml, Path::new("h.yaml"), Path::new(".")).unwrap();
        let text = serde_yaml::to_string(&render(&specs)).unwrap();
        let (_, again) = parse(&text, Path::new("get.yaml"), Path::new(".")).unwrap();
        assert_eq!(again, specs, "{text}");
    }
}
