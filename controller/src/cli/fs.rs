//! `slicer fs watch VM PATH… --stream`: a guest filesystem watch through
//! the API (`reference/slicer.md` §7.7); prints each event's JSON.

use std::io::Write;

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use http_body_util::BodyDataStream;
use slicer_api::types::FsWatchQuery;
use tokio::io::AsyncBufReadExt;
use tokio_util::io::StreamReader;

use super::connect::ConnectArgs;

/// `slicer fs` verbs.
#[derive(Debug, Subcommand)]
pub enum FsCommand {
    /// Watch paths in a VM.
    Watch(WatchArgs),
}

/// Flags of `slicer fs watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The VM.
    pub vm: String,
    /// Paths to watch.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Keep streaming events (default: stop after the first).
    #[arg(long)]
    pub stream: bool,
    /// Watch subdirectories too.
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// Only these event types (create, write, remove, rename, chmod).
    #[arg(long = "event")]
    pub events: Vec<String>,
    /// Only paths matching these globs.
    #[arg(long = "pattern")]
    pub patterns: Vec<String>,
    /// Stop after this many events.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Stop after this long (Go duration, such as `30s`).
    #[arg(long)]
    pub timeout: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl FsCommand {
    /// Run the verb; returns the exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        match self {
            Self::Watch(args) => args.run().await,
        }
    }
}

impl WatchArgs {
    async fn run(self) -> anyhow::Result<i32> {
        let query = FsWatchQuery {
            paths: self.paths.clone(),
            patterns: self.patterns.clone(),
            events: self.events.clone(),
            recursive: self.recursive.then_some(true),
            one_shot: (!self.stream).then_some(true),
            timeout: self.timeout.clone(),
            max_events: self.max_events,
            ..FsWatchQuery::default()
        };
        let body = self.connect.client()?.fs_watch(&self.vm, &query).await?;
        let reader = StreamReader::new(BodyDataStream::new(body).map_err(std::io::Error::other));
        let mut lines = tokio::io::BufReader::new(reader).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(data) = line.strip_prefix("data:") {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", data.trim_start())?;
                out.flush()?;
            }
        }
        Ok(0)
    }
}
