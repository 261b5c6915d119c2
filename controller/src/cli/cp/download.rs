//! Guest to host: a cp-v1 download, placed locally by the same `cp -r`
//! rules the agent applies to uploads, falling back to the legacy modes
//! when the daemon answers `invalid mode`.

use std::path::Path;

use futures_util::TryStreamExt;
use http_body_util::BodyDataStream;
use slicer_api::archive::{Excludes, path_kind};
use slicer_api::client::SlicerClient;
use slicer_api::types::{
    CopyMode, CopyQuery, CopySemantics, CopySourceType, CopyTarget, resolve_target,
};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::local::{parse_permissions, unpack_stream, write_file};
use super::{CpArgs, legacy, names_contents};

/// Download `path` from `vm` to the local `dst`.
pub async fn run(
    client: &SlicerClient,
    args: &CpArgs,
    vm: &str,
    path: &str,
    dst: &Path,
    forced: Option<CopyMode>,
) -> anyhow::Result<()> {
    let permissions = parse_permissions(args.permissions.as_deref())?;
    let mode = match forced {
        None => CopyMode::CpV1Recursive,
        Some(CopyMode::Binary) => CopyMode::CpV1Binary,
        Some(_) => CopyMode::CpV1Tar,
    };
    let query = CopyQuery {
        path: path.to_owned(),
        mode,
        copy_semantics: Some(CopySemantics::CpV1),
        exclude: args.exclude.clone(),
        ..CopyQuery::default()
    };
    let download = match client.download_copy(vm, &query).await {
        Err(err) if err.is_invalid_mode(mode.as_str()) => {
            tracing::info!(%vm, "the guest has no cp-v1; copying with the legacy modes");
            return legacy::download(client, vm, path, dst, forced, permissions).await;
        }
        other => other?,
    };
    let Some(source) = download.source else {
        anyhow::bail!("the daemon's cp-v1 answer did not say what {path} is");
    };
    let contents = source.kind == CopySourceType::Directory && names_contents(path);
    let dst_text = dst.to_string_lossy();
    let target = resolve_target(&dst_text, &source, contents, path_kind)?;
    let reader =
        StreamReader::new(BodyDataStream::new(download.body).map_err(std::io::Error::other));
    match target {
        CopyTarget::File(file) if mode == CopyMode::CpV1Tar => {
            // A file in tar mode comes as a one-entry tar.
            let bridge = SyncIoBridge::new(reader);
            let path = path.to_owned();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let mut archive = tar::Archive::new(bridge);
                let mut entry = archive
                    .entries()?
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("the tar of {path} is empty"))??;
                entry.unpack(&file)?;
                Ok(())
            })
            .await??;
        }
        CopyTarget::File(file) => {
            write_file(reader, &file, permissions.or(download.mode)).await?;
        }
        CopyTarget::Directory { path: dir, create } => {
            if create {
                std::fs::create_dir(&dir)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            }
            unpack_stream(reader, &dir, Excludes::new(&args.exclude)).await?;
        }
    }
    Ok(())
}
