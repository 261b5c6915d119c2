//! Egress for a group's subnet: IPv4 forwarding through `/proc/sys`, and
//! masquerading with `nft` (a dedicated `slicer` table) or else `iptables`.
//! There is no netlink nftables client we want to depend on, so the rules
//! are made by running the tools; when neither works the VMs still reach
//! the host and each other, and the status says why NAT is missing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use super::name;
use crate::network::EgressStatus;

/// The sysctls that must read `1` for the host to route VM traffic.
const FORWARDING_SYSCTLS: [&str; 2] = [
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv4/conf/all/forwarding",
];

/// Where tools are looked for besides `$PATH`, which often lacks the sbin
/// directories when the daemon is started by hand.
const SBIN_DIRS: [&str; 3] = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// The nftables table that holds every slicer rule, so they never mix with
/// the host's own rules and can be listed or dropped in one go.
const NFT_TABLE: &str = "slicer";
const NFT_CHAIN: &str = "postrouting";

/// Set up forwarding and NAT for `subnet` behind `bridge`.
pub(super) async fn ensure(bridge: &str, subnet: Ipv4Net) -> EgressStatus {
    if let Err(error) = name::validate(bridge) {
        return EgressStatus::Unavailable {
            reason: error.to_string(),
        };
    }
    for sysctl in FORWARDING_SYSCTLS {
        if let Err(reason) = enable(Path::new(sysctl)) {
            return EgressStatus::Unavailable { reason };
        }
    }
    let rule = Masquerade::new(bridge, subnet);
    let mut failures = Vec::new();
    match find_program("nft", &search_dirs()) {
        Some(nft) => match masquerade_with_nft(&nft, &rule).await {
            Ok(()) => return masqueraded("nft"),
            Err(reason) => failures.push(reason),
        },
        None => failures.push("no nft binary".to_owned()),
    }
    match find_program("iptables", &search_dirs()) {
        Some(iptables) => match masquerade_with_iptables(&iptables, &rule).await {
            Ok(()) => return masqueraded("iptables"),
            Err(reason) => failures.push(reason),
        },
        None => failures.push("no iptables binary".to_owned()),
    }
    EgressStatus::ForwardingOnly {
        reason: format!(
            "subnet {} is not masqueraded: {}",
            rule.subnet,
            failures.join("; ")
        ),
    }
}

fn masqueraded(via: &str) -> EgressStatus {
    EgressStatus::Masqueraded {
        via: via.to_owned(),
    }
}

/// Write `1` to `sysctl` unless it already reads `1` (a read-only
/// `/proc/sys` in a container is fine when forwarding is already on).
fn enable(sysctl: &Path) -> Result<(), String> {
    if std::fs::read_to_string(sysctl).is_ok_and(|value| value.trim() == "1") {
        return Ok(());
    }
    std::fs::write(sysctl, "1\n")
        .map_err(|error| format!("cannot enable forwarding in {}: {error}", sysctl.display()))
}

/// One masquerade rule: traffic from `subnet` leaving by any interface but
/// its own bridge (VM-to-VM and VM-to-gateway traffic keeps its source).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Masquerade {
    bridge: String,
    subnet: Ipv4Net,
}

impl Masquerade {
    /// The rule for `subnet` (a gateway address such as `10.0.0.1/24` is
    /// taken as its network) behind `bridge`.
    fn new(bridge: &str, subnet: Ipv4Net) -> Self {
        Self {
            bridge: bridge.to_owned(),
            subnet: subnet.trunc(),
        }
    }

    /// The comment that marks our rule, so the check before adding finds
    /// exactly this rule and not a look-alike.
    fn comment(&self) -> String {
        format!("slicer:{}:{}", self.bridge, self.subnet)
    }

    /// `nft` commands that create the table and the NAT chain; `add` is a
    /// no-op for ones that exist.
    fn nft_setup(&self) -> Vec<Vec<String>> {
        vec![
            args(&["add", "table", "ip", NFT_TABLE]),
            args(&[
                "add",
                "chain",
                "ip",
                NFT_TABLE,
                NFT_CHAIN,
                "{",
                "type",
                "nat",
                "hook",
                "postrouting",
                "priority",
                "100",
                ";",
                "}",
            ]),
        ]
    }

    /// `nft` arguments that print the chain, for the check before adding.
    fn nft_list(&self) -> Vec<String> {
        args(&["list", "chain", "ip", NFT_TABLE, NFT_CHAIN])
    }

    /// Whether `listing` (from [`Self::nft_list`]) has this rule.
    fn nft_listed(&self, listing: &str) -> bool {
        listing.contains(&format!("comment \"{}\"", self.comment()))
    }

    /// `nft` arguments that add the rule.
    fn nft_add(&self) -> Vec<String> {
        let mut out = args(&["add", "rule", "ip", NFT_TABLE, NFT_CHAIN, "ip", "saddr"]);
        out.push(self.subnet.to_string());
        out.extend(args(&["oifname", "!="]));
        out.push(format!("\"{}\"", self.bridge));
        out.extend(args(&["masquerade", "comment"]));
        out.push(format!("\"{}\"", self.comment()));
        out
    }

    fn iptables_rule(&self, action: &str) -> Vec<String> {
        let mut out = args(&["-t", "nat", action, "POSTROUTING", "-s"]);
        out.push(self.subnet.to_string());
        out.extend(args(&["!", "-o"]));
        out.push(self.bridge.clone());
        out.extend(args(&["-j", "MASQUERADE"]));
        out
    }

    /// `iptables` arguments that succeed only if the rule exists.
    fn iptables_check(&self) -> Vec<String> {
        self.iptables_rule("-C")
    }

    /// `iptables` arguments that append the rule.
    fn iptables_append(&self) -> Vec<String> {
        self.iptables_rule("-A")
    }
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| (*word).to_owned()).collect()
}

async fn masquerade_with_nft(nft: &Path, rule: &Masquerade) -> Result<(), String> {
    for setup in rule.nft_setup() {
        run(nft, &setup).await?;
    }
    if rule.nft_listed(&run(nft, &rule.nft_list()).await?) {
        return Ok(());
    }
    run(nft, &rule.nft_add()).await.map(drop)
}

async fn masquerade_with_iptables(iptables: &Path, rule: &Masquerade) -> Result<(), String> {
    if run(iptables, &rule.iptables_check()).await.is_ok() {
        return Ok(());
    }
    run(iptables, &rule.iptables_append()).await.map(drop)
}

/// Run `program` with `arguments`; its stdout, or a reason naming the
/// command, its exit status and what it printed on stderr.
async fn run(program: &Path, arguments: &[String]) -> Result<String, String> {
    let command = format!("{} {}", program.display(), arguments.join(" "));
    let output = tokio::process::Command::new(program)
        .args(arguments)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|error| format!("cannot run `{command}`: {error}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(format!(
        "`{command}` failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

/// `$PATH`, then the sbin directories.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(SBIN_DIRS.iter().map(PathBuf::from));
    dirs
}

/// The first executable file called `program` in `dirs`.
fn find_program(program: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter().map(|dir| dir.join(program)).find(|path| {
        path.metadata()
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Masquerade {
        Masquerade::new("slicer0", "10.77.0.1/24".parse().unwrap())
    }

    #[test]
    fn subnet_is_the_network_of_the_gateway() {
        assert_eq!(rule().subnet.to_string(), "10.77.0.0/24");
    }

    #[test]
    fn nft_commands_use_a_dedicated_table_and_a_marked_rule() {
        let rule = rule();
        let setup: Vec<String> = rule.nft_setup().iter().map(|c| c.join(" ")).collect();
        assert_eq!(
            setup,
            [
                "add table ip slicer",
                "add chain ip slicer postrouting { type nat hook postrouting priority 100 ; }",
            ]
        );
        assert_eq!(
            rule.nft_list().join(" "),
            "list chain ip slicer postrouting"
        );
        assert_eq!(
            rule.nft_add().join(" "),
            "add rule ip slicer postrouting ip saddr 10.77.0.0/24 oifname != \"slicer0\" \
             masquerade comment \"slicer:slicer0:10.77.0.0/24\""
        );
    }

    #[test]
    fn nft_listing_is_checked_for_this_rule_only() {
        let listing = "table ip slicer {\n\tchain postrouting {\n\t\ttype nat hook postrouting \
                       priority srcnat; policy accept;\n\t\tip saddr 10.77.0.0/24 oifname != \
                       \"slicer0\" masquerade comment \"slicer:slicer0:10.77.0.0/24\"\n\t}\n}\n";
        assert!(rule().nft_listed(listing));
        let other = Masquerade::new("slicer1", "10.78.0.0/24".parse().unwrap());
        assert!(!other.nft_listed(listing));
        assert!(!rule().nft_listed("table ip slicer {\n}\n"));
    }

    #[test]
    fn iptables_check_and_append_name_the_same_rule() {
        let rule = rule();
        assert_eq!(
            rule.iptables_check().join(" "),
            "-t nat -C POSTROUTING -s 10.77.0.0/24 ! -o slicer0 -j MASQUERADE"
        );
        assert_eq!(
            rule.iptables_append().join(" "),
            "-t nat -A POSTROUTING -s 10.77.0.0/24 ! -o slicer0 -j MASQUERADE"
        );
    }

    #[test]
    fn programs_are_found_only_if_executable() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("nft");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        let dirs = vec![PathBuf::from("/nonexistent"), dir.path().to_owned()];
        assert_eq!(find_program("nft", &dirs), None, "not executable");
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_program("nft", &dirs), Some(plain));
        assert_eq!(find_program("iptables", &dirs), None);
    }

    /// A stand-in for a tool: logs its arguments to `log` and runs `body`.
    fn fake_tool(dir: &Path, name: &str, body: &str) -> (PathBuf, PathBuf) {
        let log = dir.join(format!("{name}.log"));
        let tool = dir.join(name);
        let script = format!(
            "#!/bin/sh\nLOG='{}'\n{body}\necho \"$*\" >> \"$LOG\"\n",
            log.display()
        );
        std::fs::write(&tool, script).unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        (tool, log)
    }

    fn logged(log: &Path) -> Vec<String> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[tokio::test]
    async fn nft_adds_the_rule_once() {
        let dir = tempfile::tempdir().unwrap();
        // `list` prints what was added so far, as the real chain would.
        let (nft, log) = fake_tool(dir.path(), "nft", r#"[ "$1" = list ] && cat "$LOG""#);
        masquerade_with_nft(&nft, &rule()).await.unwrap();
        masquerade_with_nft(&nft, &rule()).await.unwrap();
        let adds: Vec<String> = logged(&log)
            .into_iter()
            .filter(|line| line.starts_with("add rule"))
            .collect();
        assert_eq!(adds, [rule().nft_add().join(" ")]);
    }

    #[tokio::test]
    async fn nft_without_kernel_support_is_an_error_naming_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let (nft, _) = fake_tool(
            dir.path(),
            "nft",
            "echo 'Error: Could not process rule: Operation not supported' >&2; exit 1",
        );
        let err = masquerade_with_nft(&nft, &rule()).await.unwrap_err();
        assert!(err.contains("add table ip slicer` failed"), "{err}");
        assert!(err.contains("Operation not supported"), "{err}");
    }

    #[tokio::test]
    async fn iptables_appends_only_when_the_check_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (iptables, log) = fake_tool(
            dir.path(),
            "iptables",
            r#"if [ "$3" = -C ]; then grep -q -e '-A POSTROUTING' "$LOG" 2>/dev/null; exit $?; fi"#,
        );
        masquerade_with_iptables(&iptables, &rule()).await.unwrap();
        masquerade_with_iptables(&iptables, &rule()).await.unwrap();
        assert_eq!(logged(&log), [rule().iptables_append().join(" ")]);
    }

    #[tokio::test]
    async fn failed_commands_name_the_command_and_stderr() {
        let err = run(
            Path::new("/bin/sh"),
            &args(&["-c", "echo nope >&2; exit 3"]),
        )
        .await
        .unwrap_err();
        assert!(
            err.contains("`/bin/sh -c echo nope >&2; exit 3` failed"),
            "{err}"
        );
        assert!(err.ends_with(": nope"), "{err}");
    }

    #[tokio::test]
    async fn bad_bridge_names_make_egress_unavailable() {
        let status = ensure("bad name", "10.0.0.0/24".parse().unwrap()).await;
        assert!(
            matches!(&status, EgressStatus::Unavailable { reason } if reason.contains("\"bad name\"")),
            "{status:?}"
        );
    }
}
