//! The host's secret store: one file per secret under `<data>/secrets/`
//! (0700), whose mode, uid and gid are what the guest gets. The API and
//! CLI write it; files may also be placed there by hand. The VM
//! controller reads it to deliver secrets at boot.

mod error;
mod store;

pub use error::SecretError;
pub use store::{SecretStore, validate_name};
