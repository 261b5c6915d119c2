//! Directories as uncompressed tar streams, on blocking threads fed
//! through pipes so neither side is ever held whole in memory.

use std::path::{Path, PathBuf};

use axum::body::Body;
use futures_util::TryStreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::AgentError;

/// Unpack the tar stream `body` into directory `dest` (created if
/// missing). Entries that would land outside `dest` (`..`, absolute names,
/// through symlinks) are refused.
pub async fn unpack(
    dest: &Path,
    body: Body,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<(), AgentError> {
    std::fs::create_dir_all(dest).map_err(|e| AgentError::io("mkdir", dest, e))?;
    let reader = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    let bridge = SyncIoBridge::new(reader);
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || unpack_blocking(bridge, &dest, uid, gid))
        .await
        .map_err(|e| AgentError::Body(e.to_string()))?
}

fn unpack_blocking(
    reader: impl std::io::Read,
    dest: &PathBuf,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<(), AgentError> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    let entries = archive
        .entries()
        .map_err(|e| AgentError::io("read tar", dest, e))?;
    let mut refused = None;
    for entry in entries {
        let mut entry = entry.map_err(|e| AgentError::io("read tar", dest, e))?;
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // unpack_in refuses `..` and absolute names, and checks that the
        // canonical parent stays inside `dest` (no writing through symlinks).
        let unpacked = entry
            .unpack_in(dest)
            .map_err(|e| AgentError::io("unpack", dest.join(&name), e))?;
        if !unpacked {
            refused.get_or_insert(name);
            continue;
        }
        if uid.is_some() || gid.is_some() {
            let path = dest.join(&name);
            std::os::unix::fs::lchown(&path, uid, gid)
                .map_err(|e| AgentError::io("chown", path, e))?;
        }
    }
    match refused {
        Some(name) => Err(AgentError::TarEscape(name)),
        None => Ok(()),
    }
}

/// A tar stream of `path` (a file or a directory), named by its base name.
pub fn pack(path: &Path) -> Result<Body, AgentError> {
    std::fs::symlink_metadata(path).map_err(|e| AgentError::io("stat", path, e))?;
    let (reader, writer) = tokio::io::duplex(256 * 1024);
    let path = path.to_owned();
    let writer = SyncIoBridge::new(writer);
    tokio::task::spawn_blocking(move || {
        let mut builder = tar::Builder::new(writer);
        builder.follow_symlinks(false);
        let name = path
            .file_name()
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let result = if path.is_dir() {
            builder.append_dir_all(&name, &path)
        } else {
            builder.append_path_with_name(&path, &name)
        };
        match result.and_then(|()| builder.finish()) {
            Ok(()) => {}
            Err(err) => tracing::warn!(path = %path.display(), error = %err, "tar download failed"),
        }
    });
    Ok(Body::from_stream(
        tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024),
    ))
}
