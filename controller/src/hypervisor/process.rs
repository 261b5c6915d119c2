//! Processes that must outlive the daemon: spawning them detached,
//! recording who they are, and checking or ending them later, possibly
//! from a restarted daemon that is no longer their parent.
//!
//! A pid alone is not an identity (pids are reused), so a
//! [`ProcessRecord`] also keeps the process's start time from
//! `/proc/<pid>/stat`; every check compares both.

#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// How often exit waits look at the process.
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// How long a SIGKILLed process gets to disappear.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Errors of process supervision.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum ProcessError {
    /// cannot open log file {path} for {program}
    Log {
        /// The log file.
        path: PathBuf,
        /// The program to start.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// cannot start {program}
    Spawn {
        /// The program to start.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// {program} exited right after it was started (pid {pid})
    Vanished {
        /// The program.
        program: String,
        /// Its pid.
        pid: i32,
    },
    /// cannot signal {program} (pid {pid}) with {signal}
    Signal {
        /// The program.
        program: String,
        /// Its pid.
        pid: i32,
        /// The signal.
        signal: Signal,
        /// The underlying error.
        #[source]
        source: nix::Error,
    },
}

/// The identity of a running process: pid plus kernel start time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Program name, for messages.
    pub program: String,
    /// Process id.
    pub pid: i32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: u64,
}

/// What `/proc` says about a pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    state: char,
    start_ticks: u64,
}

fn read_stat(pid: i32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// Parse `/proc/<pid>/stat`. The command name (field 2) may contain spaces
/// and parentheses, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<ProcStat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3) comes field 4; start time is field 22.
    let start_ticks = fields.nth(22 - 4)?.parse().ok()?;
    Some(ProcStat { state, start_ticks })
}

impl ProcessRecord {
    /// Start `program` with `args`, detached from the daemon: a session of
    /// its own (so neither a Ctrl-C, nor the terminal closing, nor a stop of
    /// the daemon's unit reaches it), stdin from `/dev/null`, stdout and
    /// stderr appended to `log`.
    pub fn spawn<I, S>(program: &Path, args: I, log: &Path) -> Result<Self, ProcessError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let name = program.display().to_string();
        let open_log = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| ProcessError::Log {
                    path: log.to_owned(),
                    program: name.clone(),
                    source,
                })
        };
        let stdout = open_log()?;
        let stderr = open_log()?;
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(false);
        // SAFETY: the closure runs in the forked child before exec and only
        // calls setsid(2), which is async-signal-safe and touches no memory
        // shared with the parent.
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid()
                    .map(drop)
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
            program: name.clone(),
            source,
        })?;
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .ok_or_else(|| ProcessError::Vanished {
                program: name.clone(),
                pid: 0,
            })?;
        // Reap the child when it exits so it never lingers as a zombie while
        // this daemon lives; a restarted daemon is no longer its parent and
        // init reaps it instead.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        let stat = read_stat(pid).ok_or_else(|| ProcessError::Vanished {
            program: name.clone(),
            pid,
        })?;
        Ok(Self {
            program: name,
            pid,
            start_ticks: stat.start_ticks,
        })
    }

    /// Whether this very process still runs (not exited, not a zombie, and
    /// the pid not reused by another process).
    pub fn is_alive(&self) -> bool {
        matches!(read_stat(self.pid), Some(stat) if stat.start_ticks == self.start_ticks && stat.state != 'Z' && stat.state != 'X')
    }

    /// Send `signal` if the process is still this one; a no-op otherwise.
    pub fn signal(&self, signal: Signal) -> Result<(), ProcessError> {
        if !self.is_alive() {
            return Ok(());
        }
        match kill(Pid::from_raw(self.pid), signal) {
            Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
            Err(source) => Err(ProcessError::Signal {
                program: self.program.clone(),
                pid: self.pid,
                signal,
                source,
            }),
        }
    }

    /// Wait until the process has exited; `true` if it did within `timeout`.
    pub async fn wait_exit(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.is_alive() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(EXIT_POLL_INTERVAL).await;
        }
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace`.
    pub async fn terminate(&self, grace: Duration) -> Result<(), ProcessError> {
        self.signal(Signal::SIGTERM)?;
        self.kill_unless_exited(grace).await
    }

    /// Give a process that was asked to stop `grace` to exit, then SIGKILL
    /// it and wait for that.
    pub async fn kill_unless_exited(&self, grace: Duration) -> Result<(), ProcessError> {
        if !self.wait_exit(grace).await {
            self.signal(Signal::SIGKILL)?;
            self.wait_exit(KILL_WAIT).await;
        }
        Ok(())
    }
}

/// The last lines of a log file, for error messages.
pub(crate) fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    let tail: Vec<&str> = lines.into_iter().rev().collect();
    if tail.is_empty() {
        format!("(no output in {})", path.display())
    } else {
        tail.join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_survives_odd_command_names() {
        let stat = "1234 (qemu (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 3 0 987654 1000 100";
        let parsed = parse_stat(stat).unwrap();
        assert_eq!(parsed.state, 'S');
        assert_eq!(parsed.start_ticks, 987654);
    }

    #[tokio::test]
    async fn spawned_process_is_tracked_until_it_is_terminated() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let record = ProcessRecord::spawn(Path::new("/bin/sleep"), ["30"], &log).unwrap();
        assert!(record.is_alive());
        // It leads a session of its own, apart from ours.
        let sid = nix::unistd::getsid(Some(Pid::from_raw(record.pid))).unwrap();
        assert_eq!(sid, Pid::from_raw(record.pid));
        assert_ne!(sid, nix::unistd::getsid(None).unwrap());
        record.terminate(Duration::from_secs(2)).await.unwrap();
        assert!(!record.is_alive());
        // Signalling a process that is gone is a no-op, not an error.
        record.signal(Signal::SIGTERM).unwrap();
    }

    #[tokio::test]
    async fn a_reused_pid_is_not_the_same_process() {
        let dir = tempfile::tempdir().unwrap();
        let record =
            ProcessRecord::spawn(Path::new("/bin/sleep"), ["30"], &dir.path().join("log")).unwrap();
        let impostor = ProcessRecord {
            start_ticks: record.start_ticks + 1,
            ..record.clone()
        };
        assert!(!impostor.is_alive());
        impostor.signal(Signal::SIGKILL).unwrap();
        assert!(
            record.is_alive(),
            "signal to an impostor record must not reach the real process"
        );
        record.terminate(Duration::from_secs(2)).await.unwrap();
    }

    #[tokio::test]
    async fn output_goes_to_the_log_and_exit_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let record =
            ProcessRecord::spawn(Path::new("/bin/sh"), ["-c", "echo hello; sleep 0.2"], &log)
                .unwrap();
        assert!(record.wait_exit(Duration::from_secs(5)).await);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "hello\n");
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let dir = tempfile::tempdir().unwrap();
        let err = ProcessRecord::spawn(
            Path::new("/nonexistent/qemu"),
            ["x"],
            &dir.path().join("log"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/qemu"));
    }
}
