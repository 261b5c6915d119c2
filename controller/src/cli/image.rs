//! `slicer image …`: build and list guest images.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::image::{BuildOptions, GuestImage, build, default_agent_path};
use crate::paths::DataDir;

/// `slicer image` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build a guest image (kernel, initramfs, root filesystem) from Debian
    /// packages; a no-op when it is up to date.
    Build(BuildArgs),
    /// List built images.
    List {
        /// Data directory (default /var/lib/slicer, or $SLICER_DATA_DIR).
        #[arg(long, env = "SLICER_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// Flags of `slicer image build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// `min` (busybox, agent as init) or `full` (Debian with systemd).
    #[arg(long, default_value = "min", value_parser = ["min", "full"])]
    pub flavour: String,
    /// Image name (default: the flavour).
    #[arg(long)]
    pub name: Option<String>,
    /// Data directory (default /var/lib/slicer, or $SLICER_DATA_DIR).
    #[arg(long, env = "SLICER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Static slicer-agent binary to bake in.
    #[arg(long)]
    pub agent: Option<PathBuf>,
    /// Rebuild even if the image is up to date.
    #[arg(long)]
    pub force: bool,
}

fn data_dir(flag: Option<PathBuf>) -> DataDir {
    flag.map_or_else(DataDir::from_env, DataDir::new)
}

impl ImageCommand {
    /// Run the subcommand; returns the process exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        match self {
            ImageCommand::Build(args) => {
                let agent = match args.agent {
                    Some(agent) => agent,
                    None => default_agent_path()?,
                };
                let options = BuildOptions {
                    flavour: args.flavour,
                    name: args.name,
                    data: data_dir(args.data_dir),
                    agent,
                    force: args.force,
                };
                build(&options).await?;
                Ok(0)
            }
            ImageCommand::List { data_dir: flag } => {
                let data = data_dir(flag);
                let mut out = String::from("NAME\tFLAVOUR\tKERNEL\tBUILT\n");
                let images = std::fs::read_dir(data.root().join("images"))
                    .into_iter()
                    .flatten()
                    .flatten();
                for entry in images {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if let Ok(image) = GuestImage::open(&data, &name) {
                        let m = image.manifest;
                        out.push_str(&format!(
                            "{}\t{}\t{}\t{}\n",
                            m.name, m.flavour, m.kernel_version, m.built_at
                        ));
                    }
                }
                print!("{out}");
                Ok(0)
            }
        }
    }
}
