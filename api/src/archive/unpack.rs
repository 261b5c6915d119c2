//! Unpacking a tar stream into a directory without ever writing outside it.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::Excludes;

/// Owner to give unpacked entries (`None`: leave as unpacked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: Option<u32>,
    /// Group id.
    pub gid: Option<u32>,
}

/// Why an unpack failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum UnpackError {
    /// reading the tar stream for {dest} failed
    Read {
        /// The destination directory.
        dest: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// unpacking {path} failed
    Write {
        /// The entry's destination path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// tar entry {0:?} would escape the destination directory
    Escape(String),
}

impl UnpackError {
    /// The I/O error behind the failure, if there is one.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            Self::Read { source, .. } | Self::Write { source, .. } => Some(source),
            Self::Escape(_) => None,
        }
    }
}

/// Unpack every entry of `reader` into the existing directory `dest`,
/// leaving out `excludes`, preserving modes and giving entries `owner`.
///
/// Entries that would land outside `dest` (`..`, absolute names, through
/// symlinks) are not written; after the rest is unpacked the first one is
/// reported as [`UnpackError::Escape`], so a hostile stream always fails.
pub fn unpack_into(
    reader: impl Read,
    dest: &Path,
    excludes: &Excludes,
    owner: Owner,
) -> Result<(), UnpackError> {
    let read_err = |source| UnpackError::Read {
        dest: dest.to_owned(),
        source,
    };
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    let mut refused = None;
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let name = entry.path().map_err(read_err)?.into_owned();
        if excludes.excludes(&name) {
            continue;
        }
        let path = dest.join(&name);
        // unpack_in refuses `..` and absolute names, and checks that the
        // canonical parent stays inside `dest` (no writing through symlinks).
        let unpacked = entry.unpack_in(dest).map_err(|source| UnpackError::Write {
            path: path.clone(),
            source,
        })?;
        if !unpacked {
            refused.get_or_insert_with(|| name.display().to_string());
            continue;
        }
        if owner.uid.is_some() || owner.gid.is_some() {
            std::os::unix::fs::lchown(&path, owner.uid, owner.gid)
                .map_err(|source| UnpackError::Write { path, source })?;
        }
    }
    match refused {
        Some(name) => Err(UnpackError::Escape(name)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::pack_tree;

    fn escaping_tar() -> Vec<u8> {
        let mut header = tar::Header::new_old();
        let name = b"../evil.txt";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(5);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let mut archive = header.as_bytes().to_vec();
        archive.extend_from_slice(b"evil\n");
        archive.resize(archive.len() + (512 - 5), 0);
        archive.extend_from_slice(&[0u8; 1024]);
        archive
    }

    #[test]
    fn round_trip_with_excludes_and_refused_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::write(src.join("a/x.txt"), b"x").unwrap();
        std::fs::write(src.join("a/y.log"), b"y").unwrap();
        let tar = pack_tree(Vec::new(), &src, None, &Excludes::default()).unwrap();
        let dest = dir.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let excludes = Excludes::new(&["*.log"]);
        unpack_into(&tar[..], &dest, &excludes, Owner::default()).unwrap();
        assert_eq!(std::fs::read(dest.join("a/x.txt")).unwrap(), b"x");
        assert!(!dest.join("a/y.log").exists());

        let jail = dir.path().join("jail");
        std::fs::create_dir(&jail).unwrap();
        let err = unpack_into(&escaping_tar()[..], &jail, &excludes, Owner::default());
        assert!(
            matches!(err, Err(UnpackError::Escape(ref n)) if n == "../evil.txt"),
            "{err:?}"
        );
        assert!(!dir.path().join("evil.txt").exists());
        assert_eq!(std::fs::read_dir(&jail).unwrap().count(), 0);
    }
}
