//! Reaping orphans as PID 1 without stealing the exit status of processes
//! the agent itself waits for (`waitpid(-1)` would; see guest-rig notes).

use std::time::Duration;

use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

use crate::exec::children;

/// Reap on every SIGCHLD and every few seconds.
pub fn start() {
    tokio::spawn(async move {
        let mut sigchld = match signal(SignalKind::child()) {
            Ok(s) => Some(s),
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch SIGCHLD; reaping on a timer only");
                None
            }
        };
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            match sigchld.as_mut() {
                Some(s) => {
                    tokio::select! { _ = s.recv() => {}, _ = tick.tick() => {} }
                }
                None => {
                    tick.tick().await;
                }
            }
            reap_orphans();
        }
    });
}

/// Wait for every zombie child of ours that nobody else waits for.
fn reap_orphans() {
    let ours = children::lock();
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if ours.contains(&pid) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next());
        if state == Some("Z") && ppid == Some(me.as_str()) {
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}
