//! Running a spawned command to completion: as an NDJSON frame stream or
//! as one buffered result.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::SystemTime;

use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use slicer_api::types::{BufferedExecResult, ExecFrame, ExecFrameKind, OutputEncoding};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use super::children;

/// Size of one output read, and so the largest payload of one frame.
const CHUNK: usize = 32 * 1024;

/// The current time in RFC 3339.
pub fn now() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}

/// Exit code and signal name of a finished process (128 + signal number
/// when it was killed, like a shell reports it).
pub fn exit_of(status: ExitStatus) -> (i32, Option<String>) {
    match (status.code(), status.signal()) {
        (Some(code), _) => (code, None),
        (None, Some(signo)) => {
            let name = Signal::try_from(signo)
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|_| format!("SIG{signo}"));
            (128 + signo, Some(name))
        }
        (None, None) => (1, None),
    }
}

fn encode(data: &[u8], encoding: OutputEncoding) -> String {
    match encoding {
        OutputEncoding::Text => String::from_utf8_lossy(data).into_owned(),
        OutputEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(data),
    }
}

fn line(frame: &ExecFrame) -> Bytes {
    let mut bytes = serde_json::to_vec(frame).unwrap_or_else(|_| b"{}".to_vec());
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// Copy a request body into the child's stdin, then close it.
pub fn feed_stdin(stdin: Option<ChildStdin>, body: axum::body::Body) {
    let Some(mut stdin) = stdin else { return };
    tokio::spawn(async move {
        let mut data = body.into_data_stream();
        while let Some(Ok(chunk)) = data.next().await {
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = stdin.shutdown().await;
    });
}

async fn pump<R: AsyncRead + Unpin>(
    mut reader: R,
    kind: ExecFrameKind,
    encoding: OutputEncoding,
    tx: mpsc::Sender<Bytes>,
) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let frame = ExecFrame::output(kind, encode(&buf[..n], encoding), encoding, now());
                if tx.send(line(&frame)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Stream frames of `child` into a channel: `started`, output chunks as
/// they come, `exit`. If the receiver goes away (the client hung up), the
/// process group is killed.
pub fn stream(mut child: Child, encoding: OutputEncoding) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(64);
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    tokio::spawn(async move {
        let _ = tx
            .send(line(&ExecFrame::started(pid.unsigned_abs(), now())))
            .await;
        let stdout = child
            .stdout
            .take()
            .map(|r| tokio::spawn(pump(r, ExecFrameKind::Stdout, encoding, tx.clone())));
        let stderr = child
            .stderr
            .take()
            .map(|r| tokio::spawn(pump(r, ExecFrameKind::Stderr, encoding, tx.clone())));
        let status = tokio::select! {
            status = child.wait() => status,
            () = tx.closed() => {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                child.wait().await
            }
        };
        for task in [stdout, stderr].into_iter().flatten() {
            let _ = task.await;
        }
        children::forget(pid);
        let frame = match status {
            Ok(status) => {
                let (code, signal) = exit_of(status);
                ExecFrame::exit(code, signal, now())
            }
            Err(err) => ExecFrame::failure(format!("waiting for pid {pid} failed: {err}"), 1),
        };
        let _ = tx.send(line(&frame)).await;
    });
    rx
}

async fn read_all<R: AsyncRead + Unpin>(reader: Option<R>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(mut reader) = reader {
        let _ = reader.read_to_end(&mut out).await;
    }
    out
}

/// Wait for `child` and collect its whole output.
pub async fn buffered(mut child: Child, encoding: OutputEncoding) -> BufferedExecResult {
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let (stdout, stderr) =
        tokio::join!(read_all(child.stdout.take()), read_all(child.stderr.take()));
    let status = child.wait().await;
    children::forget(pid);
    let (exit_code, signal, error) = match status {
        Ok(status) => {
            let (code, signal) = exit_of(status);
            (code, signal, None)
        }
        Err(err) => (
            1,
            None,
            Some(format!("waiting for pid {pid} failed: {err}")),
        ),
    };
    BufferedExecResult {
        stdout: encode(&stdout, encoding),
        stderr: encode(&stderr, encoding),
        exit_code,
        error,
        encoding: (encoding == OutputEncoding::Base64).then_some(encoding),
        pid: Some(pid.unsigned_abs()),
        signal,
    }
}

/// The single frame answering a command that could not start.
pub fn spawn_failure_line(program: &str, err: &std::io::Error) -> Bytes {
    line(&ExecFrame::failure(
        format!("cannot run {program}: {err}"),
        1,
    ))
}
