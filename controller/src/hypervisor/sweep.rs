//! Finding processes by the run directory on their command line: the last
//! line of defence against a daemon killed between starting a VMM (or its
//! sidecar) and saving its handle. Such a process is known to nobody, but
//! its arguments name the VM's run directory, so it can still be found.

use std::path::Path;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Pids of processes (other than this one) with an argument inside `dir`.
pub fn processes_using(dir: &Path) -> Vec<i32> {
    let Some(dir) = dir.to_str() else {
        return Vec::new();
    };
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| u32::try_from(*pid).ok() != Some(me))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .split(|b| *b == 0)
                    .any(|arg| String::from_utf8_lossy(arg).contains(&prefix))
            })
        })
        .collect()
}

/// SIGKILL every process with an argument inside `dir`; returns how many.
pub fn kill_processes_using(dir: &Path) -> usize {
    let pids = processes_using(dir);
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    pids.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_kills_a_process_by_its_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("sock");
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("sleep 30; : \"$0\"")
            .arg(&marker)
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        // Until the child has exec'd, its command line is still ours.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !processes_using(dir.path()).contains(&pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "child never showed up"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(kill_processes_using(dir.path()) >= 1);
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert!(!processes_using(dir.path()).contains(&pid));
    }
}
