//! `slicer service generate [--install] CONFIG`: a systemd unit that runs
//! `slicer up CONFIG` (`reference/slicer.md` §3.12), from the template in
//! `deploy/systemd/slicer.service`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

/// The unit template; `@NAME@`-style placeholders are filled in.
const TEMPLATE: &str = include_str!("../../../deploy/systemd/slicer.service");

/// `slicer service` verbs.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Print (or with --install, install and start) a systemd unit.
    Generate(GenerateArgs),
}

/// Flags of `slicer service generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The config the daemon runs.
    pub config: PathBuf,
    /// Unit name.
    #[arg(long, default_value = "slicer")]
    pub name: String,
    /// Run slicer through sudo as this user (needs a NOPASSWD sudoers entry).
    #[arg(long)]
    pub user: Option<String>,
    /// Working directory (default: the current one).
    #[arg(long)]
    pub working_directory: Option<PathBuf>,
    /// Seconds systemd waits for the daemon to stop its guests.
    #[arg(long, default_value_t = 120)]
    pub timeout_stop_sec: u32,
    /// Suspend VMs on shutdown (not supported by this daemon yet).
    #[arg(long)]
    pub suspend_on_shutdown: bool,
    /// Write /etc/systemd/system/NAME.service, then enable and start it.
    #[arg(long)]
    pub install: bool,
    /// Overwrite an existing unit.
    #[arg(long)]
    pub force: bool,
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_owned());
    }
    Ok(std::env::current_dir()
        .context("cannot read the working directory")?
        .join(path))
}

impl GenerateArgs {
    /// The unit text.
    pub fn unit(&self) -> anyhow::Result<String> {
        if self.suspend_on_shutdown {
            anyhow::bail!(
                "--suspend-on-shutdown is not supported: this daemon cannot suspend vms yet"
            );
        }
        let exe = std::env::current_exe().context("cannot find the slicer binary")?;
        let exec = match &self.user {
            Some(_) => format!("/usr/bin/sudo -E {}", exe.display()),
            None => exe.display().to_string(),
        };
        let workdir = match &self.working_directory {
            Some(dir) => absolute(dir)?,
            None => std::env::current_dir().context("cannot read the working directory")?,
        };
        Ok(TEMPLATE
            .replace("@NAME@", &self.name)
            .replace("@USER@", self.user.as_deref().unwrap_or("root"))
            .replace("@WORKDIR@", &workdir.display().to_string())
            .replace("@EXEC@", &exec)
            .replace("@CONFIG@", &absolute(&self.config)?.display().to_string())
            .replace("@TIMEOUT@", &self.timeout_stop_sec.to_string()))
    }

    fn install_unit(&self, unit: &str) -> anyhow::Result<()> {
        let path = PathBuf::from(format!("/etc/systemd/system/{}.service", self.name));
        if path.exists() && !self.force {
            anyhow::bail!("{} exists; give --force to overwrite it", path.display());
        }
        std::fs::write(&path, unit).with_context(|| format!("cannot write {}", path.display()))?;
        for args in [
            vec!["daemon-reload"],
            vec!["enable", "--now", self.name.as_str()],
        ] {
            let status = std::process::Command::new("systemctl")
                .args(&args)
                .status()
                .context("cannot run systemctl")?;
            if !status.success() {
                anyhow::bail!("systemctl {} failed: {status}", args.join(" "));
            }
        }
        eprintln!(
            "installed {}; logs: journalctl -u {}",
            path.display(),
            self.name
        );
        Ok(())
    }
}

impl ServiceCommand {
    /// Run the verb.
    pub fn run(self) -> anyhow::Result<i32> {
        match self {
            Self::Generate(args) => {
                let unit = args.unit()?;
                if args.install {
                    args.install_unit(&unit)?;
                } else {
                    write!(std::io::stdout().lock(), "{unit}")?;
                }
                Ok(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_stops_only_the_daemon_and_waits_for_guests() {
        let args = GenerateArgs {
            config: "/etc/slicer/vm.yaml".into(),
            name: "vm".into(),
            user: None,
            working_directory: Some("/var/lib/slicer".into()),
            timeout_stop_sec: 120,
            suspend_on_shutdown: false,
            install: false,
            force: false,
        };
        let unit = args.unit().unwrap();
        assert!(unit.contains("KillMode=process"));
        assert!(unit.contains("TimeoutStopSec=120"));
        assert!(unit.contains(" up /etc/slicer/vm.yaml"));
        assert!(unit.contains("WorkingDirectory=/var/lib/slicer"));
        assert!(!unit.contains('@'), "{unit}");
    }
}
