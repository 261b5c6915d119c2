//! [`AgentConfig`]: every guest path the agent touches, so tests can point
//! them at a scratch directory.

use std::path::PathBuf;

/// Paths the agent reads and writes in the guest.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Marker whose presence means userdata ran on this disk; holds the
    /// exit code.
    pub userdata_marker: PathBuf,
    /// Where the userdata script is written before it runs.
    pub userdata_script: PathBuf,
    /// Directory secrets are written to.
    pub secrets_dir: PathBuf,
    /// User database parsed for exec users (never NSS: the agent is static).
    pub passwd: PathBuf,
    /// Where userdata output goes.
    pub console: PathBuf,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            userdata_marker: "/etc/slicer/userdata-ran".into(),
            userdata_script: "/etc/slicer/userdata.sh".into(),
            secrets_dir: "/run/slicer/secrets".into(),
            passwd: "/etc/passwd".into(),
            console: "/dev/console".into(),
        }
    }
}
