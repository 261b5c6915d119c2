//! Cloning a disk image: a reflink (`FICLONE`) where the filesystem shares
//! extents (XFS, btrfs), else a copy of only the data extents, so a mostly
//! empty 2 GiB base costs what it holds, not its size.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::unistd::{Whence, lseek};

/// How a clone was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneMethod {
    /// Shared extents: instant, no extra space until written.
    Reflink,
    /// Data extents copied, holes kept.
    SparseCopy,
}

/// Errors of cloning.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum CloneError {
    /// cannot open clone source {path}
    Source {
        /// The base image.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// cannot create clone {path}
    Destination {
        /// The new disk.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// cannot copy {from} to {to}
    Copy {
        /// The base image.
        from: PathBuf,
        /// The new disk.
        to: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Clone `from` into a new file `to` (which must not exist).
pub fn clone_file(from: &Path, to: &Path) -> Result<CloneMethod, CloneError> {
    let source = File::open(from).map_err(|source| CloneError::Source {
        path: from.to_owned(),
        source,
    })?;
    let destination = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|source| CloneError::Destination {
            path: to.to_owned(),
            source,
        })?;
    let copy_err = |source| CloneError::Copy {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    };
    let result = if reflink(&source, &destination).is_ok() {
        Ok(CloneMethod::Reflink)
    } else {
        sparse_copy(&source, &destination)
            .map(|()| CloneMethod::SparseCopy)
            .map_err(copy_err)
    };
    if result.is_err() {
        let _ = std::fs::remove_file(to);
    }
    result
}

/// `ioctl(dst, FICLONE, src)`.
fn reflink(source: &File, destination: &File) -> std::io::Result<()> {
    // FICLONE = _IOW(0x94, 9, int)
    const FICLONE: libc::c_ulong = 0x4004_9409;
    // SAFETY: both descriptors are open for the duration of the call, and
    // FICLONE takes the source descriptor by value, reading no memory.
    let rc = unsafe { libc::ioctl(destination.as_raw_fd(), FICLONE, source.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Copy each data extent (found with `SEEK_DATA`/`SEEK_HOLE`) with
/// `copy_file_range`, then set the length so trailing holes stay holes.
fn sparse_copy(source: &File, destination: &File) -> std::io::Result<()> {
    let len = source.metadata()?.len();
    let len_i64 = i64::try_from(len).map_err(std::io::Error::other)?;
    let mut offset: i64 = 0;
    while offset < len_i64 {
        let data = match lseek(source, offset, Whence::SeekData) {
            Ok(data) => data,
            Err(nix::Error::ENXIO) => break, // only a hole remains
            Err(err) => return Err(err.into()),
        };
        let hole = lseek(source, data, Whence::SeekHole)?;
        copy_range(source, destination, data, hole - data)?;
        offset = hole;
    }
    destination.set_len(len)?;
    destination.sync_all()
}

fn copy_range(source: &File, destination: &File, start: i64, len: i64) -> std::io::Result<()> {
    let mut off_in = start;
    let mut off_out = start;
    let mut remaining = usize::try_from(len).map_err(std::io::Error::other)?;
    while remaining > 0 {
        let copied = nix::fcntl::copy_file_range(
            source,
            Some(&mut off_in),
            destination,
            Some(&mut off_out),
            remaining,
        )?;
        if copied == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "source shrank while being copied",
            ));
        }
        remaining -= copied;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn sparse_file_clones_with_same_bytes_and_holes_kept() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.img");
        let mut file = File::create(&base).unwrap();
        file.write_all(b"head").unwrap();
        file.seek(SeekFrom::Start(64 << 20)).unwrap();
        file.write_all(b"middle").unwrap();
        file.set_len(128 << 20).unwrap();
        drop(file);

        let clone = dir.path().join("vm-1.img");
        let method = clone_file(&base, &clone).unwrap();
        assert_eq!(
            std::fs::read(&base).unwrap(),
            std::fs::read(&clone).unwrap()
        );
        let meta = std::fs::metadata(&clone).unwrap();
        assert_eq!(meta.len(), 128 << 20);
        if method == CloneMethod::SparseCopy {
            assert!(
                meta.blocks() * 512 < 8 << 20,
                "holes were filled: {} blocks",
                meta.blocks()
            );
        }
    }

    #[test]
    fn existing_destination_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.img");
        std::fs::write(&base, b"new").unwrap();
        let existing = dir.path().join("vm-1.img");
        std::fs::write(&existing, b"user data").unwrap();
        let err = clone_file(&base, &existing).unwrap_err();
        assert!(matches!(err, CloneError::Destination { .. }));
        assert_eq!(std::fs::read(&existing).unwrap(), b"user data");
    }
}
