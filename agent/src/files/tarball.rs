//! Tar streams in and out of the guest, on blocking threads fed through
//! pipes so neither side is ever held whole in memory. The packing and
//! unpacking themselves are `slicer_api::archive`, shared with the CLI.

use std::path::{Path, PathBuf};

use axum::body::Body;
use futures_util::TryStreamExt;
use slicer_api::archive::{Excludes, Owner, pack_tree, unpack_into};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::AgentError;

/// Unpack the tar stream `body` into the existing directory `dest`.
/// Entries that would land outside `dest` (`..`, absolute names, through
/// symlinks) are refused.
pub async fn unpack(
    dest: &Path,
    body: Body,
    owner: Owner,
    excludes: Excludes,
) -> Result<(), AgentError> {
    let reader = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    let bridge = SyncIoBridge::new(reader);
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || unpack_into(bridge, &dest, &excludes, owner))
        .await
        .map_err(|e| AgentError::Body(e.to_string()))?
        .map_err(AgentError::from)
}

/// A tar stream of `path` (a file or a directory) with entries under
/// `prefix` (`None`: a directory's contents alone; see
/// [`slicer_api::archive::pack_tree`]).
pub fn pack(path: &Path, prefix: Option<PathBuf>, excludes: Excludes) -> Result<Body, AgentError> {
    std::fs::metadata(path).map_err(|e| AgentError::io("stat", path, e))?;
    let (reader, writer) = tokio::io::duplex(256 * 1024);
    let path = path.to_owned();
    let writer = SyncIoBridge::new(writer);
    tokio::task::spawn_blocking(move || {
        if let Err(err) = pack_tree(writer, &path, prefix.as_deref(), &excludes) {
            tracing::warn!(path = %path.display(), error = %err, "tar download failed");
        }
    });
    Ok(Body::from_stream(
        tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024),
    ))
}
