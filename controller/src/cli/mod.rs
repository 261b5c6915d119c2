//! Command-line interface of the `slicer` binary: flags and subcommands
//! only; each subcommand hands off to the library module that does the work.

use clap::{Parser, Subcommand};

pub mod apply;
pub mod bg;
pub mod connect;
pub mod cp;
pub mod forward;
pub mod fs;
pub mod get;
pub mod image;
pub mod run;
pub mod shell;
mod table;
pub mod up;
pub mod vm;

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
