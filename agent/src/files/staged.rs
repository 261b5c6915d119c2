//! [`StagedFile`]: a file written under a temporary name beside its
//! destination and renamed into place last, so readers see it whole or
//! not at all. Dropped before [`StagedFile::commit`], it removes itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::paths::apply_owner_and_mode;
use crate::error::AgentError;

/// Tells apart temporary names of uploads running at once in one agent.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A temporary file that becomes `path` on commit.
#[derive(Debug)]
pub struct StagedFile {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// Create the temporary file for `path`. `path` must not be a
    /// directory and its parent must exist (404 otherwise).
    pub fn beside(path: &Path) -> Result<(Self, std::fs::File), AgentError> {
        if path.is_dir() {
            return Err(AgentError::IsDirectory(path.to_owned()));
        }
        let parent = path.parent().unwrap_or(Path::new("/"));
        if !parent.is_dir() {
            return Err(AgentError::NotFound(parent.to_owned()));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(
            ".{name}.slicer-upload-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = std::fs::File::create(&tmp).map_err(|e| AgentError::io("create", &tmp, e))?;
        Ok((
            Self {
                tmp,
                path: path.to_owned(),
                committed: false,
            },
            file,
        ))
    }

    /// The temporary name, for error messages.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Give the file its mode (default 0644) and owner, then rename it
    /// over the destination.
    pub fn commit(
        mut self,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<(), AgentError> {
        apply_owner_and_mode(&self.tmp, Some(mode.unwrap_or(0o644)), uid, gid)?;
        std::fs::rename(&self.tmp, &self.path)
            .map_err(|e| AgentError::io("rename", &self.path, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
