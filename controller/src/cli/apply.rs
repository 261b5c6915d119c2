//! `slicer apply -f hosts.yaml`: change host groups at runtime.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use slicer_api::types::{ApplyAction, ApplyRequest};

use super::connect::ConnectArgs;

/// Flags of `slicer apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The file with `config.host_groups`.
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Print what would change and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete stored groups that are not in the file.
    #[arg(long)]
    pub prune: bool,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl ApplyArgs {
    /// Send the file; print one line per group.
    pub async fn run(self) -> anyhow::Result<i32> {
        let yaml = std::fs::read_to_string(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        let response = self
            .connect
            .client()?
            .apply(&ApplyRequest {
                file: self.file.display().to_string(),
                yaml,
                dry_run: self.dry_run,
                prune: self.prune,
            })
            .await?;
        let mut out = std::io::stdout().lock();
        if self.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&response)?)?;
            return Ok(0);
        }
        let suffix = if self.dry_run { " (dry run)" } else { "" };
        for change in &response.changes {
            let action = match change.action {
                ApplyAction::Created => "created",
                ApplyAction::Updated => "updated",
                ApplyAction::Unchanged => "unchanged",
                ApplyAction::Deleted => "deleted",
            };
            writeln!(out, "hostgroup/{} {action}{suffix}", change.group)?;
            for line in &change.diff {
                writeln!(out, "  {line}")?;
            }
        }
        Ok(0)
    }
}
