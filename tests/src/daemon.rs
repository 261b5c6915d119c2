//! [`TestDaemon`]: a real `slicer up` process in a private, named network
//! namespace with its own data directory, driven through the real CLI and
//! API, and killed (or cleanly stopped) and restarted by tests.
//!
//! The namespace is named (`ip netns add`) rather than unshared, so a
//! restarted daemon joins the same one and finds its bridges and TAPs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use slicer_api::client::{Endpoint, SlicerClient};
use slicer_api::types::{NodeInfo, TagFilter};
use slicer_controller::hypervisor::VmHandle;
use slicer_controller::paths::DataDir;

/// Where `deploy/install.sh` builds the images; `SLICER_E2E_IMAGES`
/// points the tests at a private build instead (one with a newer agent).
const IMAGES: &str = "/var/lib/slicer/images";

fn images() -> String {
    std::env::var("SLICER_E2E_IMAGES").unwrap_or_else(|_| IMAGES.to_owned())
}

static DAEMONS: AtomicUsize = AtomicUsize::new(0);

/// A daemon under test.
#[derive(Debug)]
pub struct TestDaemon {
    /// The network namespace it runs in.
    pub netns: String,
    slicer: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
    starts: usize,
    booted: HashSet<(String, i32)>,
}

impl TestDaemon {
    /// A daemon (not started yet) run from the `slicer` program at
    /// `slicer` (tests pass `env!("CARGO_BIN_EXE_slicer-e2e-cli")`), with a
    /// fresh data directory whose `images/` are the installed images, in a
    /// fresh network namespace.
    pub fn new(slicer: &str) -> anyhow::Result<Self> {
        if !nix::unistd::geteuid().is_root() {
            bail!("controller end-to-end tests need root (bridges, TAPs, VMs)");
        }
        let images = images();
        if !Path::new(&images).join("min/manifest.json").exists() {
            bail!("no min image in {images}: run deploy/install.sh first");
        }
        let dir = tempfile::Builder::new()
            .prefix("slicer-e2e-")
            .tempdir_in("/var/tmp")?;
        std::os::unix::fs::symlink(&images, dir.path().join("images"))?;
        let netns = format!(
            "slicer-e2e-{}-{}",
            std::process::id(),
            DAEMONS.fetch_add(1, Ordering::SeqCst)
        );
        let status = Command::new("ip").args(["netns", "add", &netns]).status()?;
        if !status.success() {
            bail!("ip netns add {netns} failed");
        }
        Ok(Self {
            netns,
            slicer: slicer.into(),
            dir,
            child: None,
            starts: 0,
            booted: HashSet::new(),
        })
    }

    /// The data directory.
    pub fn data(&self) -> DataDir {
        DataDir::new(self.dir.path())
    }

    /// A file in the daemon's scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The API client.
    pub fn client(&self) -> SlicerClient {
        SlicerClient::new(Endpoint::Unix(self.data().api_socket()), None)
    }

    /// Start `slicer up CONFIG` and wait until the API answers.
    pub async fn start(&mut self, config: &Path) -> anyhow::Result<()> {
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&format!("daemon-{}.log", self.starts)))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .arg(&self.slicer)
            .arg("up")
            .arg(config)
            .env("SLICER_DATA_DIR", self.dir.path())
            .env("SLICER_LOG", "info,netlink_packet_route=error")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start slicer up")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.client().healthz().await.is_ok() {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                bail!("slicer up exited with {status}:\n{}", self.log_tail());
            }
            if Instant::now() > deadline {
                bail!("slicer up did not answer within 30s:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The pid of the running daemon.
    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok())
    }

    /// SIGKILL the daemon, as a crash would.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM the daemon and wait for its clean stop.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(i32::try_from(child.id())?);
            kill(pid, Signal::SIGTERM)?;
            let status = child.wait()?;
            if !status.success() {
                bail!("slicer up stopped with {status}:\n{}", self.log_tail());
            }
        }
        Ok(())
    }

    /// The last lines of the current daemon log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.path(&format!("daemon-{}.log", self.starts)))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Run the CLI with `args`.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<Output> {
        Ok(Command::new(&self.slicer)
            .args(args)
            .env("SLICER_DATA_DIR", self.dir.path())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()?)
    }

    /// Run the CLI and return its stdout, failing on a non-zero exit.
    pub fn cli_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.cli(args)?;
        if !out.status.success() {
            bail!(
                "slicer {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Run `command` inside the daemon's network namespace.
    pub fn in_netns(&self, command: &[&str]) -> anyhow::Result<Output> {
        Ok(Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .args(command)
            .output()?)
    }

    /// Every VM the API lists.
    pub async fn nodes(&self) -> anyhow::Result<Vec<NodeInfo>> {
        Ok(self.client().nodes(None, &TagFilter::default()).await?)
    }

    /// Wait until exactly `names` exist and all of them run; records each
    /// new run as a booted guest for the CI summary.
    pub async fn wait_running(
        &mut self,
        names: &[&str],
        timeout: Duration,
    ) -> anyhow::Result<Vec<NodeInfo>> {
        let deadline = Instant::now() + timeout;
        loop {
            let nodes = self.nodes().await?;
            let mut listed: Vec<&str> = nodes.iter().map(|n| n.hostname.as_str()).collect();
            listed.sort_unstable();
            let mut wanted = names.to_vec();
            wanted.sort_unstable();
            if listed == wanted && nodes.iter().all(|n| n.status == "Running") {
                for node in &nodes {
                    if let Some(pid) = self.vmm_pid(&node.hostname)
                        && self.booted.insert((node.hostname.clone(), pid))
                    {
                        crate::rig::record_boot(&node.hostname, Duration::ZERO);
                    }
                }
                return Ok(nodes);
            }
            if Instant::now() > deadline {
                bail!(
                    "wanted {wanted:?} running, have {:?}\n{}",
                    nodes
                        .iter()
                        .map(|n| (&n.hostname, &n.status))
                        .collect::<Vec<_>>(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The VMM pid recorded in a VM's run directory, if it runs.
    pub fn vmm_pid(&self, hostname: &str) -> Option<i32> {
        VmHandle::load(&self.data().run_dir(hostname))
            .ok()
            .flatten()
            .filter(VmHandle::is_running)
            .map(|h| h.vmm.pid)
    }

    /// Processes whose arguments point into the data directory.
    pub fn processes(&self) -> Vec<i32> {
        let daemon = self.pid();
        slicer_controller::hypervisor::sweep::processes_using(self.dir.path())
            .into_iter()
            .filter(|pid| Some(*pid) != daemon)
            .collect()
    }

    /// Link names in the namespace starting with `prefix`.
    pub fn links(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let out = self.in_netns(&["ls", "/sys/class/net"])?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect())
    }

    /// Entries of a data subdirectory.
    pub fn entries(&self, dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        let _ = self.kill9();
        if std::thread::panicking() || std::env::var_os("SLICER_E2E_KEEP").is_some() {
            // Keep the logs of a failed run for whoever reads the CI output.
            let keep = std::env::temp_dir().join(format!("{}-logs", self.netns));
            let _ = Command::new("cp")
                .arg("-r")
                .arg(self.dir.path())
                .arg(&keep)
                .status();
            eprintln!("e2e: daemon logs kept in {}", keep.display());
        }
        slicer_controller::hypervisor::sweep::kill_processes_using(self.dir.path());
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}
