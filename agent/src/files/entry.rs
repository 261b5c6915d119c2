//! Mapping file metadata onto the wire's [`FsEntry`].

use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use slicer_api::types::{FsEntry, FsEntryType};

/// The octal string of a mode's permission bits (`0644`, `4755`).
pub fn mode_string(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// The entry for `name` with metadata from `lstat` (symlinks are reported,
/// not followed).
pub fn entry(name: String, meta: &Metadata) -> FsEntry {
    let file_type = meta.file_type();
    let kind = if file_type.is_symlink() {
        FsEntryType::Symlink
    } else if file_type.is_dir() {
        FsEntryType::Directory
    } else {
        FsEntryType::File
    };
    FsEntry {
        name,
        kind,
        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
        mtime: meta.mtime(),
        mode: mode_string(meta.permissions().mode()),
    }
}

/// The base name shown for `path` (`/` for the root).
pub fn base_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "/".to_owned(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_files_directories_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"hello").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink(&file, dir.path().join("l")).unwrap();

        let f = entry("f".into(), &std::fs::symlink_metadata(&file).unwrap());
        assert_eq!(
            (f.kind, f.size, f.mode.as_str()),
            (FsEntryType::File, 5, "0640")
        );
        assert!(f.mtime > 1_600_000_000);
        let l = entry(
            "l".into(),
            &std::fs::symlink_metadata(dir.path().join("l")).unwrap(),
        );
        assert_eq!(l.kind, FsEntryType::Symlink);
        let d = entry("d".into(), &std::fs::symlink_metadata(dir.path()).unwrap());
        assert_eq!(d.kind, FsEntryType::Directory);
        assert_eq!(mode_string(0o104755), "4755");
        assert_eq!(base_name(Path::new("/")), "/");
        assert_eq!(base_name(Path::new("/a/b")), "b");
    }
}
