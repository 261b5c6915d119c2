//! [`PtyShell`]: an interactive shell on a fresh PTY, as a session leader
//! with the PTY as its controlling terminal, for the shell endpoint.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::pty::{Winsize, openpty};
use slicer_api::types::ShellQuery;
use tokio::io::unix::AsyncFd;

use super::children;
use super::login::Login;
use super::session;
use crate::error::AgentError;
/// Shell used when neither the query nor passwd names one that exists.
const FALLBACK_SHELL: &str = "/bin/sh";
/// Size until the client sends a window-size frame.
const INITIAL_SIZE: (u16, u16) = (80, 24);

/// A running shell and the PTY master connected to it.
#[derive(Debug)]
pub struct PtyShell {
    /// The PTY master, non-blocking.
    pub master: PtyMaster,
    /// The shell process (session and process group leader).
    pub child: tokio::process::Child,
    /// The shell's pid.
    pub pid: i32,
}

/// The master side of a PTY, readable and writable without blocking.
#[derive(Debug)]
pub struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
}

fn io_err(errno: nix::errno::Errno) -> std::io::Error {
    std::io::Error::from(errno)
}

impl PtyMaster {
    /// Read terminal output; `Ok(0)` once the shell side has closed (Linux
    /// reports that as EIO on the master).
    pub async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| nix::unistd::read(fd.get_ref(), buf).map_err(io_err)) {
                Ok(Err(err)) if err.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Write all of `data` as terminal input.
    pub async fn write_all(&self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io_err)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(err)) => return Err(err),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// Tell the terminal (and so the shell, via SIGWINCH) its new size.
    pub fn set_window_size(&self, cols: u32, rows: u32) -> std::io::Result<()> {
        let size = Winsize {
            ws_row: u16::try_from(rows).unwrap_or(u16::MAX),
            ws_col: u16::try_from(cols).unwrap_or(u16::MAX),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        set_winsize(self.fd.get_ref(), &size)
    }
}

#[allow(unsafe_code)]
fn set_winsize(fd: &OwnedFd, size: &Winsize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: TIOCSWINSZ reads one `struct winsize` through the pointer,
    // which points at a live, properly aligned Winsize (libc's type) for
    // the duration of the call; the fd is an open PTY master we own.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, std::ptr::from_ref(size)) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[allow(unsafe_code)]
fn register(fd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the AsyncFd owns the OwnedFd, so the fd stays open and names
    // the same PTY master until the AsyncFd is dropped.
    unsafe { AsyncFd::register(fd) }.map_err(std::io::Error::from)
}

fn set_flag(fd: impl AsFd, cloexec: bool, nonblock: bool) -> std::io::Result<()> {
    if cloexec {
        fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(io_err)?;
    }
    if nonblock {
        fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(io_err)?;
    }
    Ok(())
}

/// Start the shell `query` asks for on a new PTY.
pub fn spawn_shell(query: &ShellQuery, passwd: &Path) -> Result<PtyShell, AgentError> {
    let login = Login::resolve(passwd, query.uid, query.gid, query.cwd.as_deref())?;
    let shell = match query.shell.as_deref() {
        Some(shell) if !shell.is_empty() => shell.to_owned(),
        _ if Path::new(&login.user.shell).is_file() => login.user.shell.clone(),
        _ => FALLBACK_SHELL.to_owned(),
    };
    let size = Winsize {
        ws_row: INITIAL_SIZE.1,
        ws_col: INITIAL_SIZE.0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty =
        openpty(&size, None).map_err(|e| AgentError::io("openpty", "/dev/ptmx", io_err(e)))?;
    let slave_io = |e| AgentError::io("set up pty slave", "/dev/pts", e);
    // Neither end may leak into the shell beyond the slave on fds 0-2.
    set_flag(&pty.master, true, true)
        .map_err(|e| AgentError::io("set up pty master", "/dev/ptmx", e))?;
    set_flag(&pty.slave, true, false).map_err(slave_io)?;
    let stdio = |fd: &OwnedFd| fd.try_clone().map(Stdio::from).map_err(slave_io);
    let mut command = tokio::process::Command::new(&shell);
    login.apply(&mut command, &shell);
    command
        .env("TERM", "xterm-256color")
        .stdin(stdio(&pty.slave)?)
        .stdout(stdio(&pty.slave)?)
        .stderr(stdio(&pty.slave)?)
        .kill_on_drop(false);
    session::new_session_on_terminal(&mut command);
    let child = children::spawn(&mut command).map_err(|source| AgentError::Spawn {
        program: shell.clone(),
        source,
    })?;
    drop(command);
    drop(pty.slave);
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let master =
        register(pty.master).map_err(|e| AgentError::io("register pty master", "/dev/ptmx", e))?;
    Ok(PtyShell {
        master: PtyMaster { fd: master },
        child,
        pid,
    })
}
