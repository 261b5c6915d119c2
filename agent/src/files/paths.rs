//! Validation of paths the host sends.

use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::error::AgentError;

/// Accept only absolute paths without `..` components.
pub fn checked(path: &str) -> Result<PathBuf, AgentError> {
    let bad = |reason| AgentError::BadPath {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(bad("path is required"));
    }
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(bad("must be absolute"));
    }
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(bad("must not contain '..'"));
    }
    Ok(p.to_owned())
}

/// Parse an octal mode such as `0644`.
pub fn parse_mode(mode: &str) -> Result<u32, AgentError> {
    u32::from_str_radix(mode.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| AgentError::BadMode(mode.to_owned()))
}

/// Set mode and, when given, owner of `path`.
pub fn apply_owner_and_mode(
    path: &Path,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<(), AgentError> {
    if let Some(mode) = mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| AgentError::io("chmod", path, e))?;
    }
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::lchown(path, uid, gid).map_err(|e| AgentError::io("chown", path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_paths_without_parent_components_pass() {
        assert!(checked("/tmp/a").is_ok());
        assert!(checked("tmp/a").is_err());
        assert!(checked("/tmp/../etc").is_err());
        assert!(checked("").is_err());
    }

    #[test]
    fn modes_are_octal() {
        assert_eq!(parse_mode("0644").unwrap(), 0o644);
        assert_eq!(parse_mode("755").unwrap(), 0o755);
        assert!(parse_mode("0999").is_err());
        assert!(parse_mode("rw").is_err());
    }
}
