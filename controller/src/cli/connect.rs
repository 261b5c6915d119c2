//! How CLI verbs reach the daemon: `--url`/`SLICER_URL` (an http URL or a
//! socket path), `--token`/`--token-file`/`SLICER_TOKEN(_FILE)`; by
//! default the local daemon's socket. For a TCP URL without a token the
//! local daemon's `<data>/auth/token` is used when readable.

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
            // A TCP daemon on this host wrote its token here; use it when we
            // may read it (root, or a member of group slicer).
            (None, None) if matches!(endpoint, Endpoint::Tcp(_)) => {
                std::fs::read_to_string(self.data().token_file())
                    .ok()
                    .map(|text| text.trim().to_owned())
                    .filter(|token| !token.is_empty())
            }
            (None, None) => None,
        };
        Ok(SlicerClient::new(endpoint, token))
    }

    /// The local data directory these flags name.
    pub fn data(&self) -> DataDir {
        self.data_dir
            .clone()
            .map_or_else(DataDir::from_env, DataDir::new)
    }

    /// The hostname of `id`: a hostname, or the value of a `name=` tag
    /// (`reference/slicer.md` §3.4).
    pub async fn resolve_vm(&self, client: &SlicerClient, id: &str) -> anyhow::Result<String> {
        match client.describe(id).await {
            Ok(vm) => return Ok(vm.node.hostname),
            Err(err) if err.status() == Some(http::StatusCode::NOT_FOUND) => {}
            Err(err) => return Err(err.into()),
        }
        let filter = slicer_api::types::TagFilter {
            tag: Some(format!("name={id}")),
            tag_prefix: None,
        };
        let found = client.nodes(None, &filter).await?;
        match found.as_slice() {
            [one] => Ok(one.hostname.clone()),
            [] => anyhow::bail!("no vm has hostname or name {id}"),
            many => anyhow::bail!("{} vms are named {id}", many.len()),
        }
    }
}
