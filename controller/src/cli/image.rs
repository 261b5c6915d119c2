//! `slicer image …`: build and inspect guest images.

use clap::Subcommand;

/// `slicer image` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build a guest image (kernel, initramfs, root filesystem).
    Build,
}

impl ImageCommand {
    /// Run the subcommand; returns the process exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        match self {
            ImageCommand::Build => Ok(0),
        }
    }
}
