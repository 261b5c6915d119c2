//! Configuration tests: Slicer's documented examples parse, and every rule
//! produces an error naming the file, the group and the field.

use std::net::Ipv4Addr;
use std::path::Path;

use super::*;

fn ok(yaml: &str) -> Vec<HostGroupSpec> {
    parse(yaml, Path::new("hosts.yaml"), Path::new("/nonexistent"))
        .unwrap_or_else(|e| panic!("{e}"))
        .1
}

fn errors(yaml: &str) -> String {
    let err = parse(yaml, Path::new("hosts.yaml"), Path::new("/nonexistent")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("hosts.yaml"),
        "errors name the file: {text}"
    );
    text
}

const SERVICE_EXAMPLE: &str = r#"
config:
  host_groups:
  - name: vm
    count: 1
    vcpu: 2
    ram_gb: 4
    storage: image
    storage_size: 25G
    network:
      bridge: brvm0
      tap_prefix: vmtap
      gateway: 192.168.137.1/24
  github_user: alexellis
  image: "ghcr.io/openfaasltd/slicer-systemd:6.1.90-x86_64-latest"
  hypervisor: firecracker
  api:
    port: 8080
    bind_address: "127.0.0.1"
"#;

const TWO_GROUP_EXAMPLE: &str = r#"
config:
  host_groups:
  - name: ctrl
    count: 1
    vcpu: 4
    ram_gb: 8
    storage: image
    storage_size: 25G
    userdata: |
      apt-get update -qy && apt-get install -qy nginx
    network: {bridge: brctrl0, tap_prefix: ctrl, gateway: 192.168.137.1/24}
  - name: sbox
    count: 0
    vcpu: 2
    ram_gb: 4
    storage: zfs
    network:
      mode: isolated
      range: 169.254.100.0/22
      drop: ["192.168.1.0/24"]
  image: "ghcr.io/openfaasltd/slicer-systemd-min:6.1.90-x86_64-latest"
  graceful_shutdown: false
  api:
    bind_address: "/run/slicer/tenant-a.sock"
"#;

#[test]
fn documented_examples_parse_with_defaults_applied() {
    let groups = ok(SERVICE_EXAMPLE);
    assert_eq!(groups.len(), 1);
    let vm = &groups[0];
    assert_eq!((vm.count, vm.vcpus, vm.ram_bytes), (1, 2, 4 << 30));
    assert_eq!(vm.storage_size_bytes, Some(25 << 30));
    assert_eq!(
        vm.dns_servers,
        [Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(1, 1, 1, 1)]
    );
    let net = vm.network.as_ref().unwrap();
    assert_eq!(net.mode, NetworkMode::Bridge);
    assert_eq!(net.gateway.unwrap().to_string(), "192.168.137.1/24");

    let groups = ok(TWO_GROUP_EXAMPLE);
    assert_eq!(
        groups[0].userdata.as_deref(),
        Some("apt-get update -qy && apt-get install -qy nginx\n")
    );
    assert_eq!(groups[1].count, 0);
    assert_eq!(groups[1].storage, StorageKind::Zfs);
    assert_eq!(
        groups[1]
            .network
            .as_ref()
            .unwrap()
            .isolated_range
            .unwrap()
            .to_string(),
        "169.254.100.0/22"
    );
}

#[test]
fn unknown_keys_are_named_with_their_location() {
    let text = errors("config:\n  host_groups:\n  - name: a\n    storage_size: 1G\n    rams: 4\n");
    assert!(text.contains("rams") && text.contains("line"), "{text}");
}

#[test]
fn each_rule_names_the_group_and_field() {
    let group = |body: &str| format!("config:\n  host_groups:\n  - name: g1\n{body}");
    let cases = [
        (
            "    storage_size: 1G\n    ram_gb: 1\n    ram_mb: 512\n",
            "host_groups[g1].ram_mb: set at most one",
        ),
        (
            "    vcpu: 1\n",
            "host_groups[g1].storage_size: is required with storage image",
        ),
        (
            "    storage: devmapper\n    storage_size: 1G\n",
            "host_groups[g1].storage_size: is not allowed",
        ),
        (
            "    storage_size: lots\n",
            "host_groups[g1].storage_size: \"lots\"",
        ),
        (
            "    storage_size: 1G\n    vcpu: 0\n",
            "host_groups[g1].vcpu: must be at least 1",
        ),
        (
            "    storage_size: 1G\n    dns_servers: [\"dns.google\"]\n",
            "host_groups[g1].dns_servers",
        ),
        (
            "    storage_size: 1G\n    network: {bridge: br0, tap_prefix: averyveryverylongprefix, gateway: 10.0.0.1/24}\n",
            "network.tap_prefix",
        ),
        (
            "    storage_size: 1G\n    network: {bridge: br0, gateway: 10.0.0.0/24}\n",
            "network.gateway",
        ),
        (
            "    storage_size: 1G\n    network: {bridge: br0, gateway: 10.0.0.1/24, range: 10.0.0.9-10.0.0.3}\n",
            "network.range",
        ),
        (
            "    storage_size: 1G\n    network: {bridge: br0, gateway: 10.0.0.1/24, addresses: [10.0.1.5]}\n",
            "network.addresses",
        ),
        (
            "    storage_size: 1G\n    network: {mode: nat}\n",
            "nat is Slicer for Mac only",
        ),
        (
            "    storage_size: 1G\n    network: {mode: isolated, drop: [\"not-an-ip\"]}\n",
            "network.drop",
        ),
        (
            "    storage_size: 1G\n    gpu_count: 1\n",
            "host_groups[g1].gpu_count",
        ),
        (
            "    storage: image\n    storage_size: 1G\n    userdata: x\n    userdata_file: y.sh\n",
            "userdata_file",
        ),
    ];
    for (body, expected) in cases {
        let text = errors(&group(body));
        assert!(text.contains(expected), "expected {expected:?} in: {text}");
    }
}

#[test]
fn long_names_break_isolated_mode_only() {
    let yaml = |mode: &str| {
        format!(
            "config:\n  host_groups:\n  - name: averylonggroup\n    storage_size: 1G\n    network: {{mode: {mode}, bridge: br0, gateway: 10.0.0.1/24}}\n"
        )
    };
    assert!(errors(&yaml("isolated")).contains("must fit in 15 characters"));
    ok(&yaml("bridge"));
}

#[test]
fn groups_must_not_share_names_subnets_or_bridges() {
    let text = errors(
        "config:\n  host_groups:\n  - name: a\n    storage_size: 1G\n    network: {bridge: br0, gateway: 10.0.0.1/24}\n  - name: a\n    storage_size: 1G\n    network: {bridge: br0, gateway: 10.0.0.129/25}\n",
    );
    assert!(
        text.contains("host_groups[a].name: is used by more than one"),
        "{text}"
    );
    assert!(text.contains("overlaps"), "{text}");
    assert!(text.contains("br0 is also the bridge"), "{text}");
}

#[test]
fn mac_only_and_unknown_hypervisors_are_refused() {
    assert!(
        errors("config:\n  hypervisor: apple\n")
            .contains("hypervisor: apple is Slicer for Mac only")
    );
    assert!(errors("config:\n  hypervisor: xen\n").contains("unknown hypervisor"));
    assert!(
        errors("config:\n  hypervisor: firecracker\n  pci: {r-1: [\"0000:04:00.0\"]}\n")
            .contains("pci:")
    );
}

#[test]
fn userdata_file_is_read_from_the_base_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("setup.sh"), "echo hi\n").unwrap();
    let yaml =
        "config:\n  host_groups:\n  - name: a\n    storage_size: 1G\n    userdata_file: setup.sh\n";
    let (_, groups) = parse(yaml, Path::new("hosts.yaml"), dir.path()).unwrap();
    assert_eq!(groups[0].userdata.as_deref(), Some("echo hi\n"));
}
