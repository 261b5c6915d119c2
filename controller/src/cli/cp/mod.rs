//! `slicer vm cp SRC DST`: copy files and directories between the host
//! and a VM through the API, streamed both ways (`reference/slicer.md`
//! §7.5, §8.2). Either side may be `VM:path`; directories go as tar.

use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use futures_util::TryStreamExt;
use http_body_util::BodyDataStream;
use slicer_api::client::reader_body;
use slicer_api::types::{CopyMode, CopyQuery};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::connect::ConnectArgs;

/// Flags of `slicer vm cp`.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Source: a local path or `VM:path`.
    pub src: String,
    /// Destination: a local path or `VM:path`.
    pub dst: String,
    /// Copy directories (as a tar stream).
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// `binary` (one file) or `tar`; default: tar for -r, else binary.
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

impl CpArgs {
    fn mode(&self) -> anyhow::Result<CopyMode> {
        match self.mode.as_deref() {
            None if self.recursive => Ok(CopyMode::Tar),
            None | Some("binary") => Ok(CopyMode::Binary),
            Some("tar") => Ok(CopyMode::Tar),
            Some(other) => anyhow::bail!("--mode {other:?}: use binary or tar"),
        }
    }

    /// Copy; returns the exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        let mode = self.mode()?;
        let client = self.connect.client()?;
        match (Side::parse(&self.src), Side::parse(&self.dst)) {
            (Side::Local(src), Side::Guest { vm, path }) => {
                let query = CopyQuery {
                    path: guest_path(&path),
                    mode,
                    uid: self.uid,
                    gid: self.gid,
                    permissions: self.permissions.clone(),
                };
                let body = match mode {
                    CopyMode::Binary => {
                        if src.is_dir() {
                            anyhow::bail!("{} is a directory: use -r", src.display());
                        }
                        let file = tokio::fs::File::open(&src)
                            .await
                            .with_context(|| format!("cannot open {}", src.display()))?;
                        reader_body(file)
                    }
                    CopyMode::Tar => reader_body(tar_of(src)?),
                };
                client.upload(&vm, &query, body).await?;
            }
            (Side::Guest { vm, path }, Side::Local(dst)) => {
                let query = CopyQuery {
                    path: guest_path(&path),
                    mode,
                    ..CopyQuery::default()
                };
                let (file_mode, body) = client.download(&vm, &query).await?;
                let reader =
                    StreamReader::new(BodyDataStream::new(body).map_err(std::io::Error::other));
                match mode {
                    CopyMode::Binary => {
                        let dst = if dst.is_dir() {
                            dst.join(Path::new(&query.path).file_name().unwrap_or_default())
                        } else {
                            dst
                        };
                        let mut file = tokio::fs::File::create(&dst)
                            .await
                            .with_context(|| format!("cannot create {}", dst.display()))?;
                        let mut reader = reader;
                        tokio::io::copy(&mut reader, &mut file).await?;
                        let wanted = match &self.permissions {
                            Some(text) => {
                                Some(u32::from_str_radix(text, 8).with_context(|| {
                                    format!("--permissions {text:?} is not octal")
                                })?)
                            }
                            None => file_mode,
                        };
                        if let Some(bits) = wanted {
                            use std::os::unix::fs::PermissionsExt;
                            tokio::fs::set_permissions(&dst, std::fs::Permissions::from_mode(bits))
                                .await?;
                        }
                    }
                    CopyMode::Tar => {
                        let bridge = SyncIoBridge::new(reader);
                        tokio::task::spawn_blocking(move || unpack_stripped(bridge, &dst))
                            .await??;
                    }
                }
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

/// A tar stream of `src` (a directory's contents, or one file), written
/// by a blocking task as the upload reads it.
fn tar_of(src: PathBuf) -> anyhow::Result<tokio::io::DuplexStream> {
    let meta = std::fs::metadata(&src).with_context(|| format!("cannot read {}", src.display()))?;
    let (reader, writer) = tokio::io::duplex(256 * 1024);
    tokio::task::spawn_blocking(move || {
        let mut builder = tar::Builder::new(SyncIoBridge::new(writer));
        builder.follow_symlinks(false);
        let result = if meta.is_dir() {
            builder.append_dir_all(".", &src)
        } else {
            let name = src.file_name().map(PathBuf::from).unwrap_or_default();
            builder.append_path_with_name(&src, name)
        };
        if let Err(err) = result.and_then(|()| builder.finish()) {
            tracing::warn!(error = %err, src = %src.display(), "tar stream ended early");
        }
    });
    Ok(reader)
}

/// Unpack the agent's tar (entries under the source's base name) into
/// `dst`, dropping that first component so `dst` becomes the copy.
fn unpack_stripped(reader: impl std::io::Read, dst: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dst).with_context(|| format!("cannot create {}", dst.display()))?;
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let mut parts = path
            .components()
            .filter(|c| !matches!(c, Component::CurDir));
        parts.next();
        let rest: PathBuf = parts.collect();
        if rest
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            anyhow::bail!("tar entry {} leaves the destination", path.display());
        }
        let target = if rest.as_os_str().is_empty() {
            dst.to_path_buf()
        } else {
            dst.join(&rest)
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if entry.header().entry_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else {
            entry.unpack(&target)?;
        }
    }
    Ok(())
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
}
