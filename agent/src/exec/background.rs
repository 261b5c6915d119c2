//! [`BackgroundExecs`]: the registry of detached execs (`background=true`).
//!
//! Each exec runs in its own session, writes its `started`, output and
//! `exit` frames into a [`FrameRing`] sized from a shared [`RingBudget`], and
//! stays listed until it is reaped; after that its id answers 410.
//!
//! Caveats: the registry lives in the agent's memory and is lost when the
//! agent restarts. The process's pid stays in the children registry until
//! its waiter collects the exit status, so PID 1's orphan reaper never
//! steals it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use slicer_api::types::background::{
    DEFAULT_KILL_GRACE_MS, DEFAULT_RING_BYTES, DEFAULT_WAIT_SECS, MAX_WAIT_SECS,
};
use slicer_api::types::{
    ExecBackgroundInfo, ExecFrame, ExecFrameKind, ExecKillRequest, ExecKillResponse, ExecQuery,
    ExecStarted, ExecWaitResult, OutputEncoding,
};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, watch};

use super::budget::{RingBudget, RingReservation};
use super::children;
use super::command::{self, Placement};
use super::output::{exit_of, now};
use super::ring::FrameRing;
use crate::error::AgentError;

/// Largest output read, and so the largest payload of one frame.
const MAX_CHUNK: usize = 32 * 1024;
/// Smallest output read, so tiny rings still make progress.
const MIN_CHUNK: usize = 256;
/// How long the exit frame waits for output still in the pipes (a
/// grandchild may hold them open forever).
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// The registry, one per agent.
#[derive(Debug)]
pub struct BackgroundExecs {
    budget: RingBudget,
    entries: Mutex<HashMap<String, Arc<BackgroundExec>>>,
    reaped: Mutex<HashSet<String>>,
    counter: AtomicU64,
}

/// How one exec ended.
#[derive(Debug, Clone)]
struct Exit {
    code: i32,
    signal: Option<String>,
    ended_at: String,
}

#[derive(Debug)]
struct ExecLog {
    ring: FrameRing,
    exit: Option<Exit>,
    /// The ring's share of the budget; `None` once reaped.
    reservation: Option<RingReservation>,
}

/// One background exec.
#[derive(Debug)]
pub struct BackgroundExec {
    exec_id: String,
    pid: i32,
    command: String,
    args: Vec<String>,
    cwd: String,
    uid: u32,
    started_at: String,
    log: Mutex<ExecLog>,
    /// Bumped on every new frame and on exit; followers wait on it.
    changed: watch::Sender<u64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Parse a kill signal name (`TERM`, `SIGTERM`, case-insensitive).
pub fn parse_signal(name: &str) -> Result<Signal, AgentError> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    Ok(match bare {
        "TERM" => Signal::SIGTERM,
        "KILL" => Signal::SIGKILL,
        "INT" => Signal::SIGINT,
        "HUP" => Signal::SIGHUP,
        "QUIT" => Signal::SIGQUIT,
        "USR1" => Signal::SIGUSR1,
        "USR2" => Signal::SIGUSR2,
        _ => return Err(AgentError::BadSignal(name.to_owned())),
    })
}

impl BackgroundExecs {
    /// An empty registry whose rings share `budget_bytes`.
    pub fn new(budget_bytes: u64) -> Self {
        Self {
            budget: RingBudget::new(budget_bytes),
            entries: Mutex::new(HashMap::new()),
            reaped: Mutex::new(HashSet::new()),
            counter: AtomicU64::new(0),
        }
    }

    fn new_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("bg-{n}-{nanos:08x}")
    }

    /// Validate `query`, reserve its ring and start it detached.
    pub fn start(
        &self,
        query: &ExecQuery,
        passwd: &std::path::Path,
    ) -> Result<ExecStarted, AgentError> {
        if query.stdin == Some(true) {
            return Err(AgentError::BadQuery(
                "stdin=true cannot be combined with background=true".into(),
            ));
        }
        if query.buffered == Some(true) {
            return Err(AgentError::BadQuery(
                "buffered=true cannot be combined with background=true".into(),
            ));
        }
        let ring_bytes = match query.ring_bytes {
            None | Some(0) => DEFAULT_RING_BYTES,
            Some(n) => n,
        };
        let encoding = query.stdio.unwrap_or_default();
        let mut prepared = command::prepare(query, passwd, false, Placement::Session)?;
        let reservation = self.budget.reserve(ring_bytes)?;
        let mut child =
            children::spawn(&mut prepared.command).map_err(|source| AgentError::Spawn {
                program: prepared.program.clone(),
                source,
            })?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        let started_at = now();
        let mut ring = FrameRing::new(ring_bytes);
        ring.push(ExecFrame::started(pid.unsigned_abs(), started_at.clone()));
        let exec = Arc::new(BackgroundExec {
            exec_id: self.new_id(),
            pid,
            command: query.cmd.clone(),
            args: query.args.clone(),
            cwd: prepared.cwd.display().to_string(),
            uid: prepared.uid,
            started_at: started_at.clone(),
            log: Mutex::new(ExecLog {
                ring,
                exit: None,
                reservation: Some(reservation),
            }),
            changed: watch::channel(0).0,
        });
        let chunk = usize::try_from(ring_bytes / 4)
            .unwrap_or(MAX_CHUNK)
            .clamp(MIN_CHUNK, MAX_CHUNK);
        let pumps: Vec<_> = [
            child.stdout.take().map(|r| {
                tokio::spawn(pump(
                    r,
                    ExecFrameKind::Stdout,
                    encoding,
                    chunk,
                    exec.clone(),
                ))
            }),
            child.stderr.take().map(|r| {
                tokio::spawn(pump(
                    r,
                    ExecFrameKind::Stderr,
                    encoding,
                    chunk,
                    exec.clone(),
                ))
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        let waiter = exec.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            children::forget(waiter.pid);
            let _ = tokio::time::timeout(DRAIN_GRACE, futures_util::future::join_all(pumps)).await;
            let exit = match status {
                Ok(status) => {
                    let (code, signal) = exit_of(status);
                    Exit {
                        code,
                        signal,
                        ended_at: now(),
                    }
                }
                Err(err) => {
                    tracing::warn!(exec_id = %waiter.exec_id, error = %err, "waiting for background exec failed");
                    Exit {
                        code: 1,
                        signal: None,
                        ended_at: now(),
                    }
                }
            };
            waiter.finish(exit);
        });
        let started = ExecStarted {
            exec_id: exec.exec_id.clone(),
            pid: pid.unsigned_abs(),
            started_at,
            ring_bytes,
        };
        lock(&self.entries).insert(exec.exec_id.clone(), exec);
        Ok(started)
    }

    /// The exec named `exec_id`: 410 once reaped, 404 if never known.
    pub fn get(&self, exec_id: &str) -> Result<Arc<BackgroundExec>, AgentError> {
        if let Some(exec) = lock(&self.entries).get(exec_id) {
            return Ok(exec.clone());
        }
        if lock(&self.reaped).contains(exec_id) {
            Err(AgentError::ExecReaped(exec_id.to_owned()))
        } else {
            Err(AgentError::ExecNotFound(exec_id.to_owned()))
        }
    }

    /// Every exec not yet reaped, oldest first.
    pub fn list(&self) -> Vec<ExecBackgroundInfo> {
        let mut all: Vec<_> = lock(&self.entries).values().map(|e| e.info()).collect();
        all.sort_by(|a, b| {
            a.started_at
                .cmp(&b.started_at)
                .then(a.exec_id.cmp(&b.exec_id))
        });
        all
    }

    /// Forget an exec and free its ring and budget at once; the process is
    /// not signalled, and output it still writes is read and discarded (so
    /// it never blocks on a full pipe).
    pub fn reap(&self, exec_id: &str) -> Result<(), AgentError> {
        let removed = lock(&self.entries).remove(exec_id);
        match removed {
            Some(exec) => {
                lock(&self.reaped).insert(exec_id.to_owned());
                exec.release();
                Ok(())
            }
            None => self.get(exec_id).map(|_| ()),
        }
    }

    /// Bytes reserved by live rings.
    #[cfg(test)]
    pub fn budget_in_use(&self) -> u64 {
        self.budget.in_use()
    }
}

async fn pump<R: AsyncRead + Unpin>(
    mut reader: R,
    kind: ExecFrameKind,
    encoding: OutputEncoding,
    chunk: usize,
    exec: Arc<BackgroundExec>,
) {
    let mut buf = vec![0u8; chunk];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let data = match encoding {
                    OutputEncoding::Text => String::from_utf8_lossy(&buf[..n]).into_owned(),
                    OutputEncoding::Base64 => {
                        base64::engine::general_purpose::STANDARD.encode(&buf[..n])
                    }
                };
                exec.push(ExecFrame::output(kind, data, encoding, now()));
            }
        }
    }
}

impl BackgroundExec {
    fn push(&self, frame: ExecFrame) {
        let id = {
            let mut log = lock(&self.log);
            if log.reservation.is_none() {
                return;
            }
            log.ring.push(frame)
        };
        self.changed.send_replace(id);
    }

    fn release(&self) {
        let mut log = lock(&self.log);
        log.reservation = None;
        log.ring = FrameRing::new(0);
    }

    fn finish(&self, exit: Exit) {
        let id = {
            let mut log = lock(&self.log);
            let id = log.ring.push(ExecFrame::exit(
                exit.code,
                exit.signal.clone(),
                exit.ended_at.clone(),
            ));
            log.exit = Some(exit);
            id
        };
        self.changed.send_replace(id);
    }

    fn is_running(&self) -> bool {
        lock(&self.log).exit.is_none()
    }

    /// Current status.
    pub fn info(&self) -> ExecBackgroundInfo {
        let log = lock(&self.log);
        ExecBackgroundInfo {
            exec_id: self.exec_id.clone(),
            pid: self.pid.unsigned_abs(),
            command: self.command.clone(),
            args: self.args.clone(),
            cwd: self.cwd.clone(),
            uid: self.uid,
            started_at: self.started_at.clone(),
            running: log.exit.is_none(),
            exit_code: log.exit.as_ref().map(|e| e.code),
            signal: log.exit.as_ref().and_then(|e| e.signal.clone()),
            ended_at: log.exit.as_ref().map(|e| e.ended_at.clone()),
            bytes_written: log.ring.bytes_written(),
            bytes_dropped: log.ring.bytes_dropped(),
            next_id: log.ring.next_id(),
            ring_bytes: log.ring.capacity_bytes(),
        }
    }

    /// Stream the ring from `from_id` into a channel: replay what is held,
    /// then with `follow` keep sending new frames until the exit frame has
    /// been sent or the receiver goes away. A follower that falls behind
    /// the ring gets a gap frame and continues at the oldest held frame.
    pub fn logs(self: &Arc<Self>, from_id: u64, follow: bool) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(64);
        let exec = self.clone();
        tokio::spawn(async move {
            let mut changed = exec.changed.subscribe();
            let mut cursor = from_id;
            loop {
                changed.mark_unchanged();
                let (replay, finished) = {
                    let log = lock(&exec.log);
                    (log.ring.replay(cursor), log.exit.is_some())
                };
                cursor = replay.next_id;
                for line in replay.lines {
                    if tx.send(line).await.is_err() {
                        return;
                    }
                }
                if !follow || finished {
                    return;
                }
                tokio::select! {
                    res = changed.changed() => if res.is_err() { return },
                    () = tx.closed() => return,
                }
            }
        });
        rx
    }

    /// Signal the process group; `TERM` escalates to `KILL` after the grace
    /// period if the process is still alive. A finished exec is a no-op.
    pub fn kill(
        self: &Arc<Self>,
        request: &ExecKillRequest,
    ) -> Result<ExecKillResponse, AgentError> {
        let signal = parse_signal(request.signal.as_deref().unwrap_or("TERM"))?;
        let running = self.is_running();
        let mut response = ExecKillResponse {
            exec_id: self.exec_id.clone(),
            pid: self.pid.unsigned_abs(),
            running,
            signal_sent: None,
        };
        if !running || self.pid <= 0 {
            return Ok(response);
        }
        match killpg(Pid::from_raw(self.pid), signal) {
            Ok(()) => {}
            // It exited between the check and the signal: a no-op, as for
            // an exec already known to have exited.
            Err(nix::errno::Errno::ESRCH) => return Ok(response),
            Err(errno) => {
                return Err(AgentError::Signal {
                    exec_id: self.exec_id.clone(),
                    signal: signal.as_str(),
                    source: std::io::Error::from(errno),
                });
            }
        }
        response.signal_sent = Some(signal.as_str().to_owned());
        if signal == Signal::SIGTERM {
            let grace = Duration::from_millis(request.grace_ms.unwrap_or(DEFAULT_KILL_GRACE_MS));
            let exec = self.clone();
            tokio::spawn(async move {
                if tokio::time::timeout(grace, exec.exited()).await.is_err() {
                    tracing::info!(exec_id = %exec.exec_id, "still running after SIGTERM grace; sending SIGKILL");
                    let _ = killpg(Pid::from_raw(exec.pid), Signal::SIGKILL);
                }
            });
        }
        Ok(response)
    }

    async fn exited(&self) {
        let mut changed = self.changed.subscribe();
        while self.is_running() {
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    /// Wait up to `timeout_secs` (default 30, clamped to 600) for the exit.
    pub async fn wait_exit(&self, timeout_secs: Option<u64>) -> ExecWaitResult {
        let secs = timeout_secs.unwrap_or(DEFAULT_WAIT_SECS).min(MAX_WAIT_SECS);
        let timed_out = tokio::time::timeout(Duration::from_secs(secs), self.exited())
            .await
            .is_err();
        let info = self.info();
        ExecWaitResult {
            exec_id: info.exec_id,
            running: info.running,
            exit_code: info.exit_code,
            signal: info.signal,
            ended_at: info.ended_at,
            timed_out: timed_out && info.running,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwd() -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let me = nix::unistd::Uid::effective().as_raw();
        let gid = nix::unistd::Gid::effective().as_raw();
        std::fs::write(file.path(), format!("me:x:{me}:{gid}:me:/:/bin/sh\n")).unwrap();
        file
    }

    fn query(cmd: &str) -> ExecQuery {
        ExecQuery {
            cmd: cmd.into(),
            shell: Some("/bin/sh".into()),
            uid: Some(nix::unistd::Uid::effective().as_raw()),
            background: Some(true),
            ..ExecQuery::default()
        }
    }

    #[test]
    fn bad_combinations_and_budget_are_refused_before_spawning() {
        let passwd = passwd();
        let execs = BackgroundExecs::new(4096);
        let mut q = query("true");
        q.stdin = Some(true);
        assert!(matches!(
            execs.start(&q, passwd.path()),
            Err(AgentError::BadQuery(_))
        ));
        let mut q = query("true");
        q.buffered = Some(true);
        assert!(matches!(
            execs.start(&q, passwd.path()),
            Err(AgentError::BadQuery(_))
        ));
        let mut q = query("true");
        q.ring_bytes = Some(8192);
        assert!(matches!(
            execs.start(&q, passwd.path()),
            Err(AgentError::RingBudget(
                super::super::budget::RingBudgetError::TooLarge { .. }
            ))
        ));
        assert_eq!(execs.budget_in_use(), 0);
    }

    #[tokio::test]
    async fn runs_logs_waits_and_reaps() {
        let passwd = passwd();
        let execs = BackgroundExecs::new(1 << 20);
        let mut q = query("echo hello; echo oops >&2; exit 3");
        q.ring_bytes = Some(4096);
        let started = execs.start(&q, passwd.path()).unwrap();
        assert_eq!(started.ring_bytes, 4096);
        let exec = execs.get(&started.exec_id).unwrap();
        let waited = exec.wait_exit(Some(10)).await;
        assert_eq!(waited.exit_code, Some(3));
        assert!(!waited.timed_out);
        let mut rx = exec.logs(0, true);
        let mut kinds = Vec::new();
        while let Some(line) = rx.recv().await {
            let frame: ExecFrame = serde_json::from_slice(&line).unwrap();
            kinds.push(frame.kind.unwrap());
        }
        assert_eq!(kinds.first(), Some(&ExecFrameKind::Started));
        assert_eq!(kinds.last(), Some(&ExecFrameKind::Exit));
        assert!(kinds.contains(&ExecFrameKind::Stdout));
        assert!(kinds.contains(&ExecFrameKind::Stderr));
        assert_eq!(execs.list().len(), 1);
        assert_eq!(execs.budget_in_use(), 4096);
        execs.reap(&started.exec_id).unwrap();
        drop(exec);
        assert!(matches!(
            execs.get(&started.exec_id),
            Err(AgentError::ExecReaped(_))
        ));
        assert!(matches!(
            execs.get("nope"),
            Err(AgentError::ExecNotFound(_))
        ));
        assert_eq!(execs.budget_in_use(), 0);
    }

    #[tokio::test]
    async fn reaping_a_running_exec_frees_its_budget_at_once() {
        let passwd = passwd();
        let execs = BackgroundExecs::new(1 << 20);
        let mut q = query("while true; do echo spam; sleep 0.01; done");
        q.ring_bytes = Some(1 << 20);
        let started = execs.start(&q, passwd.path()).unwrap();
        assert!(execs.start(&q, passwd.path()).is_err());
        let exec = execs.get(&started.exec_id).unwrap();
        execs.reap(&started.exec_id).unwrap();
        assert_eq!(execs.budget_in_use(), 0);
        let again = execs.start(&q, passwd.path()).unwrap();
        for exec in [exec, execs.get(&again.exec_id).unwrap()] {
            exec.kill(&ExecKillRequest {
                signal: Some("KILL".into()),
                grace_ms: None,
            })
            .unwrap();
            assert!(!exec.wait_exit(Some(10)).await.running);
        }
    }

    #[tokio::test]
    async fn replay_from_an_evicted_id_starts_with_a_gap_and_ends_at_exit() {
        let passwd = passwd();
        let execs = BackgroundExecs::new(1 << 20);
        let mut q = query("seq 1 3000");
        q.ring_bytes = Some(1024);
        let started = execs.start(&q, passwd.path()).unwrap();
        let exec = execs.get(&started.exec_id).unwrap();
        exec.wait_exit(Some(10)).await;
        let mut rx = exec.logs(1, true);
        let first: ExecFrame = serde_json::from_slice(&rx.recv().await.unwrap()).unwrap();
        assert_eq!(first.kind, Some(ExecFrameKind::Gap));
        let mut last = None;
        while let Some(line) = rx.recv().await {
            last = serde_json::from_slice::<ExecFrame>(&line).unwrap().kind;
        }
        assert_eq!(last, Some(ExecFrameKind::Exit));
    }

    #[tokio::test]
    async fn term_kills_the_group_and_reports_the_signal() {
        let passwd = passwd();
        let execs = BackgroundExecs::new(1 << 20);
        let started = execs.start(&query("sleep 30"), passwd.path()).unwrap();
        let exec = execs.get(&started.exec_id).unwrap();
        let killed = exec
            .kill(&ExecKillRequest {
                signal: Some("TERM".into()),
                grace_ms: Some(100),
            })
            .unwrap();
        assert_eq!(killed.signal_sent.as_deref(), Some("SIGTERM"));
        let waited = exec.wait_exit(Some(10)).await;
        assert!(!waited.running);
        assert_eq!(waited.signal.as_deref(), Some("SIGTERM"));
        let again = exec.kill(&ExecKillRequest::default()).unwrap();
        assert_eq!(again.signal_sent, None);
        assert!(parse_signal("bogus").is_err());
        assert_eq!(parse_signal("sigusr1").unwrap(), Signal::SIGUSR1);
    }
}
