//! Native filesystem operations: readdir, stat, mkdir, remove. Blocking
//! std calls; handlers run them on the blocking pool.

use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use slicer_api::types::FsEntry;

use super::entry::{base_name, entry};
use crate::error::AgentError;

/// Mode of directories created without an explicit one.
const DEFAULT_DIR_MODE: u32 = 0o755;

/// The entries of directory `path`, sorted by name.
pub fn readdir(path: &Path) -> Result<Vec<FsEntry>, AgentError> {
    let meta = std::fs::metadata(path).map_err(|e| AgentError::io("stat", path, e))?;
    if !meta.is_dir() {
        return Err(AgentError::NotADirectory(path.to_owned()));
    }
    let mut entries = Vec::new();
    for item in std::fs::read_dir(path).map_err(|e| AgentError::io("readdir", path, e))? {
        let item = item.map_err(|e| AgentError::io("readdir", path, e))?;
        // An entry removed between readdir and lstat is simply not listed.
        let Ok(meta) = std::fs::symlink_metadata(item.path()) else {
            continue;
        };
        entries.push(entry(
            item.file_name().to_string_lossy().into_owned(),
            &meta,
        ));
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// `lstat` of `path` (404 when it does not exist).
pub fn stat(path: &Path) -> Result<FsEntry, AgentError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| AgentError::io("stat", path, e))?;
    Ok(entry(base_name(path), &meta))
}

/// Create directory `path` with `mode` (exactly, regardless of umask). With
/// `recursive`, missing parents are created and an existing directory is
/// accepted unchanged; without it the parent must exist (404) and `path`
/// must not (400). Only `path` itself gets `mode`.
pub fn mkdir(path: &Path, recursive: bool, mode: Option<u32>) -> Result<(), AgentError> {
    let mode = mode.unwrap_or(DEFAULT_DIR_MODE);
    if recursive && path.is_dir() {
        // An existing directory is accepted as it is; its mode is not changed.
        return Ok(());
    }
    let result = std::fs::DirBuilder::new()
        .recursive(recursive)
        .mode(mode)
        .create(path);
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(AgentError::AlreadyExists(path.to_owned()));
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let parent = path.parent().unwrap_or(path);
            return Err(AgentError::NotFound(parent.to_owned()));
        }
        Err(e) => return Err(AgentError::io("mkdir", path, e)),
    }
    if !path.is_dir() {
        return Err(AgentError::AlreadyExists(path.to_owned()));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| AgentError::io("chmod", path, e))
}

/// Remove `path`: a file or symlink, an empty directory, or with
/// `recursive` a directory and everything in it.
pub fn remove(path: &Path, recursive: bool) -> Result<(), AgentError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| AgentError::io("stat", path, e))?;
    let result = if !meta.is_dir() {
        std::fs::remove_file(path)
    } else if recursive {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_dir(path)
    };
    result.map_err(|e| match e.kind() {
        ErrorKind::DirectoryNotEmpty => AgentError::DirectoryNotEmpty(path.to_owned()),
        _ => AgentError::io("remove", path, e),
    })
}

#[cfg(test)]
mod tests {
    use slicer_api::types::FsEntryType;

    use super::*;

    #[test]
    fn mkdir_readdir_stat_remove() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        assert!(matches!(
            mkdir(&nested, false, None),
            Err(AgentError::NotFound(_))
        ));
        mkdir(&nested, true, Some(0o700)).unwrap();
        mkdir(&nested, true, None).unwrap();
        assert!(matches!(
            mkdir(&nested, false, None),
            Err(AgentError::AlreadyExists(_))
        ));
        assert_eq!(stat(&nested).unwrap().mode, "0700");
        std::fs::write(dir.path().join("a/z.txt"), b"z").unwrap();
        let names: Vec<_> = readdir(&dir.path().join("a"))
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(
            names,
            vec![
                ("b".to_owned(), FsEntryType::Directory),
                ("z.txt".to_owned(), FsEntryType::File)
            ]
        );
        assert!(matches!(
            readdir(&dir.path().join("a/z.txt")),
            Err(AgentError::NotADirectory(_))
        ));
        assert!(matches!(
            remove(&dir.path().join("a"), false),
            Err(AgentError::DirectoryNotEmpty(_))
        ));
        remove(&dir.path().join("a"), true).unwrap();
        assert!(matches!(
            stat(&dir.path().join("a")),
            Err(AgentError::NotFound(_))
        ));
        assert!(matches!(
            remove(&dir.path().join("a"), true),
            Err(AgentError::NotFound(_))
        ));
    }
}
