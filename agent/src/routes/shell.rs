//! `GET /v1/shell`: an interactive shell on a PTY, carried over an HTTP
//! upgrade (`Upgrade: slicer-shell`) in Slicer's shell framing.
//!
//! Flow: the shell starts before the 101, so a bad uid or cwd is a plain
//! JSON error. Then client frames feed the PTY (data, window size) and PTY
//! output goes back as data frames. Shutdown or close from the client, or
//! the client hanging up, sends SIGHUP to the shell's session; when the
//! shell exits the agent sends close (`0x05`) and closes the connection.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, Request, State};
use axum::response::Response;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use slicer_api::types::query::from_query;
use slicer_api::types::{SHELL_UPGRADE_PROTOCOL, ShellFrame, ShellQuery};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::AgentState;
use super::upgrade::{self, UpgradedIo};
use crate::error::AgentError;
use crate::exec::children;
use crate::exec::pty::{PtyMaster, PtyShell, spawn_shell};

/// Largest PTY read sent as one data frame.
const OUTPUT_CHUNK: usize = 16 * 1024;
/// How long output still buffered in the PTY is forwarded after the shell
/// exited (a background job may keep the PTY open indefinitely).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(300);

/// Start a shell and switch the connection to shell framing.
pub async fn shell(
    State(state): State<Arc<AgentState>>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, AgentError> {
    upgrade::check(&request, SHELL_UPGRADE_PROTOCOL)?;
    let query: ShellQuery = from_query(query.as_deref().unwrap_or(""))
        .map_err(|e| AgentError::BadQuery(e.to_string()))?;
    let shell = spawn_shell(&query, &state.config.passwd)?;
    Ok(upgrade::switch(
        request,
        SHELL_UPGRADE_PROTOCOL,
        move |io| run(io, shell),
    ))
}

fn hang_up(pid: i32) {
    if pid > 0 {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGHUP);
    }
}

async fn run(io: UpgradedIo, shell: PtyShell) {
    let PtyShell {
        master,
        mut child,
        pid,
    } = shell;
    let master = Arc::new(master);
    let (reader, mut writer) = tokio::io::split(io);
    let input = tokio::spawn(client_to_pty(reader, master.clone(), pid));
    let mut buf = vec![0u8; OUTPUT_CHUNK];
    let mut drain_until: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            read = master.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if write_frame(&mut writer, &ShellFrame::Data(buf[..n].to_vec())).await.is_err() {
                        hang_up(pid);
                        break;
                    }
                }
            },
            _ = child.wait(), if drain_until.is_none() => {
                drain_until = Some(tokio::time::Instant::now() + DRAIN_AFTER_EXIT);
            }
            () = sleep_until(drain_until), if drain_until.is_some() => break,
        }
    }
    if drain_until.is_none() {
        hang_up(pid);
        let _ = child.wait().await;
    }
    children::forget(pid);
    input.abort();
    let _ = write_frame(&mut writer, &ShellFrame::Close).await;
    let _ = writer.shutdown().await;
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &ShellFrame,
) -> std::io::Result<()> {
    writer.write_all(&frame.encode()).await?;
    writer.flush().await
}

async fn client_to_pty<R: AsyncRead + Unpin>(mut reader: R, master: Arc<PtyMaster>, pid: i32) {
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        loop {
            match ShellFrame::decode(&pending) {
                Ok(Some((frame, used))) => {
                    pending.drain(..used);
                    match frame {
                        ShellFrame::Data(bytes) => {
                            if master.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                        ShellFrame::WindowSize { cols, rows } => {
                            if let Err(err) = master.set_window_size(cols, rows) {
                                tracing::debug!(error = %err, "cannot resize pty");
                            }
                        }
                        ShellFrame::Shutdown | ShellFrame::Close => {
                            hang_up(pid);
                            return;
                        }
                        ShellFrame::Heartbeat | ShellFrame::Unknown(..) => {}
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "bad shell frame; ending the shell");
                    hang_up(pid);
                    return;
                }
            }
        }
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => {
                hang_up(pid);
                return;
            }
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Empty;
    use hyper::Request;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;

    use super::*;
    use crate::routes::test_utils::agent_on;

    async fn read_frame<R: AsyncRead + Unpin>(
        reader: &mut R,
        pending: &mut Vec<u8>,
    ) -> Option<ShellFrame> {
        loop {
            if let Some((frame, used)) = ShellFrame::decode(pending).unwrap() {
                pending.drain(..used);
                return Some(frame);
            }
            let mut buf = [0u8; 4096];
            let n = reader.read(&mut buf).await.unwrap();
            if n == 0 {
                return None;
            }
            pending.extend_from_slice(&buf[..n]);
        }
    }

    #[tokio::test]
    async fn shell_runs_on_a_pty_resizes_and_sends_close_on_exit() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        agent_on(&socket).await;
        let stream = UnixStream::connect(&socket).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn.with_upgrades());
        let uid = nix::unistd::Uid::effective().as_raw();
        let request = Request::get(format!("/v1/shell?uid={uid}&shell=/bin/sh&cwd=/"))
            .header("host", "agent")
            .header("connection", "upgrade")
            .header("upgrade", SHELL_UPGRADE_PROTOCOL)
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
        let mut io = TokioIo::new(hyper::upgrade::on(response).await.unwrap());

        let mut wire = Vec::new();
        ShellFrame::WindowSize { cols: 99, rows: 33 }.encode_into(&mut wire);
        ShellFrame::Heartbeat.encode_into(&mut wire);
        ShellFrame::Data(b"stty size; echo done-$((40+2)); exit\n".to_vec()).encode_into(&mut wire);
        io.write_all(&wire).await.unwrap();

        let mut pending = Vec::new();
        let mut output = String::new();
        let mut closed = false;
        let read_all = async {
            while let Some(frame) = read_frame(&mut io, &mut pending).await {
                match frame {
                    ShellFrame::Data(bytes) => output.push_str(&String::from_utf8_lossy(&bytes)),
                    ShellFrame::Close => closed = true,
                    other => panic!("unexpected frame {other:?}"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read_all)
            .await
            .unwrap();
        assert!(output.contains("33 99"), "{output:?}");
        assert!(output.contains("done-42"), "{output:?}");
        assert!(closed, "close frame after the shell exits");
    }
}
