//! How CLI verbs reach the daemon: `--url`/`SLICER_URL` (an http URL or a
//! socket path), `--token`/`--token-file`/`SLICER_TOKEN(_FILE)`; by
//! default the local daemon's socket.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use slicer_api::client::{Endpoint, SlicerClient};

use crate::paths::DataDir;

/// Connection flags shared by every client verb.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Daemon API: http://host:port or a Unix socket path (default: the
    /// socket in the data directory).
    #[arg(long, visible_alias = "api", env = "SLICER_URL", global = true)]
    pub url: Option<String>,
    /// Bearer token for a TCP API.
    #[arg(long, env = "SLICER_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the bearer token.
    #[arg(long, env = "SLICER_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// Data directory of the local daemon (for its default socket).
    #[arg(long, env = "SLICER_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

impl ConnectArgs {
    /// A client for the daemon these flags name.
    pub fn client(&self) -> anyhow::Result<SlicerClient> {
        let endpoint = match &self.url {
            Some(url) => Endpoint::parse(url)?,
            None => {
                let data = self
                    .data_dir
                    .clone()
                    .map_or_else(DataDir::from_env, DataDir::new);
                Endpoint::Unix(data.api_socket())
            }
        };
        let token = match (&self.token, &self.token_file) {
            (Some(token), _) => Some(token.clone()),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read token file {}", file.display()))?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        Ok(SlicerClient::new(endpoint, token))
    }
}
