//! Command-line interface of the `slicer` binary: flags and subcommands
//! only; each subcommand hands off to the library module that does the work.

use clap::{Parser, Subcommand};

pub mod image;
pub mod run;

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
    /// Build and list guest images.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Boot a throwaway VM, run one command in it, and tear it down.
    Run(run::RunArgs),
}

impl Cli {
    /// Run the parsed command; returns the process exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        match self.command {
            Command::Image(cmd) => cmd.run().await,
            Command::Run(args) => args.run().await,
        }
    }
}
