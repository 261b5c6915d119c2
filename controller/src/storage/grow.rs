//! Growing a raw ext4 disk to its group's `storage_size`: extend the file
//! (sparse), check the filesystem, then `resize2fs`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Errors of growing a disk.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum GrowError {
    /// cannot extend {path} to {size_bytes} bytes
    Extend {
        /// The disk.
        path: PathBuf,
        /// The target size.
        size_bytes: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// cannot run {program} (install e2fsprogs)
    Spawn {
        /// The program.
        program: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// {program} failed on {path} with {status}: {stderr}
    Failed {
        /// The program.
        program: &'static str,
        /// The disk.
        path: PathBuf,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        stderr: String,
    },
}

/// Grow the ext4 filesystem in `path` to `size_bytes`; a disk already that
/// large is left alone (shrinking is never attempted).
pub fn grow_ext4(path: &Path, size_bytes: u64) -> Result<(), GrowError> {
    let current = std::fs::metadata(path)
        .map_err(|source| GrowError::Extend {
            path: path.to_owned(),
            size_bytes,
            source,
        })?
        .len();
    if current >= size_bytes {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(size_bytes))
        .map_err(|source| GrowError::Extend {
            path: path.to_owned(),
            size_bytes,
            source,
        })?;
    // e2fsck exits 1 when it fixed something, which is fine here.
    run("e2fsck", &["-f", "-y"], path, &[0, 1])?;
    run("resize2fs", &[], path, &[0])
}

fn run(program: &'static str, args: &[&str], path: &Path, ok: &[i32]) -> Result<(), GrowError> {
    let output = Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .map_err(|source| GrowError::Spawn { program, source })?;
    if output.status.code().is_some_and(|c| ok.contains(&c)) {
        return Ok(());
    }
    Err(GrowError::Failed {
        program,
        path: path.to_owned(),
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}
