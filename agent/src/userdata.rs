//! Userdata: a bash script run once per disk, as root, its output on the
//! console; the marker `/etc/slicer/userdata-ran` (holding the exit code)
//! records that it ran.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::sync::Mutex;

use slicer_api::types::UserdataState;

use crate::config::AgentConfig;
use crate::error::AgentError;
use crate::exec::{children, users};

/// Userdata progress on this boot.
#[derive(Debug)]
pub struct Userdata {
    config: AgentConfig,
    running: Mutex<bool>,
}

impl Userdata {
    /// Tracker for the paths in `config`.
    pub fn new(config: &AgentConfig) -> Self {
        Self {
            config: config.clone(),
            running: Mutex::new(false),
        }
    }

    /// `(ran, exit_code)` from the marker.
    pub fn outcome(&self) -> (bool, Option<i32>) {
        match std::fs::read_to_string(&self.config.userdata_marker) {
            Ok(text) => (true, text.trim().parse().ok()),
            Err(_) => (false, None),
        }
    }

    /// Start `script` unless it already ran on this disk or is running.
    pub fn start(&self, script: Option<&str>) -> Result<UserdataState, AgentError> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if self.config.userdata_marker.exists() {
            return Ok(UserdataState::AlreadyRan);
        }
        if *running {
            return Ok(UserdataState::Running);
        }
        let Some(script) = script.filter(|s| !s.trim().is_empty()) else {
            return Ok(UserdataState::None);
        };
        let path = &self.config.userdata_script;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AgentError::io("mkdir", dir, e))?;
        }
        std::fs::write(path, script).map_err(|e| AgentError::io("write", path, e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| AgentError::io("chmod", path, e))?;
        let console = |config: &AgentConfig| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&config.console)
                .map_or_else(|_| Stdio::inherit(), Stdio::from)
        };
        let target_user =
            users::default_login_user(&self.config.passwd).unwrap_or_else(|| "root".into());
        let mut command = tokio::process::Command::new("/bin/bash");
        command
            .arg(path)
            .env("TARGET_USER", target_user)
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", "/root")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(console(&self.config))
            .stderr(console(&self.config));
        let mut child =
            children::spawn(&mut command).map_err(|e| AgentError::io("run userdata", path, e))?;
        *running = true;
        let marker = self.config.userdata_marker.clone();
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(status) => crate::exec::output::exit_of(status).0,
                Err(_) => 1,
            };
            children::forget(pid);
            tracing::info!(exit_code = code, "userdata finished");
            if let Err(err) = std::fs::write(&marker, format!("{code}\n")) {
                tracing::error!(marker = %marker.display(), error = %err, "cannot write the userdata marker");
            }
            nix::unistd::sync();
        });
        Ok(UserdataState::Started)
    }
}
