//! `slicer run`: boot a throwaway VM, run one command in it, print its
//! output, tear the VM down and exit with the command's exit code.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use slicer_api::types::{ExecFrameKind, ExecQuery};

use crate::agent_client::empty_body;
use crate::config::HypervisorName;
use crate::hypervisor::VmSpec;
use crate::hypervisor::choice;
use crate::hypervisor::spec::GuestSettings;
use crate::image::GuestImage;
use crate::paths::DataDir;
use crate::storage::clone_file;

/// Flags of `slicer run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Image to boot.
    #[arg(long, default_value = "min")]
    pub image: String,
    /// vCPUs.
    #[arg(long, default_value_t = 1)]
    pub cpus: u32,
    /// Memory in MiB.
    #[arg(long, default_value_t = 256)]
    pub ram_mb: u32,
    /// How long to wait for the guest agent.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Hypervisor: firecracker, qemu or cloud-hypervisor. Default: the best
    /// one this host can run (Firecracker with working KVM, else QEMU).
    #[arg(long, value_parser = parse_hypervisor)]
    pub hypervisor: Option<HypervisorName>,
    /// Data directory (default /var/lib/slicer, or $SLICER_DATA_DIR).
    #[arg(long, env = "SLICER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The command, run through /bin/bash in the guest.
    #[arg(required = true, trailing_var_arg = true)]
    pub command: Vec<String>,
}

impl RunArgs {
    /// Boot, run, tear down; returns the command's exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        let data = self
            .data_dir
            .clone()
            .map_or_else(DataDir::from_env, DataDir::new);
        let image = GuestImage::open(&data, &self.image)?;
        let chosen = choice::choose(self.hypervisor)?;
        let driver = chosen.driver;
        eprintln!("slicer run: {} ({})", driver.describe(), chosen.reason);
        let name = format!("run-{}", std::process::id());
        let scratch = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in(data.root())?;
        let disk = scratch.path().join("disk.img");
        clone_file(&image.rootfs(), &disk)?;
        let spec = VmSpec {
            name: name.clone(),
            vcpus: self.cpus,
            memory_mib: self.ram_mb,
            boot: image.boot_source(GuestSettings {
                hostname: name.clone(),
                network: None,
            }),
            root_disk: disk,
            nic: None,
            run_dir: scratch.path().join("run"),
            console_log: scratch.path().join("console.log"),
        };
        let handle = driver.launch(&spec).await?;
        let result = async {
            let health = handle
                .agent()
                .wait_ready(self.timeout)
                .await
                .with_context(|| {
                    format!(
                        "console log:\n{}",
                        std::fs::read_to_string(&spec.console_log).unwrap_or_default()
                    )
                })?;
            eprintln!(
                "slicer run: {} ready (agent {})",
                health.hostname, health.agent_version
            );
            let query = ExecQuery {
                cmd: self.command.join(" "),
                ..ExecQuery::default()
            };
            let mut frames = handle.agent().exec(&query, empty_body()).await?;
            let mut exit_code = 1;
            while let Some(frame) = frames.next_frame().await {
                let frame = frame?;
                if let Some((kind, data)) = frame.output_payload() {
                    if kind == ExecFrameKind::Stderr {
                        eprint!("{data}");
                    } else {
                        print!("{data}");
                        std::io::stdout().flush()?;
                    }
                }
                if let Some(error) = &frame.error {
                    eprintln!("slicer run: {error}");
                }
                if let Some(code) = frame.exit_code {
                    exit_code = code;
                }
            }
            anyhow::Ok(exit_code)
        }
        .await;
        driver.shutdown(&handle, Duration::from_secs(10)).await?;
        result
    }
}

/// The `--hypervisor` names, spelt as in the config file.
fn parse_hypervisor(name: &str) -> Result<HypervisorName, String> {
    match name {
        "firecracker" => Ok(HypervisorName::Firecracker),
        "qemu" => Ok(HypervisorName::Qemu),
        "cloud-hypervisor" => Ok(HypervisorName::CloudHypervisor),
        other => Err(format!(
            "unknown hypervisor {other:?}; use firecracker, qemu or cloud-hypervisor"
        )),
    }
}
