//! `slicer vm tag list|add|remove|replace|delete VM`: edit a VM's mutable
//! tags (the `name=` tag cannot be changed).

use std::io::Write;

use clap::{Args, Subcommand};
use slicer_api::types::TagPatch;

use super::connect::ConnectArgs;

/// `slicer vm tag` verbs.
#[derive(Debug, Subcommand)]
pub enum TagCommand {
    /// Print a VM's tags.
    #[command(visible_alias = "ls")]
    List(TagArgs),
    /// Add tags.
    Add(TagArgs),
    /// Remove tags.
    #[command(visible_alias = "rm")]
    Remove(TagArgs),
    /// Replace every mutable tag with the given ones.
    Replace(TagArgs),
    /// Remove every mutable tag.
    Delete(TagArgs),
}

/// A VM and tags.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The VM: a hostname or a `name=` tag value.
    pub vm: String,
    /// Tags (`k=v`), repeatable; also accepted as positional arguments.
    #[arg(long = "tag", short = 't')]
    pub tags: Vec<String>,
    /// More tags.
    #[arg(trailing_var_arg = true)]
    pub rest: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl TagCommand {
    /// Run the verb.
    pub async fn run(self) -> anyhow::Result<i32> {
        let (args, patch) = match self {
            Self::List(args) => (args, None),
            Self::Add(args) => {
                let tags = args.all_tags()?;
                (
                    args,
                    Some(TagPatch {
                        add: Some(tags),
                        ..TagPatch::default()
                    }),
                )
            }
            Self::Remove(args) => {
                let tags = args.all_tags()?;
                (
                    args,
                    Some(TagPatch {
                        remove: Some(tags),
                        ..TagPatch::default()
                    }),
                )
            }
            Self::Replace(args) => {
                let tags = args.all_tags()?;
                (
                    args,
                    Some(TagPatch {
                        replace: Some(tags),
                        ..TagPatch::default()
                    }),
                )
            }
            Self::Delete(args) => (
                args,
                Some(TagPatch {
                    replace: Some(Vec::new()),
                    ..TagPatch::default()
                }),
            ),
        };
        let client = args.connect.client()?;
        let hostname = args.connect.resolve_vm(&client, &args.vm).await?;
        let tags = match patch {
            Some(patch) => client.patch_tags(&hostname, &patch).await?,
            None => client.tags(&hostname).await?,
        };
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&tags)?)?;
        } else {
            for tag in &tags.tags {
                writeln!(out, "{tag}")?;
            }
        }
        Ok(0)
    }
}

impl TagArgs {
    fn all_tags(&self) -> anyhow::Result<Vec<String>> {
        let tags: Vec<String> = self.tags.iter().chain(&self.rest).cloned().collect();
        if tags.is_empty() {
            anyhow::bail!("give at least one tag (--tag k=v)");
        }
        Ok(tags)
    }
}
