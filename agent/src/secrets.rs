//! Secrets: written to `/run/slicer/secrets/<name>` with the mode and owner
//! the host gave, replacing the previous set.

use std::collections::HashSet;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use base64::Engine;
use slicer_api::types::SecretFile;

use crate::error::AgentError;
use crate::files::paths::{apply_owner_and_mode, parse_mode};

fn bad(name: &str, reason: impl Into<String>) -> AgentError {
    AgentError::BadSecret {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Validate every secret first (so a bad one changes nothing), then write
/// them all and remove files for secrets no longer granted.
pub fn sync(dir: &Path, secrets: &[SecretFile]) -> Result<usize, AgentError> {
    let mut decoded = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let name = &secret.name;
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains('/')
            || name.contains('\0')
        {
            return Err(bad(name, "name must be a single path component"));
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(&secret.data)
            .map_err(|e| bad(name, format!("data is not valid base64: {e}")))?;
        let mode = parse_mode(&secret.permissions)?;
        decoded.push((secret, data, mode));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| AgentError::io("mkdir", dir, e))?;
    let mut keep = HashSet::new();
    for (secret, data, mode) in decoded {
        let path = dir.join(&secret.name);
        let tmp = dir.join(format!(".{}.tmp", secret.name));
        std::fs::write(&tmp, &data).map_err(|e| AgentError::io("write", &tmp, e))?;
        apply_owner_and_mode(&tmp, Some(mode), Some(secret.uid), Some(secret.gid))?;
        std::fs::rename(&tmp, &path).map_err(|e| AgentError::io("rename", &path, e))?;
        keep.insert(secret.name.clone());
    }
    for entry in std::fs::read_dir(dir)
        .map_err(|e| AgentError::io("list", dir, e))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(keep.len())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn secret(name: &str, data: &str) -> SecretFile {
        SecretFile {
            name: name.into(),
            data: data.into(),
            permissions: "0640".into(),
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn writes_with_mode_and_replaces_the_set() {
        let dir = tempfile::tempdir().unwrap();
        let secrets_dir = dir.path().join("secrets");
        assert_eq!(
            sync(&secrets_dir, &[secret("a", "aGk="), secret("b", "eW8=")]).unwrap(),
            2
        );
        assert_eq!(
            std::fs::read_to_string(secrets_dir.join("a")).unwrap(),
            "hi"
        );
        assert_eq!(
            std::fs::metadata(secrets_dir.join("a")).unwrap().mode() & 0o777,
            0o640
        );
        sync(&secrets_dir, &[secret("b", "eW8=")]).unwrap();
        assert!(!secrets_dir.join("a").exists());
    }

    #[test]
    fn bad_names_and_base64_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let secrets_dir = dir.path().join("secrets");
        sync(&secrets_dir, &[secret("keep", "aGk=")]).unwrap();
        let err = sync(&secrets_dir, &[secret("new", "aGk="), secret("x", "!!!")]).unwrap_err();
        assert!(err.to_string().contains("\"x\""), "{err}");
        assert!(sync(&secrets_dir, &[secret("../evil", "aGk=")]).is_err());
        assert!(secrets_dir.join("keep").exists() && !secrets_dir.join("new").exists());
    }
}
