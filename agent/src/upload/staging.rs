//! The staging layout of a chunked upload:
//! `<dest-parent>/.slicer-upload-<id>/{manifest.json,chunks/NNNNNN.chunk}`.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use slicer_api::types::upload::{CHUNKS_DIR, MANIFEST_FILE, UPLOAD_DIR_PREFIX, chunk_file_name};

use crate::error::AgentError;

/// Whether `dir` is named like a staging directory (`.slicer-upload-<id>`).
pub fn is_staging_dir(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_prefix(UPLOAD_DIR_PREFIX))
        .is_some_and(|id| !id.is_empty())
}

/// The staging directory a chunk or manifest path belongs to.
fn staging_dir_of(path: &Path) -> Option<&Path> {
    let parent = path.parent()?;
    if path.file_name()? == MANIFEST_FILE && is_staging_dir(parent) {
        return Some(parent);
    }
    let grandparent = parent.parent()?;
    (parent.file_name()? == CHUNKS_DIR && is_staging_dir(grandparent)).then_some(grandparent)
}

/// Slicer's clients upload chunks and the manifest with plain binary
/// copies and no mkdir: create the staging directories (0700) for such a
/// path when the destination's parent exists. Any other path is left
/// alone (a binary upload into a missing directory stays a 404).
pub fn create_parents(path: &Path) -> Result<(), AgentError> {
    let Some(dir) = staging_dir_of(path) else {
        return Ok(());
    };
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    if parent.is_dir() || !dir.parent().is_some_and(Path::is_dir) {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(parent)
        .map_err(|e| AgentError::io("mkdir", parent, e))
}

/// Where chunk `index` of the upload staged in `dir` is.
pub fn chunk_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(CHUNKS_DIR).join(chunk_file_name(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_staging_paths_get_their_parents() {
        let tmp = tempfile::tempdir().unwrap();
        let chunk = tmp.path().join(".slicer-upload-ab12/chunks/000000.chunk");
        create_parents(&chunk).unwrap();
        assert!(chunk.parent().unwrap().is_dir());
        let manifest = tmp.path().join(".slicer-upload-cd/manifest.json");
        create_parents(&manifest).unwrap();
        assert!(manifest.parent().unwrap().is_dir());
        for other in [
            "plain/dir/file",
            ".slicer-upload-/manifest.json",
            "x/.slicer-upload-1/chunks/0.chunk",
        ] {
            create_parents(&tmp.path().join(other)).unwrap();
            assert!(
                !tmp.path().join(other).parent().unwrap().exists(),
                "{other}"
            );
        }
    }
}
