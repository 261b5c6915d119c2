//! `slicer vm bg …`: background execs through the API
//! (`reference/slicer.md` §8.2): start, list, info, logs, kill, wait, remove.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use slicer_api::client::{ExecFrames, SlicerClient};
use slicer_api::types::background::MAX_WAIT_SECS;
use slicer_api::types::{
    ExecFrameKind, ExecKillRequest, ExecLogsQuery, ExecQuery, ExecWaitQuery, OutputEncoding,
};

use super::connect::ConnectArgs;
use super::table::Table;

/// `slicer vm bg` verbs.
#[derive(Debug, Subcommand)]
pub enum BgCommand {
    /// Start a command detached; prints `exec_id=…`.
    Exec(BgExecArgs),
    /// List the background execs of a VM.
    List(BgListArgs),
    /// Status of one exec.
    Info(BgIdArgs),
    /// Replay (or follow) an exec's output.
    Logs(BgLogsArgs),
    /// Signal an exec's process group.
    Kill(BgKillArgs),
    /// Wait until an exec exits; its exit code becomes slicer's.
    Wait(BgWaitArgs),
    /// Reap an exec: free its output ring (does not kill it).
    Remove(BgIdArgs),
}

/// Flags of `slicer vm bg exec`.
#[derive(Debug, Args)]
pub struct BgExecArgs {
    /// The VM.
    pub vm: String,
    /// The program (explicit form, with `--arg`).
    #[arg(long = "cmd", short = 'c')]
    pub cmd: Option<String>,
    /// Arguments of `--cmd`, repeatable.
    #[arg(long = "arg", short = 'a', allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Run the command string through this shell (default: direct exec).
    #[arg(long, short = 's')]
    pub shell: Option<String>,
    /// User, directory and environment.
    #[command(flatten)]
    pub run_as: super::run_as::RunAs,
    /// Output ring size, such as `4M` (default 1 MiB).
    #[arg(long)]
    pub ring_bytes: Option<String>,
    /// Follow the output until the command exits.
    #[arg(long)]
    pub follow: bool,
    /// Print the start answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// The command (positional form).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm bg list`.
#[derive(Debug, Args)]
pub struct BgListArgs {
    /// The VM.
    pub vm: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// A VM and one of its execs.
#[derive(Debug, Args)]
pub struct BgIdArgs {
    /// The VM.
    pub vm: String,
    /// The exec.
    pub exec_id: String,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm bg logs`.
#[derive(Debug, Args)]
pub struct BgLogsArgs {
    /// The VM.
    pub vm: String,
    /// The exec.
    pub exec_id: String,
    /// Keep streaming until the command exits.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Start at this frame id.
    #[arg(long)]
    pub from_id: Option<u64>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm bg kill`.
#[derive(Debug, Args)]
pub struct BgKillArgs {
    /// The VM.
    pub vm: String,
    /// The exec.
    pub exec_id: String,
    /// TERM, KILL, INT, HUP, QUIT, USR1 or USR2.
    #[arg(long, default_value = "TERM")]
    pub signal: String,
    /// With TERM: how long before escalating to KILL.
    #[arg(long, default_value = "5s")]
    pub grace: String,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm bg wait`.
#[derive(Debug, Args)]
pub struct BgWaitArgs {
    /// The VM.
    pub vm: String,
    /// The exec.
    pub exec_id: String,
    /// Give up after this long (exit code 124).
    #[arg(long, default_value = "10m")]
    pub timeout: String,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Parse `4M`, `512K`, `1G` or plain bytes.
fn parse_bytes(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((at, 'K' | 'k')) => (&text[..at], 10),
        Some((at, 'M' | 'm')) => (&text[..at], 20),
        Some((at, 'G' | 'g')) => (&text[..at], 30),
        _ => (text, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|err| anyhow::anyhow!("ring size {text:?} is not a size like 4M: {err}"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| anyhow::anyhow!("ring size {text:?} is too large"))
}

/// Print one frame's output; the exit code when it is the last frame.
pub(super) fn print_frame(frame: &slicer_api::types::ExecFrame) -> anyhow::Result<Option<i32>> {
    if let Some((kind, data)) = frame.output_payload() {
        let bytes = if frame.encoding == Some(OutputEncoding::Base64) {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(data)?
        } else {
            data.as_bytes().to_vec()
        };
        if kind == ExecFrameKind::Stderr {
            std::io::stderr().lock().write_all(&bytes)?;
        } else {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    if let Some(message) = &frame.message {
        eprintln!("slicer: {message}");
    }
    if let Some(error) = &frame.error {
        eprintln!("slicer: {error}");
        return Ok(Some(frame.exit_code.unwrap_or(1)));
    }
    Ok(match frame.kind {
        Some(ExecFrameKind::Exit) => Some(frame.exit_code.unwrap_or(0)),
        _ => None,
    })
}

async fn print_frames(mut frames: ExecFrames) -> anyhow::Result<i32> {
    let mut exit_code = 0;
    while let Some(frame) = frames.next_frame().await {
        if let Some(code) = print_frame(&frame?)? {
            exit_code = code;
        }
    }
    Ok(exit_code)
}

fn println_out(text: &str) -> std::io::Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")
}

impl BgCommand {
    /// Run the verb; returns the exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        match self {
            Self::Exec(args) => args.run().await,
            Self::List(args) => {
                let execs = args.connect.client()?.exec_list(&args.vm).await?;
                if args.json {
                    println_out(&serde_json::to_string_pretty(&execs)?)?;
                    return Ok(0);
                }
                let mut table =
                    Table::new(["EXEC_ID", "PID", "RUNNING", "EXIT", "STARTED", "COMMAND"]);
                for e in execs {
                    table.row([
                        e.exec_id,
                        e.pid.to_string(),
                        e.running.to_string(),
                        e.exit_code.map(|c| c.to_string()).unwrap_or_default(),
                        e.started_at,
                        std::iter::once(e.command)
                            .chain(e.args)
                            .collect::<Vec<_>>()
                            .join(" "),
                    ]);
                }
                write!(std::io::stdout().lock(), "{table}")?;
                Ok(0)
            }
            Self::Info(args) => {
                let info = args
                    .connect
                    .client()?
                    .exec_info(&args.vm, &args.exec_id)
                    .await?;
                println_out(&serde_json::to_string_pretty(&info)?)?;
                Ok(0)
            }
            Self::Logs(args) => {
                let query = ExecLogsQuery {
                    follow: args.follow.then_some(true),
                    from_id: args.from_id,
                };
                let frames = args
                    .connect
                    .client()?
                    .exec_logs(&args.vm, &args.exec_id, &query)
                    .await?;
                print_frames(frames).await.map(|_| 0)
            }
            Self::Kill(args) => {
                let grace = humantime::parse_duration(&args.grace)
                    .map_err(|err| anyhow::anyhow!("--grace {:?}: {err}", args.grace))?;
                let request = ExecKillRequest {
                    signal: Some(args.signal.clone()),
                    grace_ms: Some(u64::try_from(grace.as_millis()).unwrap_or(u64::MAX)),
                };
                let answer = args
                    .connect
                    .client()?
                    .exec_kill(&args.vm, &args.exec_id, &request)
                    .await?;
                println_out(&serde_json::to_string(&answer)?)?;
                Ok(0)
            }
            Self::Wait(args) => args.run().await,
            Self::Remove(args) => {
                let answer = args
                    .connect
                    .client()?
                    .exec_reap(&args.vm, &args.exec_id)
                    .await?;
                println_out(&serde_json::to_string(&answer)?)?;
                Ok(0)
            }
        }
    }
}

impl BgExecArgs {
    fn query(&self) -> anyhow::Result<ExecQuery> {
        let (cmd, args, shell) = match (&self.cmd, &self.shell) {
            (Some(cmd), _) => (cmd.clone(), self.args.clone(), self.shell.clone()),
            (None, Some(shell)) => (self.command.join(" "), Vec::new(), Some(shell.clone())),
            (None, None) => match self.command.split_first() {
                Some((cmd, rest)) => (cmd.clone(), rest.to_vec(), None),
                None => anyhow::bail!("give a command: -- CMD ARGS…, --cmd, or --shell"),
            },
        };
        Ok(self.run_as.clone().apply(ExecQuery {
            cmd,
            args,
            // The default is direct exec, unlike foreground `vm exec`.
            shell: Some(shell.unwrap_or_default()),
            stdio: Some(OutputEncoding::Base64),
            ring_bytes: self.ring_bytes.as_deref().map(parse_bytes).transpose()?,
            ..ExecQuery::default()
        }))
    }

    async fn run(self) -> anyhow::Result<i32> {
        let query = self.query()?;
        let client = self.connect.client()?;
        let started = client.exec_background(&self.vm, &query).await?;
        if self.json {
            println_out(&serde_json::to_string_pretty(&started)?)?;
        } else {
            println_out(&format!("exec_id={}", started.exec_id))?;
        }
        if !self.follow {
            return Ok(0);
        }
        let query = ExecLogsQuery {
            follow: Some(true),
            from_id: None,
        };
        let frames = client.exec_logs(&self.vm, &started.exec_id, &query).await?;
        print_frames(frames).await
    }
}

impl BgWaitArgs {
    async fn run(self) -> anyhow::Result<i32> {
        let timeout = humantime::parse_duration(&self.timeout)
            .map_err(|err| anyhow::anyhow!("--timeout {:?}: {err}", self.timeout))?;
        let client: SlicerClient = self.connect.client()?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let secs = left.as_secs().clamp(1, MAX_WAIT_SECS);
            let result = client
                .exec_wait_exit(
                    &self.vm,
                    &self.exec_id,
                    &ExecWaitQuery {
                        timeout: Some(secs),
                    },
                )
                .await?;
            if !result.running {
                println_out(&serde_json::to_string(&result)?)?;
                return Ok(result.exit_code.unwrap_or(0));
            }
            if Instant::now() + Duration::from_millis(10) >= deadline {
                eprintln!(
                    "slicer: {} still running after {}",
                    self.exec_id, self.timeout
                );
                return Ok(124);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_sizes_take_suffixes() {
        assert_eq!(parse_bytes("4M").unwrap(), 4 << 20);
        assert_eq!(parse_bytes("512k").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert!(parse_bytes("lots").is_err());
    }
}
