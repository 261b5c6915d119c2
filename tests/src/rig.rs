//! [`Rig`]: finds the images and the driver, makes scratch disks and run
//! directories, and boots guests with a timeout and one retry.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use slicer_controller::hypervisor::qemu::QemuDriver;
use slicer_controller::hypervisor::spec::{GuestNetwork, GuestSettings, NicSpec};
use slicer_controller::hypervisor::{Hypervisor, VmSpec};
use slicer_controller::image::GuestImage;
use slicer_controller::paths::DataDir;
use slicer_controller::storage::clone_file;

use crate::guest::Guest;

/// Guests booted by this process, for the CI summary.
static BOOTED: AtomicUsize = AtomicUsize::new(0);

/// Environment variable naming a file that gets one line per booted guest,
/// so a CI run can print how many guests all test binaries booted.
pub const BOOT_LOG_ENV: &str = "SLICER_E2E_BOOT_LOG";

/// How many guests this process booted.
pub fn booted_guests() -> usize {
    BOOTED.load(Ordering::SeqCst)
}

/// What to boot.
#[derive(Debug, Clone)]
pub struct GuestOptions {
    /// VM name and hostname.
    pub name: String,
    /// Image name (`min` or `full`).
    pub image: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// Boot this existing disk instead of a fresh clone of the image.
    pub disk: Option<PathBuf>,
    /// NIC on an existing TAP device, with the guest's address.
    pub nic: Option<(NicSpec, GuestNetwork)>,
    /// How long one boot attempt may take to reach agent-ready.
    pub boot_timeout: Duration,
}

impl GuestOptions {
    /// A small `min` guest named `name`.
    pub fn min(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            image: "min".to_owned(),
            vcpus: 1,
            memory_mib: 256,
            disk: None,
            nic: None,
            boot_timeout: Duration::from_secs(45),
        }
    }

    /// A systemd `full` guest named `name`.
    pub fn full(name: &str) -> Self {
        Self {
            image: "full".to_owned(),
            memory_mib: 1024,
            boot_timeout: Duration::from_secs(120),
            ..Self::min(name)
        }
    }
}

/// The test rig.
#[derive(Debug)]
pub struct Rig {
    data: DataDir,
    driver: Arc<QemuDriver>,
    scratch: tempfile::TempDir,
}

impl Rig {
    /// Find the driver and make a scratch directory. Fails with a clear
    /// message when not root or when images are missing.
    pub fn new() -> anyhow::Result<Self> {
        if !nix::unistd::Uid::effective().is_root() {
            bail!("end-to-end tests boot VMs and need root (run them with sudo)");
        }
        let driver = QemuDriver::detect()
            .context("the QEMU driver cannot run here; run deploy/install.sh first")?;
        let scratch = tempfile::Builder::new()
            .prefix("slicer-e2e-")
            .tempdir_in(scratch_root())
            .context("cannot create a scratch directory")?;
        Ok(Self {
            data: DataDir::from_env(),
            driver: Arc::new(driver),
            scratch,
        })
    }

    /// The driver guests are launched with.
    pub fn driver(&self) -> &Arc<QemuDriver> {
        &self.driver
    }

    /// The scratch directory removed with the rig.
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// A built image; a missing one is an error naming the build command.
    pub fn image(&self, name: &str) -> anyhow::Result<GuestImage> {
        Ok(GuestImage::open(&self.data, name)?)
    }

    /// A fresh disk for `name`, cloned from the image's root filesystem.
    pub fn new_disk(&self, image: &str, name: &str) -> anyhow::Result<PathBuf> {
        let disk = self.scratch.path().join(format!("{name}.img"));
        clone_file(&self.image(image)?.rootfs(), &disk)?;
        Ok(disk)
    }

    /// The spec the rig launches for `options` on `disk`.
    pub fn spec(
        &self,
        options: &GuestOptions,
        disk: PathBuf,
        attempt: u32,
    ) -> anyhow::Result<VmSpec> {
        let run_dir = self
            .scratch
            .path()
            .join(format!("run-{}-{attempt}", options.name));
        Ok(VmSpec {
            name: options.name.clone(),
            vcpus: options.vcpus,
            memory_mib: options.memory_mib,
            boot: self.image(&options.image)?.boot_source(GuestSettings {
                hostname: options.name.clone(),
                network: options.nic.as_ref().map(|(_, net)| net.clone()),
            }),
            root_disk: disk,
            nic: options.nic.as_ref().map(|(nic, _)| nic.clone()),
            console_log: self
                .scratch
                .path()
                .join(format!("{}.console.log", options.name)),
            run_dir,
        })
    }

    /// Boot a guest and wait for its agent. A boot that stalls is reported
    /// with its console log and retried once; a second stall is an error
    /// carrying the console log, never a hang.
    pub async fn boot(&self, options: GuestOptions) -> anyhow::Result<Guest> {
        let disk = match &options.disk {
            Some(disk) => disk.clone(),
            None => self.new_disk(&options.image, &options.name)?,
        };
        let mut failures = Vec::new();
        for attempt in 1..=2 {
            let spec = self.spec(&options, disk.clone(), attempt)?;
            match self.boot_once(spec, options.boot_timeout).await {
                Ok(mut guest) => {
                    record_boot(&options.name, guest.boot_time);
                    guest.boot_attempt = attempt;
                    return Ok(guest);
                }
                Err(err) => {
                    eprintln!("e2e: boot {attempt} of {} failed: {err:#}", options.name);
                    failures.push(format!("attempt {attempt}: {err:#}"));
                }
            }
        }
        bail!(
            "guest {} did not boot twice:\n{}",
            options.name,
            failures.join("\n")
        )
    }

    async fn boot_once(&self, spec: VmSpec, timeout: Duration) -> anyhow::Result<Guest> {
        let console_log = spec.console_log.clone();
        let start = Instant::now();
        let handle = self.driver.launch(&spec).await?;
        let ready = handle.agent().wait_ready(timeout).await;
        let boot_time = start.elapsed();
        match ready {
            Ok(_) => Ok(Guest::new(spec, handle, self.driver.clone(), boot_time)),
            Err(err) => {
                let _ = self.driver.kill(&handle).await;
                let console = std::fs::read_to_string(&console_log).unwrap_or_default();
                let tail: Vec<&str> = console.lines().rev().take(30).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!(
                    "{err} after {boot_time:?}; console log tail:\n{}",
                    tail.join("\n")
                )
            }
        }
    }
}

/// Disks and run directories go under `/var/tmp` (the same filesystem as
/// the data dir on most hosts, so reflinks can apply), else `/tmp`.
fn scratch_root() -> PathBuf {
    std::env::var_os("SLICER_E2E_SCRATCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp"))
}

pub(crate) fn record_boot(name: &str, boot_time: Duration) {
    let n = BOOTED.fetch_add(1, Ordering::SeqCst) + 1;
    eprintln!("e2e: booted guest {name} in {boot_time:?} ({n} in this process)");
    if let Some(path) = std::env::var_os(BOOT_LOG_ENV) {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{name} {}", boot_time.as_millis());
        }
    }
}
