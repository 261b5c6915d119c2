//! Host to guest: a cp-v1 upload (placed by the agent like `cp -r`),
//! chunked for files over 64 MiB, falling back to the legacy modes when
//! the daemon answers `invalid mode`.

use slicer_api::archive::{Excludes, unpacked_size_bytes};
use slicer_api::client::SlicerClient;
use slicer_api::types::upload::CHUNK_SIZE_BYTES;
use slicer_api::types::{CopyMode, CopyQuery, CopySemantics, CopySourceType};

use super::CpArgs;
use super::chunked;
use super::local::LocalSource;

/// Upload `args.src` to `dest` in `vm`.
pub async fn run(
    client: &SlicerClient,
    args: &CpArgs,
    vm: &str,
    dest: &str,
    forced: Option<CopyMode>,
) -> anyhow::Result<()> {
    let local = LocalSource::parse(&args.src)?;
    let excludes = Excludes::new(&args.exclude);
    let kind = local.source.kind;
    match (kind, forced) {
        (CopySourceType::Directory, Some(CopyMode::Binary)) => {
            anyhow::bail!("{} is a directory: binary mode copies one file", args.src)
        }
        (CopySourceType::File, Some(CopyMode::Tar)) => {
            anyhow::bail!("{} is a file: tar mode copies a directory", args.src)
        }
        _ => {}
    }
    let (mode, legacy_mode) = match kind {
        CopySourceType::File => (CopyMode::CpV1Binary, CopyMode::Binary),
        CopySourceType::Directory => (CopyMode::CpV1Tar, CopyMode::Tar),
    };
    let query = CopyQuery {
        path: dest.to_owned(),
        mode,
        uid: args.uid,
        gid: args.gid,
        permissions: args.permissions.clone(),
        copy_semantics: Some(CopySemantics::CpV1),
        source_name: Some(local.source.name.clone()),
        source_type: Some(kind),
        copy_contents: local.copy_contents.then_some(true),
        exclude: args.exclude.clone(),
    };
    if kind == CopySourceType::File
        && local.len > CHUNK_SIZE_BYTES
        && chunked::upload(client, vm, &local, &query).await?
    {
        return Ok(());
    }
    let size = match kind {
        CopySourceType::File => local.len,
        CopySourceType::Directory => unpacked_size_bytes(&local.path, &excludes)?,
    };
    match client
        .upload_sized(vm, &query, Some(size), local.body(&excludes).await?)
        .await
    {
        Err(err) if err.is_invalid_mode(mode.as_str()) => {
            tracing::info!(%vm, "the guest has no cp-v1; copying with mode {}", legacy_mode.as_str());
            let legacy = CopyQuery {
                path: query.path,
                mode: legacy_mode,
                uid: query.uid,
                gid: query.gid,
                permissions: query.permissions,
                ..CopyQuery::default()
            };
            client
                .upload(vm, &legacy, local.body(&excludes).await?)
                .await?;
        }
        other => other?,
    }
    Ok(())
}
