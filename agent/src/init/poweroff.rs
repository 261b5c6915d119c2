//! Ending the guest: as PID 1 by stopping every process, syncing and
//! calling reboot(2); under systemd by asking systemd.

use std::time::{Duration, Instant};

use nix::sys::reboot::{RebootMode, reboot};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use slicer_api::types::ShutdownAction;
use tokio::signal::unix::{SignalKind, signal};

use super::is_pid1;

/// Power off or reboot the guest. Both end the VM's run (the VMM runs with
/// `-no-reboot`).
pub async fn stop_guest(action: ShutdownAction) {
    if !is_pid1() {
        let verb = match action {
            ShutdownAction::Shutdown => "poweroff",
            ShutdownAction::Reboot => "reboot",
        };
        match tokio::process::Command::new("systemctl")
            .arg(verb)
            .status()
            .await
        {
            Ok(status) if status.success() => return,
            other => tracing::warn!(?other, "systemctl {verb} failed; forcing it"),
        }
        let _ = tokio::process::Command::new(verb).arg("-f").status().await;
        return;
    }
    println!("slicer-agent: stopping all processes for {action:?}");
    let _ = kill(Pid::from_raw(-1), Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && others_alive() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
    nix::unistd::sync();
    let _ = nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REMOUNT | nix::mount::MsFlags::MS_RDONLY,
        None::<&str>,
    );
    let mode = match action {
        ShutdownAction::Shutdown => RebootMode::RB_POWER_OFF,
        ShutdownAction::Reboot => RebootMode::RB_AUTOBOOT,
    };
    let Err(err) = reboot(mode);
    println!("slicer-agent: reboot(2) failed: {err}");
}

fn others_alive() -> bool {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .parse::<u32>()
                    .is_ok_and(|pid| pid != 1)
                    && std::fs::read_to_string(e.path().join("cmdline"))
                        .is_ok_and(|c| !c.is_empty())
            })
        })
        .unwrap_or(false)
}

/// As PID 1: SIGTERM or SIGINT (Ctrl-Alt-Del) mean power off.
pub fn on_signals() {
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        if let Ok(mut stream) = signal(kind) {
            tokio::spawn(async move {
                if stream.recv().await.is_some() {
                    stop_guest(ShutdownAction::Shutdown).await;
                }
            });
        }
    }
}
