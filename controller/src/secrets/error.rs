//! [`SecretError`].

use std::path::PathBuf;

/// Why a secret operation failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum SecretError {
    /// secret name {name:?} is invalid: {reason}
    InvalidName {
        /// The rejected name.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// data of secret {name} is not valid base64
    InvalidData {
        /// The secret.
        name: String,
        /// The decoding error.
        #[source]
        source: base64::DecodeError,
    },
    /// permissions {permissions:?} of secret {name} are not an octal mode between 0000 and 0777
    InvalidPermissions {
        /// The secret.
        name: String,
        /// The rejected value.
        permissions: String,
    },
    /// secret {name} already exists
    Exists {
        /// The secret.
        name: String,
    },
    /// secret {name} does not exist
    NotFound {
        /// The secret.
        name: String,
    },
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
}
