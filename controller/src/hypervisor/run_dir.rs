//! A VM's run directory: created private to root, and cleared of the
//! sockets a previous run of the VMM left, which would make a new bind fail.

use std::path::Path;

use super::HypervisorError;

/// Create `dir` (mode 0700) and remove the `sockets` a previous run left.
pub(crate) fn prepare(dir: &Path, sockets: &[&str]) -> Result<(), HypervisorError> {
    use std::os::unix::fs::DirBuilderExt;
    let err = |source| HypervisorError::RunDir {
        path: dir.to_owned(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    for socket in sockets {
        match std::fs::remove_file(dir.join(socket)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
    }
    Ok(())
}

/// Remove `sockets` from `dir`, ignoring those already gone.
pub(crate) fn remove_sockets(dir: &Path, sockets: &[&str]) {
    for socket in sockets {
        let _ = std::fs::remove_file(dir.join(socket));
    }
}

/// Create `path` empty if it does not exist, for VMMs that open a log or
/// metrics file without creating it.
pub(crate) fn touch(path: &Path) -> Result<(), HypervisorError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
        .map_err(|source| HypervisorError::RunDir {
            path: path.to_owned(),
            source,
        })
}
