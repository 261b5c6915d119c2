//! [`Login`]: who a command or shell runs as and where it starts, resolved
//! once from a request's `uid`, `gid` and `cwd` against the guest's passwd.

use std::path::{Path, PathBuf};

use super::users::{User, lookup_uid};
use crate::error::AgentError;

/// `PATH` given to every command and shell.
const LOGIN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A request's user, group and working directory, checked.
#[derive(Debug, Clone)]
pub struct Login {
    /// The passwd entry of the user.
    pub user: User,
    /// The uid it runs as.
    pub uid: u32,
    /// The gid it runs as.
    pub gid: u32,
    /// The directory it starts in.
    pub cwd: PathBuf,
}

impl Login {
    /// Resolve `uid` (default root), `gid` (default the user's primary
    /// group) and `cwd` (default the user's home if it exists, else `/`).
    /// An unknown uid or a `cwd` that is not a directory is the request's
    /// fault.
    pub fn resolve(
        passwd: &Path,
        uid: Option<u32>,
        gid: Option<u32>,
        cwd: Option<&str>,
    ) -> Result<Self, AgentError> {
        let uid = uid.unwrap_or(0);
        let user = lookup_uid(passwd, uid).ok_or(AgentError::UnknownUid(uid))?;
        let gid = gid.unwrap_or(user.gid);
        let cwd = match cwd {
            Some(cwd) => PathBuf::from(cwd),
            None if Path::new(&user.home).is_dir() => PathBuf::from(&user.home),
            None => PathBuf::from("/"),
        };
        if !cwd.is_dir() {
            return Err(AgentError::BadCwd(cwd));
        }
        Ok(Self {
            user,
            uid,
            gid,
            cwd,
        })
    }

    /// Start `command` afresh as this login: only the login environment
    /// (`PATH`, `HOME`, `USER`, `LOGNAME`, and `SHELL` set to `shell`), in
    /// the working directory, as the uid and gid. Callers add their own
    /// variables afterwards.
    pub fn apply(&self, command: &mut tokio::process::Command, shell: &str) {
        command
            .env_clear()
            .env("PATH", LOGIN_PATH)
            .env("HOME", &self.user.home)
            .env("USER", &self.user.name)
            .env("LOGNAME", &self.user.name)
            .env("SHELL", shell)
            .current_dir(&self.cwd)
            .uid(self.uid)
            .gid(self.gid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwd(home: &Path) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let text = format!(
            "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::{}:/bin/bash\nnohome:x:1001:1001::/no/such:/bin/sh\n",
            home.display()
        );
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn defaults_are_the_users_group_and_home_else_root() {
        let home = tempfile::tempdir().unwrap();
        let passwd = passwd(home.path());
        let user = Login::resolve(passwd.path(), Some(1000), None, None).unwrap();
        assert_eq!((user.uid, user.gid), (1000, 1000));
        assert_eq!(user.cwd, home.path());
        let homeless = Login::resolve(passwd.path(), Some(1001), Some(5), None).unwrap();
        assert_eq!((homeless.gid, homeless.cwd), (5, PathBuf::from("/")));
        let root = Login::resolve(passwd.path(), None, None, Some("/")).unwrap();
        assert_eq!((root.uid, root.user.name.as_str()), (0, "root"));
    }

    #[test]
    fn an_unknown_uid_or_a_missing_cwd_is_refused_naming_it() {
        let home = tempfile::tempdir().unwrap();
        let passwd = passwd(home.path());
        let err = Login::resolve(passwd.path(), Some(4242), None, None).unwrap_err();
        assert!(err.to_string().contains("4242"), "{err}");
        let err = Login::resolve(passwd.path(), None, None, Some("/no/such")).unwrap_err();
        assert!(err.to_string().contains("/no/such"), "{err}");
    }
}
