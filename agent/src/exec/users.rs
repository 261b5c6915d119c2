//! `/etc/passwd` lookups without NSS: the agent is a static binary, and a
//! static glibc cannot load NSS modules.

use std::path::Path;

/// One `/etc/passwd` entry, the fields exec needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// Parse passwd-format text.
pub fn parse_passwd(text: &str) -> Vec<User> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 7 {
                return None;
            }
            Some(User {
                name: fields[0].to_owned(),
                uid: fields[2].parse().ok()?,
                gid: fields[3].parse().ok()?,
                home: fields[5].to_owned(),
                shell: fields[6].to_owned(),
            })
        })
        .collect()
}

/// Find `uid` in the passwd file at `path`.
pub fn lookup_uid(path: &Path, uid: u32) -> Option<User> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_passwd(&text).into_iter().find(|u| u.uid == uid)
}

/// The first ordinary user (uid 1000), the `TARGET_USER` of userdata.
pub fn default_login_user(path: &Path) -> Option<String> {
    lookup_uid(path, 1000).map(|u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_skips_junk() {
        let users = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# c\nbroken\nslicer:x:1000:1001::/home/slicer:/bin/sh\n",
        );
        assert_eq!(users.len(), 2);
        assert_eq!(users[1].gid, 1001);
        assert_eq!(users[1].home, "/home/slicer");
    }
}
