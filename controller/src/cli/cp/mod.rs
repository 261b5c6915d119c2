//! `slicer vm cp SRC DST`: copy files and directories between the host
//! and a VM through the API, streamed both ways (`reference/slicer.md`
//! §7.5, §8.2). Either side may be `VM:path`.
//!
//! Copies follow `cp -r` (cp-v1): a directory is copied as a directory
//! (no `-r` needed), `SRC/.` copies its contents, an existing destination
//! directory receives `DST/<name>` (see `slicer_api::types::copy_target`).
//! A daemon or agent that answers 400 `invalid mode: cp-v1-…` gets the
//! legacy `binary`/`tar` modes instead. Files over 64 MiB go up in
//! checksummed chunks when the guest agent can assemble them.

mod chunked;
mod download;
mod legacy;
mod local;
mod upload;

use std::path::PathBuf;

use clap::Args;
use slicer_api::types::CopyMode;

use super::connect::ConnectArgs;

/// Flags of `slicer vm cp`.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Source: a local path or `VM:path`; `DIR/.` copies DIR's contents.
    pub src: String,
    /// Destination: a local path or `VM:path`.
    pub dst: String,
    /// Accepted for `cp` habits; directories are always copied whole.
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// `binary` (one file) or `tar` (a directory); default: by source.
    #[arg(long)]
    pub mode: Option<String>,
    /// Octal mode for an uploaded file, such as `0755`.
    #[arg(long)]
    pub permissions: Option<String>,
    /// Owner of uploaded files.
    #[arg(long)]
    pub uid: Option<u32>,
    /// Group of uploaded files.
    #[arg(long)]
    pub gid: Option<u32>,
    /// Leave out paths matching this glob (relative to the source;
    /// without `/` it matches any base name). Repeatable.
    #[arg(long = "exclude", value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// One side of a copy.
#[derive(Debug, PartialEq, Eq)]
enum Side {
    Local(PathBuf),
    Guest { vm: String, path: String },
}

impl Side {
    /// `VM:path` when the part before the first `:` is a plausible VM
    /// name (no `/`), else a local path.
    fn parse(text: &str) -> Self {
        match text.split_once(':') {
            Some((vm, path)) if !vm.is_empty() && !vm.contains('/') && !path.is_empty() => {
                Self::Guest {
                    vm: vm.to_owned(),
                    path: path.to_owned(),
                }
            }
            _ => Self::Local(PathBuf::from(text)),
        }
    }
}

/// The guest path with `~` made absolute (root's home: the agent runs
/// copies as root).
fn guest_path(path: &str) -> String {
    if path == "~" {
        "/root".to_owned()
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("/root/{rest}")
    } else {
        path.to_owned()
    }
}

/// Whether a path is in the `SRC/.` form (its contents, not itself).
fn names_contents(path: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    trimmed == "." || trimmed.ends_with("/.") || (trimmed.is_empty() && path.starts_with('/'))
}

impl CpArgs {
    /// The mode asked for with `--mode`.
    fn forced_mode(&self) -> anyhow::Result<Option<CopyMode>> {
        match self.mode.as_deref() {
            None => Ok(None),
            Some("binary") => Ok(Some(CopyMode::Binary)),
            Some("tar") => Ok(Some(CopyMode::Tar)),
            Some(other) => anyhow::bail!("--mode {other:?}: use binary or tar"),
        }
    }

    /// Copy; returns the exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        let forced = self.forced_mode()?;
        let client = self.connect.client()?;
        match (Side::parse(&self.src), Side::parse(&self.dst)) {
            (Side::Local(_), Side::Guest { vm, path }) => {
                upload::run(&client, &self, &vm, &guest_path(&path), forced).await?;
            }
            (Side::Guest { vm, path }, Side::Local(dst)) => {
                download::run(&client, &self, &vm, &guest_path(&path), &dst, forced).await?;
            }
            (Side::Local(_), Side::Local(_)) => {
                anyhow::bail!("one side must be VM:path")
            }
            (Side::Guest { .. }, Side::Guest { .. }) => {
                anyhow::bail!("copying between two VMs is not supported; copy through the host")
            }
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_parse_like_slicer() {
        assert_eq!(
            Side::parse("sbox-1:/tmp/x"),
            Side::Guest {
                vm: "sbox-1".into(),
                path: "/tmp/x".into()
            }
        );
        assert_eq!(Side::parse("./a:b"), Side::Local("./a:b".into()));
        assert_eq!(Side::parse("/tmp/x"), Side::Local("/tmp/x".into()));
        assert_eq!(guest_path("~/f"), "/root/f");
    }

    #[test]
    fn trailing_dot_names_the_contents() {
        for yes in ["dir/.", "dir/./", ".", "/", "/srv/."] {
            assert!(names_contents(yes), "{yes}");
        }
        for no in ["dir", "dir/", "./dir", "a.b", "dir/.x"] {
            assert!(!names_contents(no), "{no}");
        }
    }
}
