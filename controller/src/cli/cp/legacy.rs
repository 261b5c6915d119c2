//! Downloads from daemons or agents without cp-v1: binary first, then a
//! tar (entries under the source's base name) when the source is a
//! directory, the first component dropped so `dst` becomes the copy.

use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use futures_util::TryStreamExt;
use http_body_util::BodyDataStream;
use slicer_api::client::SlicerClient;
use slicer_api::types::{CopyMode, CopyQuery};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::local::write_file;

/// Download `query.path` from `vm` into `dst` with the legacy modes.
pub async fn download(
    client: &SlicerClient,
    vm: &str,
    path: &str,
    dst: &Path,
    mode: Option<CopyMode>,
    permissions: Option<u32>,
) -> anyhow::Result<()> {
    let query = |mode| CopyQuery {
        path: path.to_owned(),
        mode,
        ..CopyQuery::default()
    };
    let mode = match mode {
        Some(mode) => mode,
        None => match client.download(vm, &query(CopyMode::Binary)).await {
            Ok((file_mode, body)) => {
                let reader =
                    StreamReader::new(BodyDataStream::new(body).map_err(std::io::Error::other));
                let dst = if dst.is_dir() {
                    dst.join(Path::new(path).file_name().unwrap_or_default())
                } else {
                    dst.to_path_buf()
                };
                return write_file(reader, &dst, permissions.or(file_mode)).await;
            }
            Err(err)
                if err
                    .to_string()
                    .contains("must specify a file not a directory") =>
            {
                CopyMode::Tar
            }
            Err(err) => return Err(err.into()),
        },
    };
    let (file_mode, body) = client.download(vm, &query(mode)).await?;
    let reader = StreamReader::new(BodyDataStream::new(body).map_err(std::io::Error::other));
    if mode == CopyMode::Binary {
        return write_file(reader, dst, permissions.or(file_mode)).await;
    }
    let bridge = SyncIoBridge::new(reader);
    let dst = dst.to_path_buf();
    tokio::task::spawn_blocking(move || unpack_stripped(bridge, &dst)).await??;
    Ok(())
}

/// Unpack a legacy tar (entries under the source's base name) into
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
