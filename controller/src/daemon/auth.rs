//! The API's bearer token (`reference/slicer.md` §7.1, §11 item 19): on
//! for TCP unless `api.auth.enabled: false`; `api.auth.token` if given,
//! else the token in `<data>/auth/token`, generated once and reused across
//! restarts. The directory is 0750 and the file 0640, both group `slicer`
//! when that group exists, so its members can read the token.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::AuthConfig;
use crate::paths::DataDir;

/// Random bytes in a generated token (hex-encoded, so 64 characters).
const TOKEN_BYTES: usize = 32;
/// The system group whose members may read the token.
const TOKEN_GROUP: &str = "slicer";

/// Why the API token cannot be set up.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum AuthError {
    /// cannot {operation} {path}
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// api.auth.token is empty; remove it to generate a token, or set api.auth.enabled: false
    EmptyToken,
}

/// Where the TCP token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `api.auth.token` in the config.
    Config,
    /// The token file (existing or just generated).
    File(PathBuf),
}

fn io(operation: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> AuthError {
    let path = path.to_owned();
    move |source| AuthError::Io {
        operation,
        path,
        source,
    }
}

/// The token TCP clients must send, or `None` when auth is off.
pub fn api_token(
    data: &DataDir,
    auth: Option<&AuthConfig>,
) -> Result<Option<(String, TokenSource)>, AuthError> {
    if auth.and_then(|a| a.enabled) == Some(false) {
        return Ok(None);
    }
    if let Some(token) = auth.and_then(|a| a.token.as_deref()) {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::EmptyToken);
        }
        return Ok(Some((token.to_owned(), TokenSource::Config)));
    }
    let file = data.token_file();
    let token = load_or_generate(&data.auth_dir(), &file)?;
    Ok(Some((token, TokenSource::File(file))))
}

fn load_or_generate(dir: &Path, file: &Path) -> Result<String, AuthError> {
    match fs::read_to_string(file) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => fs::remove_file(file).map_err(io("replace the empty", file))?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io("read", file)(err)),
    }
    fs::create_dir_all(dir).map_err(io("create", dir))?;
    fs::set_permissions(dir, Permissions::from_mode(0o750)).map_err(io("set the mode of", dir))?;
    let mut bytes = [0u8; TOKEN_BYTES];
    let urandom = Path::new("/dev/urandom");
    fs::File::open(urandom)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(io("read", urandom))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(file)
        .map_err(io("create", file))?;
    out.write_all(token.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.sync_all())
        .map_err(io("write", file))?;
    if let Ok(Some(group)) = nix::unistd::Group::from_name(TOKEN_GROUP) {
        for path in [dir, file] {
            if let Err(err) = std::os::unix::fs::chown(path, None, Some(group.gid.as_raw())) {
                tracing::warn!(path = %path.display(), error = %err, "cannot give the token to group {TOKEN_GROUP}");
            }
        }
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn generated_once_then_reused_and_overridden() {
        let root = tempfile::tempdir().unwrap();
        let data = DataDir::new(root.path());
        let (first, source) = api_token(&data, None).unwrap().unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(source, TokenSource::File(data.token_file()));
        assert_eq!(
            fs::metadata(data.token_file()).unwrap().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::metadata(data.auth_dir()).unwrap().mode() & 0o777, 0o750);
        let (again, _) = api_token(&data, None).unwrap().unwrap();
        assert_eq!(first, again);
        let given = AuthConfig {
            enabled: None,
            token: Some("fixed".into()),
        };
        assert_eq!(api_token(&data, Some(&given)).unwrap().unwrap().0, "fixed");
        let off = AuthConfig {
            enabled: Some(false),
            token: None,
        };
        assert_eq!(api_token(&data, Some(&off)).unwrap(), None);
    }
}
