//! Interface-name rules, checked before any name reaches the kernel, so a
//! bad name from config is reported as such and not as an odd errno.

use crate::network::NetworkError;

/// Longest interface name the kernel accepts (`IFNAMSIZ` less the NUL).
pub(super) const MAX_NAME_BYTES: usize = 15;

/// Accept `name` if the kernel would: 1 to 15 bytes, no `/`, `:` or
/// whitespace (`dev_valid_name`, plus `:` which marks alias labels).
pub(super) fn validate(name: &str) -> Result<(), NetworkError> {
    let bad = name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace());
    if bad {
        return Err(NetworkError::BadName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kernel_names() {
        for name in [
            "br0",
            "slicer-br",
            "tap-vm-1",
            "a",
            "x23456789012345",
            "eth0.100",
        ] {
            assert!(validate(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_empty_long_and_forbidden_characters() {
        for name in [
            "",
            "x234567890123456",
            "br/0",
            "br 0",
            "br\t0",
            "br0:1",
            "br\n",
            ".",
            "..",
            "a\0b",
        ] {
            let err = validate(name).unwrap_err();
            assert!(matches!(err, NetworkError::BadName { .. }), "{name:?}");
            assert!(err.to_string().contains("is not valid"), "{err}");
        }
    }

    #[test]
    fn counts_bytes_not_characters() {
        // 8 two-byte characters are 16 bytes.
        assert!(validate("éééééééé").is_err());
        assert!(validate("ééééééé").is_ok());
    }
}
