//! [`SecretStore`]: create, list, update, delete and deliver secrets.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use slicer_api::types::{CreateSecretRequest, SecretFile, SecretInfo, UpdateSecretRequest};

use super::SecretError;

/// Mode of secrets created without `permissions` (`reference/slicer.md`
/// §11 item 44).
const DEFAULT_MODE: u32 = 0o600;
/// Longest secret name.
const NAME_MAX: usize = 253;

/// The secret files of one daemon.
#[derive(Debug, Clone)]
pub struct SecretStore {
    dir: PathBuf,
}

/// Check that `name` is a single safe path component.
pub fn validate_name(name: &str) -> Result<(), SecretError> {
    let invalid = |reason| SecretError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.len() > NAME_MAX {
        return Err(invalid("it is longer than 253 bytes"));
    }
    if name.starts_with('.') {
        return Err(invalid("it starts with a dot"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(invalid(
            "only letters, digits, '.', '_' and '-' are allowed",
        ));
    }
    Ok(())
}

fn parse_mode(name: &str, permissions: Option<&str>) -> Result<Option<u32>, SecretError> {
    let Some(text) = permissions else {
        return Ok(None);
    };
    let invalid = || SecretError::InvalidPermissions {
        name: name.to_owned(),
        permissions: text.to_owned(),
    };
    let digits = text.strip_prefix("0o").unwrap_or(text);
    let mode = u32::from_str_radix(digits, 8).map_err(|_| invalid())?;
    if digits.is_empty() || mode > 0o777 {
        return Err(invalid());
    }
    Ok(Some(mode))
}

fn decode(name: &str, data: &str) -> Result<Vec<u8>, SecretError> {
    STANDARD
        .decode(data.trim())
        .map_err(|source| SecretError::InvalidData {
            name: name.to_owned(),
            source,
        })
}

impl SecretStore {
    /// The store in directory `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(operation: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SecretError {
        let path = path.to_owned();
        move |source| SecretError::Io {
            operation,
            path,
            source,
        }
    }

    fn ensure_dir(&self) -> Result<(), SecretError> {
        fs::create_dir_all(&self.dir).map_err(Self::io("create", &self.dir))?;
        fs::set_permissions(&self.dir, Permissions::from_mode(0o700))
            .map_err(Self::io("set the mode of", &self.dir))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Metadata of every secret, by name.
    pub fn list(&self) -> Result<Vec<SecretInfo>, SecretError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(Self::io("list", &self.dir)(err)),
        };
        let mut secrets = Vec::new();
        for entry in entries {
            let entry = entry.map_err(Self::io("list", &self.dir))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if validate_name(&name).is_err() {
                continue;
            }
            let metadata = entry.metadata().map_err(Self::io("stat", &entry.path()))?;
            if metadata.is_file() {
                secrets.push(info(&name, &metadata));
            }
        }
        secrets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(secrets)
    }

    /// Metadata of secret `name`.
    pub fn get(&self, name: &str) -> Result<SecretInfo, SecretError> {
        validate_name(name)?;
        let path = self.path(name);
        match fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => Ok(info(name, &metadata)),
            Ok(_) => Err(SecretError::NotFound {
                name: name.to_owned(),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(SecretError::NotFound {
                name: name.to_owned(),
            }),
            Err(err) => Err(Self::io("stat", &path)(err)),
        }
    }

    /// Create a secret; [`SecretError::Exists`] if the name is taken.
    /// Everything is checked before anything is written.
    pub fn create(&self, request: &CreateSecretRequest) -> Result<SecretInfo, SecretError> {
        let name = request.name.as_str();
        validate_name(name)?;
        let data = decode(name, &request.data)?;
        let mode = parse_mode(name, request.permissions.as_deref())?.unwrap_or(DEFAULT_MODE);
        if self.path(name).exists() {
            return Err(SecretError::Exists {
                name: name.to_owned(),
            });
        }
        self.ensure_dir()?;
        let staged = self.stage(
            name,
            &data,
            mode,
            request.uid.unwrap_or(0),
            request.gid.unwrap_or(0),
        )?;
        let target = self.path(name);
        // A hard link fails if the name appeared meanwhile, so two creates
        // of one name cannot both win.
        let linked = fs::hard_link(&staged, &target);
        let _ = fs::remove_file(&staged);
        match linked {
            Ok(()) => self.get(name),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(SecretError::Exists {
                    name: name.to_owned(),
                })
            }
            Err(err) => Err(Self::io("create", &target)(err)),
        }
    }

    /// Change a secret's data and/or metadata; absent fields are kept.
    pub fn update(
        &self,
        name: &str,
        request: &UpdateSecretRequest,
    ) -> Result<SecretInfo, SecretError> {
        let current = self.get(name)?;
        let data = match &request.data {
            Some(data) => decode(name, data)?,
            None => {
                let path = self.path(name);
                fs::read(&path).map_err(Self::io("read", &path))?
            }
        };
        let mode = match parse_mode(name, request.permissions.as_deref())? {
            Some(mode) => mode,
            None => parse_mode(name, Some(&current.permissions))?.unwrap_or(DEFAULT_MODE),
        };
        let staged = self.stage(
            name,
            &data,
            mode,
            request.uid.unwrap_or(current.uid),
            request.gid.unwrap_or(current.gid),
        )?;
        let target = self.path(name);
        fs::rename(&staged, &target).map_err(Self::io("replace", &target))?;
        self.get(name)
    }

    /// Delete secret `name`.
    pub fn remove(&self, name: &str) -> Result<(), SecretError> {
        self.get(name)?;
        let path = self.path(name);
        fs::remove_file(&path).map_err(Self::io("remove", &path))
    }

    /// The secrets a VM gets: all of them for `None`, else exactly the
    /// named ones that exist (`reference/slicer.md` §11 item 38).
    pub fn files_for(&self, names: Option<&[String]>) -> Result<Vec<SecretFile>, SecretError> {
        let mut files = Vec::new();
        for secret in self.list()? {
            if names.is_some_and(|names| !names.contains(&secret.name)) {
                continue;
            }
            let path = self.path(&secret.name);
            let data = fs::read(&path).map_err(Self::io("read", &path))?;
            files.push(SecretFile {
                name: secret.name,
                data: STANDARD.encode(data),
                permissions: secret.permissions,
                uid: secret.uid,
                gid: secret.gid,
            });
        }
        Ok(files)
    }

    /// Like [`SecretStore::files_for`] for the VM controller, which cannot
    /// fail a boot over one unreadable file: problems are logged and the
    /// readable secrets are delivered.
    pub fn deliverable(&self, names: Option<&[String]>) -> Vec<SecretFile> {
        self.files_for(names).unwrap_or_else(|err| {
            tracing::warn!(dir = %self.dir.display(), error = %err, "cannot read the secret store; delivering no secrets");
            Vec::new()
        })
    }

    /// Write `data` to a hidden file with its final mode and owner.
    fn stage(
        &self,
        name: &str,
        data: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<PathBuf, SecretError> {
        let staged = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&staged);
        let result = (|| {
            let mut file: File = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&staged)?;
            file.write_all(data)?;
            file.sync_all()?;
            let metadata = file.metadata()?;
            if metadata.uid() != uid || metadata.gid() != gid {
                std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
            }
            file.set_permissions(Permissions::from_mode(mode))
        })();
        match result {
            Ok(()) => Ok(staged),
            Err(err) => {
                let _ = fs::remove_file(&staged);
                Err(Self::io("write", &staged)(err))
            }
        }
    }
}

fn info(name: &str, metadata: &fs::Metadata) -> SecretInfo {
    let modified = metadata
        .modified()
        .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    SecretInfo {
        name: name.to_owned(),
        size: metadata.len(),
        permissions: format!("{:04o}", metadata.mode() & 0o777),
        uid: metadata.uid(),
        gid: metadata.gid(),
        mod_time: humantime::format_rfc3339_seconds(modified).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, data: &str) -> CreateSecretRequest {
        CreateSecretRequest {
            name: name.into(),
            data: data.into(),
            permissions: None,
            uid: None,
            gid: None,
        }
    }

    #[test]
    fn create_list_update_deliver_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().join("secrets"));
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        let created = store
            .create(&CreateSecretRequest {
                permissions: Some("0640".into()),
                uid: Some(uid),
                gid: Some(gid),
                ..request("api-key", &STANDARD.encode("s3cret"))
            })
            .unwrap();
        assert_eq!(created.size, 6);
        assert_eq!(created.permissions, "0640");
        let dir_mode = fs::metadata(store.dir()).unwrap().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        assert!(matches!(
            store.create(&request("api-key", "")),
            Err(SecretError::Exists { .. })
        ));
        let updated = store
            .update(
                "api-key",
                &UpdateSecretRequest {
                    data: Some(STANDARD.encode("longer secret")),
                    ..UpdateSecretRequest::default()
                },
            )
            .unwrap();
        assert_eq!((updated.size, updated.permissions.as_str()), (13, "0640"));
        store.create(&request("other", "")).unwrap();
        assert_eq!(store.files_for(None).unwrap().len(), 2);
        let only = store.files_for(Some(&["api-key".into()])).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(STANDARD.decode(&only[0].data).unwrap(), b"longer secret");
        assert!(store.files_for(Some(&[])).unwrap().is_empty());
        store.remove("api-key").unwrap();
        assert!(matches!(
            store.remove("api-key"),
            Err(SecretError::NotFound { .. })
        ));
        assert_eq!(store.list().unwrap().len(), 1);
    }

    #[test]
    fn bad_input_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().join("secrets"));
        assert!(matches!(
            store.create(&request("x", "not base64!")),
            Err(SecretError::InvalidData { .. })
        ));
        for name in ["", "../x", ".hidden", "a/b"] {
            assert!(matches!(
                store.create(&request(name, "")),
                Err(SecretError::InvalidName { .. })
            ));
        }
        assert!(matches!(
            store.create(&CreateSecretRequest {
                permissions: Some("999".into()),
                ..request("x", "")
            }),
            Err(SecretError::InvalidPermissions { .. })
        ));
        assert!(!store.dir().exists());
    }
}
