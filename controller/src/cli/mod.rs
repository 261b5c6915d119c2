//! Command-line interface of the `slicer` binary: flags and subcommands
//! only; each subcommand hands off to the library module that does the work.

use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

pub mod apply;
pub mod bg;
pub mod connect;
pub mod cp;
pub mod forward;
pub mod fs;
pub mod get;
pub mod image;
pub mod info;
pub mod new;
mod progress;
pub mod run;
pub mod run_as;
pub mod secret;
pub mod service;
pub mod shell;
mod table;
pub mod tag;
pub mod top;
pub mod up;
pub mod vm;
pub mod vm_ops;

/// `slicer`: microVM controller daemon and CLI.
#[derive(Debug, Parser)]
#[command(name = "slicer", version, about = "MicroVM controller: daemon and CLI")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon with a Slicer-format config.
    Up(up::UpArgs),
    /// Create, change or (with --prune) delete host groups from a file.
    Apply(apply::ApplyArgs),
    /// Print stored objects (`get hostgroups -o yaml` round-trips with apply).
    Get(get::GetArgs),
    /// Work with VMs.
    #[command(subcommand, visible_alias = "v")]
    Vm(vm::VmCommand),
    /// Build and list guest images.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Guest filesystem (watch).
    #[command(subcommand)]
    Fs(fs::FsCommand),
    /// Boot a throwaway VM, run one command in it, and tear it down.
    Run(run::RunArgs),
    /// Print the client's and the daemon's versions.
    Info(info::InfoArgs),
    /// Print this binary's version.
    Version,
    /// Print a config file with one host group (`slicer new NAME > vm.yaml`).
    New(new::NewArgs),
    /// systemd integration.
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// Manage the daemon's secrets.
    #[command(subcommand, visible_alias = "secrets")]
    Secret(secret::SecretCommand),
    /// List VMs (= `slicer vm list`).
    Ls(vm::ListArgs),
    /// Console log of a VM (= `slicer vm logs`).
    Logs(vm_ops::LogsArgs),
    /// Start a stopped VM again (= `slicer vm relaunch`).
    Relaunch(vm_ops::VmJsonArgs),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Generated documents (OpenAPI, config JSON Schema).
    #[command(subcommand)]
    Schemas(SchemasCommand),
}

/// `slicer schemas` verbs.
#[derive(Debug, Subcommand)]
pub enum SchemasCommand {
    /// Write `openapi.json`, `slicer-config.schema.json` and `docs/api.md`.
    Write {
        /// Directory of the schemas (default: ./schemas).
        #[arg(long, default_value = "schemas")]
        dir: PathBuf,
        /// Directory of the API reference (default: ./docs).
        #[arg(long, default_value = "docs")]
        docs: PathBuf,
    },
}

impl Cli {
    /// Run the parsed command; returns the process exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        match self.command {
            Command::Up(args) => args.run().await,
            Command::Apply(args) => args.run().await,
            Command::Get(args) => args.run().await,
            Command::Vm(cmd) => cmd.run().await,
            Command::Image(cmd) => cmd.run().await,
            Command::Run(args) => args.run().await,
            Command::Info(args) => args.run().await,
            Command::Version => info::version(),
            Command::New(args) => args.run(),
            Command::Service(cmd) => cmd.run(),
            Command::Secret(cmd) => cmd.run().await,
            Command::Ls(args) => vm::VmCommand::List(args).run().await,
            Command::Logs(args) => args.run().await,
            Command::Relaunch(args) => args.relaunch().await,
            Command::Completions { shell } => {
                let mut out = std::io::stdout().lock();
                clap_complete::generate(shell, &mut Cli::command(), "slicer", &mut out);
                out.flush()?;
                Ok(0)
            }
            Command::Schemas(SchemasCommand::Write { dir, docs }) => {
                for path in crate::schemas::write(&dir, Some(&docs))? {
                    eprintln!("wrote {}", path.display());
                }
                Ok(0)
            }
            Command::Fs(cmd) => cmd.run().await,
        }
    }
}

/// The whole `slicer` program: logging to stderr (`SLICER_LOG` filter),
/// parse the command line, run it, and turn the result into an exit code.
pub async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLICER_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,netlink_packet_route=error")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().run().await {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn upstream_spellings_parse() {
        use clap::Parser;
        for argv in [
            &[
                "slicer",
                "vm",
                "add",
                "sbox",
                "--secret",
                "a",
                "--secret",
                "b",
                "--secrets",
                "c,d",
                "-n",
                "web",
            ][..],
            &["slicer", "secret", "create", "--name", "k", "--value", "v"][..],
            &[
                "slicer",
                "secret",
                "create",
                "k",
                "--from-literal=v",
                "--permissions",
                "0640",
                "--uid",
                "1000",
                "--gid",
                "1000",
            ][..],
            &["slicer", "secret", "list", "-v"][..],
            &["slicer", "vm", "tag", "add", "h", "--tag", "k=v"][..],
            &["slicer", "vm", "logs", "h", "--lines", "0"][..],
            &["slicer", "logs", "h"][..],
            &["slicer", "relaunch", "h", "--json"][..],
            &[
                "slicer",
                "vm",
                "ready",
                "h",
                "--userdata",
                "--timeout",
                "1m",
                "--interval",
                "100ms",
            ][..],
            &["slicer", "vm", "shutdown", "h", "--action", "reboot"][..],
            &["slicer", "info", "--url", "http://127.0.0.1:8080"][..],
            &["slicer", "up", "-f", "vm.yaml"][..],
            &[
                "slicer",
                "new",
                "vm",
                "--vcpu",
                "4",
                "--ram_gb",
                "8",
                "--api-auth=false",
            ][..],
            &[
                "slicer",
                "service",
                "generate",
                "vm.yaml",
                "--install",
                "--force",
                "--name",
                "vm",
            ][..],
            &["slicer", "completions", "bash"][..],
        ] {
            if let Err(err) = Cli::try_parse_from(argv) {
                panic!("{argv:?}: {err}");
            }
        }
    }
}
