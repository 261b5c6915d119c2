//! `slicer up [CONFIG]`: run the daemon.

use std::path::PathBuf;

use clap::Args;

use crate::daemon::{UpOptions, up};
use crate::paths::DataDir;

/// Flags of `slicer up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Slicer-format config (default ./slicer.yaml).
    #[arg(value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// The config, as `-f FILE` (an upstream spelling).
    #[arg(short = 'f', long = "file", conflicts_with = "config")]
    pub file: Option<PathBuf>,
    /// Data directory (default /var/lib/slicer, or $SLICER_DATA_DIR).
    #[arg(long, env = "SLICER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// API Unix socket (default <data-dir>/slicer.sock).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Leave every VM running when the daemon stops (restarts, upgrades).
    #[arg(long)]
    pub keep_vms: bool,
}

impl UpArgs {
    /// Run the daemon until it is stopped.
    pub async fn run(self) -> anyhow::Result<i32> {
        let config = self
            .config
            .or(self.file)
            .unwrap_or_else(|| PathBuf::from("slicer.yaml"));
        up(UpOptions {
            config,
            data: self.data_dir.map_or_else(DataDir::from_env, DataDir::new),
            socket: self.socket,
            keep_vms: self.keep_vms,
        })
        .await?;
        Ok(0)
    }
}
