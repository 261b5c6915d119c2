//! `slicer version` (this binary) and `slicer info` (this binary and the
//! daemon it talks to).

use std::io::Write;

use clap::Args;
use slicer_api::types::host_arch;

use super::connect::ConnectArgs;

/// Flags of `slicer info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `slicer version`.
pub fn version() -> anyhow::Result<i32> {
    writeln!(
        std::io::stdout().lock(),
        "slicer {} ({}, linux/{})",
        env!("CARGO_PKG_VERSION"),
        option_env!("SLICER_GIT_COMMIT").unwrap_or("unknown"),
        host_arch()
    )?;
    Ok(0)
}

impl InfoArgs {
    /// Print client and server versions.
    pub async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let server = client.info().await?;
        let mut out = std::io::stdout().lock();
        if self.json {
            let value = serde_json::json!({
                "client": {"version": env!("CARGO_PKG_VERSION"), "arch": host_arch()},
                "server": server,
                "url": client.endpoint().to_string(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
            return Ok(0);
        }
        writeln!(
            out,
            "Client: slicer {} (linux/{})",
            env!("CARGO_PKG_VERSION"),
            host_arch()
        )?;
        writeln!(
            out,
            "Server: slicer {} ({}, {}/{}) at {}",
            server.version,
            server.git_commit,
            server.platform,
            server.arch,
            client.endpoint()
        )?;
        if let Some(hypervisor) = server.hypervisor {
            writeln!(out, "Hypervisor: {hypervisor}")?;
        }
        Ok(0)
    }
}
