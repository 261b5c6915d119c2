//! Finding VMM binaries: on `PATH` first, then in the directories where
//! installs put them, which a systemd unit's `PATH` may not include.

use std::path::PathBuf;

/// Directories searched after `PATH`: where `cargo install` and our install
/// script put binaries.
pub const EXTRA_BIN_DIRS: &[&str] = &["/usr/local/bin", "/usr/bin", "/root/.cargo/bin"];

/// The directories to search for binaries on this host: `PATH`, then
/// [`EXTRA_BIN_DIRS`].
pub fn search_dirs_from_env() -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dir in std::env::split_paths(&path).chain(EXTRA_BIN_DIRS.iter().map(PathBuf::from)) {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// The first regular file called `binary` in `dirs`.
pub fn find_in(binary: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| dir.join(binary))
        .find(|candidate| candidate.is_file())
}

/// `dirs` joined with `:` for messages.
pub fn display_dirs(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_directory_that_has_the_binary_wins() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join("vmm"), b"").unwrap();
        std::fs::create_dir(a.path().join("dir-not-file")).unwrap();
        let dirs = vec![a.path().to_owned(), b.path().to_owned()];
        assert_eq!(find_in("vmm", &dirs), Some(b.path().join("vmm")));
        assert_eq!(find_in("dir-not-file", &dirs), None);
        assert_eq!(find_in("missing", &dirs), None);
    }
}
