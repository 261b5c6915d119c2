//! What exists at a path, for [`crate::types::resolve_target`].

use std::path::Path;

use crate::types::PathKind;

/// What exists at `path` (symlinks followed, as `cp` follows its
/// destination).
pub fn path_kind(path: &Path) -> PathKind {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => PathKind::Directory,
        Ok(_) => PathKind::Other,
        Err(_) => PathKind::Missing,
    }
}
