//! [`DiskBackend`]: how a VM gets its own disk from a base image and loses
//! it again, behind one trait so the reconciler does not care whether it
//! is a reflinked file, a sparse copy or (later) a thin snapshot.

use std::path::{Path, PathBuf};

use super::clone::{CloneError, CloneMethod, clone_file};
use super::grow::{GrowError, grow_ext4};

/// Errors of disk preparation and removal.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum DiskError {
    /// cannot clone {base} into {disk}
    Clone {
        /// The base image.
        base: PathBuf,
        /// The VM disk.
        disk: PathBuf,
        /// The underlying error.
        #[source]
        source: CloneError,
    },
    /// cannot grow disk {disk}
    Grow {
        /// The VM disk.
        disk: PathBuf,
        /// The underlying error.
        #[source]
        source: GrowError,
    },
    /// cannot {operation} disk {disk}
    Io {
        /// What was attempted.
        operation: &'static str,
        /// The VM disk.
        disk: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// What [`DiskBackend::prepare`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskOutcome {
    /// The disk already existed and was kept as it is.
    Kept,
    /// A new disk was made.
    Created(CloneMethod),
}

/// Per-VM disks. Both operations are idempotent.
pub trait DiskBackend: Send + Sync + std::fmt::Debug {
    /// Make `disk` from `base`, grown to `size_bytes` if that is larger
    /// than the base; an existing `disk` is kept untouched (a persistent
    /// VM's files survive).
    fn prepare(
        &self,
        base: &Path,
        disk: &Path,
        size_bytes: Option<u64>,
    ) -> Result<DiskOutcome, DiskError>;

    /// Remove `disk`; absent is fine. Returns whether a disk was removed.
    fn remove(&self, disk: &Path) -> Result<bool, DiskError>;
}

/// The `image` storage backend: one raw ext4 file per VM, cloned with a
/// reflink where the filesystem supports it, else a sparse copy.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageFiles;

impl DiskBackend for ImageFiles {
    fn prepare(
        &self,
        base: &Path,
        disk: &Path,
        size_bytes: Option<u64>,
    ) -> Result<DiskOutcome, DiskError> {
        if disk.exists() {
            return Ok(DiskOutcome::Kept);
        }
        let io = |operation| {
            move |source| DiskError::Io {
                operation,
                disk: disk.to_owned(),
                source,
            }
        };
        if let Some(parent) = disk.parent() {
            std::fs::create_dir_all(parent).map_err(io("create the directory of"))?;
        }
        // Build under a temporary name and rename last, so a crash never
        // leaves a half-made disk under the real name.
        let partial = partial_path(disk);
        let _ = std::fs::remove_file(&partial);
        let method = clone_file(base, &partial).map_err(|source| DiskError::Clone {
            base: base.to_owned(),
            disk: disk.to_owned(),
            source,
        })?;
        if let Some(size) = size_bytes {
            grow_ext4(&partial, size).map_err(|source| {
                let _ = std::fs::remove_file(&partial);
                DiskError::Grow {
                    disk: disk.to_owned(),
                    source,
                }
            })?;
        }
        std::fs::rename(&partial, disk).map_err(io("rename into place"))?;
        Ok(DiskOutcome::Created(method))
    }

    fn remove(&self, disk: &Path) -> Result<bool, DiskError> {
        let _ = std::fs::remove_file(partial_path(disk));
        match std::fs::remove_file(disk) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(DiskError::Io {
                operation: "remove",
                disk: disk.to_owned(),
                source,
            }),
        }
    }
}

fn partial_path(disk: &Path) -> PathBuf {
    let mut name = disk.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    disk.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn ext4(path: &Path, size_mib: u64) {
        let status = Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(path)
            .arg(format!("{size_mib}M"))
            .status()
            .expect("mkfs.ext4 (e2fsprogs) is installed by deploy/install.sh");
        assert!(status.success());
    }

    #[test]
    fn prepare_clones_grows_keeps_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.ext4");
        ext4(&base, 64);
        let disk = dir.path().join("disks/vm-1.img");
        let backend = ImageFiles;
        let outcome = backend.prepare(&base, &disk, Some(128 << 20)).unwrap();
        assert!(matches!(outcome, DiskOutcome::Created(_)), "{outcome:?}");
        assert_eq!(std::fs::metadata(&disk).unwrap().len(), 128 << 20);
        assert!(!partial_path(&disk).exists());
        // The filesystem itself grew, not just the file.
        let dumpe2fs = Command::new("dumpe2fs")
            .arg("-h")
            .arg(&disk)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&dumpe2fs.stdout);
        let blocks: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Block count:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let block_size: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Block size:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(blocks * block_size, 128 << 20);

        std::fs::write(dir.path().join("marker"), "x").unwrap();
        assert_eq!(
            backend.prepare(&base, &disk, Some(256 << 20)).unwrap(),
            DiskOutcome::Kept,
            "an existing disk is never replaced"
        );
        assert_eq!(std::fs::metadata(&disk).unwrap().len(), 128 << 20);
        assert!(backend.remove(&disk).unwrap());
        assert!(!backend.remove(&disk).unwrap());
    }

    #[test]
    fn a_missing_base_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = ImageFiles
            .prepare(&dir.path().join("nope"), &dir.path().join("d.img"), None)
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("nope") && text.contains("d.img"), "{text}");
    }

    /// An XFS filesystem with reflinks on a loop mount, removed on drop.
    struct XfsMount {
        dir: tempfile::TempDir,
    }

    impl XfsMount {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let image = dir.path().join("xfs.img");
            std::fs::File::create(&image)
                .unwrap()
                .set_len(512 << 20)
                .unwrap();
            let mkfs = Command::new("mkfs.xfs")
                .args(["-q", "-m", "reflink=1"])
                .arg(&image)
                .status()
                .expect("mkfs.xfs (xfsprogs) is installed by deploy/install.sh");
            assert!(mkfs.success());
            let mnt = dir.path().join("mnt");
            std::fs::create_dir(&mnt).unwrap();
            let mount = Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(&mnt)
                .status()
                .unwrap();
            assert!(mount.success(), "loop-mounting XFS needs root");
            Self { dir }
        }

        fn path(&self) -> PathBuf {
            self.dir.path().join("mnt")
        }
    }

    impl Drop for XfsMount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.path()).status();
        }
    }

    #[test]
    fn on_xfs_disks_are_reflinked_and_share_extents() {
        let xfs = XfsMount::new();
        let base = xfs.path().join("base.ext4");
        ext4(&base, 200);
        let free_before = nix::sys::statvfs::statvfs(&xfs.path())
            .unwrap()
            .blocks_free();
        let disk = xfs.path().join("vm-1.img");
        assert_eq!(
            ImageFiles.prepare(&base, &disk, None).unwrap(),
            DiskOutcome::Created(CloneMethod::Reflink)
        );
        let free_after = nix::sys::statvfs::statvfs(&xfs.path())
            .unwrap()
            .blocks_free();
        // A reflink takes no data blocks; allow a little metadata.
        assert!(
            free_before - free_after < 256,
            "clone used {} blocks",
            free_before - free_after
        );
        assert_eq!(std::fs::read(&base).unwrap(), std::fs::read(&disk).unwrap());
    }
}
