//! `slicer vm shell VM`: an interactive PTY in the guest over the API's
//! WebSocket (`reference/slicer.md` §7.8). The local terminal is raw;
//! its size is sent at the start and on every SIGWINCH; `Ctrl+]` leaves.

use std::io::{Read, Write};

use clap::Args;
use futures_util::{SinkExt, StreamExt};
use slicer_api::types::{ShellFrame, ShellQuery};
use tokio_tungstenite::tungstenite::Message;

use super::connect::ConnectArgs;

/// The byte `Ctrl+]` sends.
const ESCAPE: u8 = 0x1d;
/// Slicer's CLI sends a heartbeat this often (§7.8).
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(30);

/// Flags of `slicer vm shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The VM.
    pub vm: String,
    /// Run as this uid (default root).
    #[arg(long)]
    pub uid: Option<u32>,
    /// Run with this gid.
    #[arg(long)]
    pub gid: Option<u32>,
    /// Shell program.
    #[arg(long)]
    pub shell: Option<String>,
    /// Working directory.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Leaves raw mode when dropped, however the session ends.
struct RawMode(bool);

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

fn window_size() -> ShellFrame {
    let (cols, rows) = crossterm::terminal::size().unwrap_or((80, 24));
    ShellFrame::WindowSize {
        cols: u32::from(cols),
        rows: u32::from(rows),
    }
}

impl ShellArgs {
    /// Run the session; returns the exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        let query = ShellQuery {
            uid: self.uid,
            gid: self.gid,
            shell: self.shell.clone(),
            cwd: self.cwd.clone(),
        };
        let socket = self.connect.client()?.shell(&self.vm, &query).await?;
        let (mut tx, mut rx) = socket.split();
        let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
        let _raw = RawMode(interactive && crossterm::terminal::enable_raw_mode().is_ok());
        tx.send(Message::Binary(window_size().encode().into()))
            .await?;

        // Reading the terminal blocks, so it has its own thread.
        let (input_tx, mut input_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 4096];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if input_tx.blocking_send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let mut winch =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())?;
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await;
        let mut input_open = true;
        loop {
            tokio::select! {
                input = input_rx.recv(), if input_open => match input {
                    Some(bytes) => {
                        if interactive && bytes.contains(&ESCAPE) {
                            let _ = tx.send(Message::Binary(ShellFrame::Close.encode().into())).await;
                            break;
                        }
                        tx.send(Message::Binary(ShellFrame::Data(bytes).encode().into())).await?;
                    }
                    // Piped input ended: the shell reads EOF like a typed Ctrl+D.
                    None => {
                        input_open = false;
                        tx.send(Message::Binary(ShellFrame::Data(vec![0x04]).encode().into())).await?;
                    }
                },
                _ = winch.recv() => {
                    tx.send(Message::Binary(window_size().encode().into())).await?;
                }
                _ = heartbeat.tick() => {
                    tx.send(Message::Binary(ShellFrame::Heartbeat.encode().into())).await?;
                }
                message = rx.next() => match message {
                    Some(Ok(Message::Binary(bytes))) => match ShellFrame::decode(&bytes) {
                        Ok(Some((ShellFrame::Data(data), _))) => {
                            let mut out = std::io::stdout().lock();
                            out.write_all(&data)?;
                            out.flush()?;
                        }
                        Ok(Some((ShellFrame::Close | ShellFrame::Shutdown, _))) => break,
                        _ => {}
                    },
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return Err(err.into()),
                },
            }
        }
        let _ = tx.close().await;
        Ok(0)
    }
}
