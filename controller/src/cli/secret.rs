//! `slicer secret create|list|update|remove`: the daemon's secret store.
//! Values come from `--from-literal`, `--from-file`, `--value` or stdin.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use slicer_api::types::{CreateSecretRequest, UpdateSecretRequest};

use super::connect::ConnectArgs;
use super::table::Table;

/// `slicer secret` verbs.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a secret.
    #[command(visible_alias = "add")]
    Create(WriteArgs),
    /// List secrets (names; `-v` adds size, mode and owner).
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Change a secret's value and/or metadata.
    Update(WriteArgs),
    /// Delete a secret.
    #[command(visible_alias = "rm", visible_alias = "delete")]
    Remove(RemoveArgs),
}

/// Flags of `secret create` and `secret update`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Secret name (also `--name`).
    #[arg(required_unless_present = "name_flag")]
    pub name: Option<String>,
    /// Secret name.
    #[arg(long = "name", conflicts_with = "name")]
    pub name_flag: Option<String>,
    /// The value as a literal.
    #[arg(long, visible_alias = "value", conflicts_with = "from_file")]
    pub from_literal: Option<String>,
    /// The value from a file.
    #[arg(long)]
    pub from_file: Option<PathBuf>,
    /// Octal mode in the guest (create default `0600`).
    #[arg(long)]
    pub permissions: Option<String>,
    /// Owner uid in the guest (create default 0).
    #[arg(long)]
    pub uid: Option<u32>,
    /// Owner gid in the guest (create default 0).
    #[arg(long)]
    pub gid: Option<u32>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `secret list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show size, permissions, uid and gid.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `secret remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Secret name.
    pub name: String,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl WriteArgs {
    fn name(&self) -> anyhow::Result<String> {
        self.name
            .clone()
            .or_else(|| self.name_flag.clone())
            .ok_or_else(|| anyhow::anyhow!("give the secret's name"))
    }

    /// The value, or `None` when neither a flag nor piped stdin gives one.
    fn value(&self) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(literal) = &self.from_literal {
            return Ok(Some(literal.as_bytes().to_vec()));
        }
        if let Some(file) = &self.from_file {
            return std::fs::read(file)
                .map(Some)
                .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()));
        }
        if std::io::stdin().is_terminal() {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }
}

impl SecretCommand {
    /// Run the verb.
    pub async fn run(self) -> anyhow::Result<i32> {
        match self {
            Self::Create(args) => {
                let name = args.name()?;
                let Some(value) = args.value()? else {
                    anyhow::bail!("give the value with --from-literal, --from-file or on stdin");
                };
                let created = args
                    .connect
                    .client()?
                    .create_secret(&CreateSecretRequest {
                        name,
                        data: STANDARD.encode(value),
                        permissions: args.permissions,
                        uid: args.uid,
                        gid: args.gid,
                    })
                    .await?;
                writeln!(std::io::stdout().lock(), "secret {} created", created.name)?;
            }
            Self::Update(args) => {
                let name = args.name()?;
                let data = args.value()?.map(|v| STANDARD.encode(v));
                let updated = args
                    .connect
                    .client()?
                    .update_secret(
                        &name,
                        &UpdateSecretRequest {
                            data,
                            permissions: args.permissions,
                            uid: args.uid,
                            gid: args.gid,
                        },
                    )
                    .await?;
                writeln!(std::io::stdout().lock(), "secret {} updated", updated.name)?;
            }
            Self::List(args) => {
                let secrets = args.connect.client()?.secrets().await?;
                let mut out = std::io::stdout().lock();
                if args.json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&secrets)?)?;
                } else if args.verbose {
                    let mut table = Table::new(["NAME", "SIZE", "PERMISSIONS", "UID", "GID"]);
                    for s in secrets {
                        table.row([
                            s.name,
                            s.size.to_string(),
                            s.permissions,
                            s.uid.to_string(),
                            s.gid.to_string(),
                        ]);
                    }
                    write!(out, "{table}")?;
                } else {
                    for s in secrets {
                        writeln!(out, "{}", s.name)?;
                    }
                }
            }
            Self::Remove(args) => {
                args.connect.client()?.delete_secret(&args.name).await?;
                writeln!(std::io::stdout().lock(), "secret {} removed", args.name)?;
            }
        }
        Ok(0)
    }
}
