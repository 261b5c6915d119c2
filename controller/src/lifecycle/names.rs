//! Names derived from hostnames (`reference/slicer.md` §11 item 3): TAP =
//! `tap_prefix` + index, kept within the 15-byte interface-name limit.

use sha2::{Digest, Sha256};

/// Longest Linux interface name.
const IFNAME_MAX: usize = 15;

/// The TAP device of VM `index` in a group with `prefix`. When prefix and
/// index do not fit in 15 bytes, the prefix is shortened and a short hash
/// of the full name keeps it unique.
pub fn tap_name(prefix: &str, index: u64) -> String {
    let plain = format!("{prefix}{index}");
    if plain.len() <= IFNAME_MAX {
        return plain;
    }
    let digest = Sha256::digest(plain.as_bytes());
    let hash = format!("{:02x}{:02x}", digest[0], digest[1]);
    let index = index.to_string();
    let keep = IFNAME_MAX.saturating_sub(hash.len() + index.len());
    format!("{}{hash}{index}", &prefix[..keep.min(prefix.len())])
}

/// The group of hostname `<group>-<n>`, if it has that shape.
pub fn group_of(hostname: &str) -> Option<&str> {
    let (group, index) = hostname.rsplit_once('-')?;
    index.parse::<u64>().ok().map(|_| group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_names_fit_and_stay_distinct() {
        assert_eq!(tap_name("web", 1), "web1");
        let long = tap_name("abcdefghijklmn", 12345);
        assert!(long.len() <= 15, "{long}");
        assert_ne!(long, tap_name("abcdefghijklmn", 12346));
        assert_eq!(long, tap_name("abcdefghijklmn", 12345));
    }

    #[test]
    fn groups_come_from_hostnames() {
        assert_eq!(group_of("my-group-12"), Some("my-group"));
        assert_eq!(group_of("web-1"), Some("web"));
        assert_eq!(group_of("web"), None);
        assert_eq!(group_of("web-x"), None);
    }
}
