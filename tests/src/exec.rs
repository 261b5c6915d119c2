//! Running commands in a guest and collecting what came back, frame by
//! frame, so tests can assert on every part of the stream.

use bytes::Bytes;
use slicer_api::types::{ExecFrameKind, ExecQuery};
use slicer_controller::agent_client::{AgentClient, empty_body, full_body};

/// Everything one streaming exec produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Pid from the `started` frame.
    pub pid: Option<u32>,
    /// Concatenated stdout payloads.
    pub stdout: String,
    /// Concatenated stderr payloads.
    pub stderr: String,
    /// Exit code from the `exit` (or error) frame.
    pub exit_code: Option<i32>,
    /// Signal name from the `exit` frame.
    pub signal: Option<String>,
    /// Error from an error frame.
    pub error: Option<String>,
    /// Frame types in order, for shape checks.
    pub kinds: Vec<Option<ExecFrameKind>>,
}

/// A query running `cmd` through the default shell.
pub fn shell(cmd: &str) -> ExecQuery {
    ExecQuery {
        cmd: cmd.to_owned(),
        ..ExecQuery::default()
    }
}

/// Run `query` streaming, with `stdin` as the body when given.
pub async fn run(
    agent: &AgentClient,
    query: ExecQuery,
    stdin: Option<Bytes>,
) -> anyhow::Result<ExecOutcome> {
    let mut query = query;
    let body = match stdin {
        Some(bytes) => {
            query.stdin = Some(true);
            full_body(bytes)
        }
        None => empty_body(),
    };
    let mut stream = agent.exec(&query, body).await?;
    let mut outcome = ExecOutcome::default();
    while let Some(frame) = stream.next_frame().await {
        let frame = frame?;
        outcome.kinds.push(frame.kind);
        if let Some((kind, data)) = frame.output_payload() {
            match kind {
                ExecFrameKind::Stderr => outcome.stderr.push_str(data),
                _ => outcome.stdout.push_str(data),
            }
        }
        if frame.kind == Some(ExecFrameKind::Started) {
            outcome.pid = frame.pid;
        }
        if frame.exit_code.is_some() {
            outcome.exit_code = frame.exit_code;
            outcome.signal = frame.signal.clone();
        }
        if frame.error.is_some() {
            outcome.error = frame.error.clone();
        }
    }
    Ok(outcome)
}

/// Run a shell command, expect exit 0, return trimmed stdout.
pub async fn check_output(agent: &AgentClient, cmd: &str) -> anyhow::Result<String> {
    let outcome = run(agent, shell(cmd), None).await?;
    anyhow::ensure!(
        outcome.exit_code == Some(0),
        "`{cmd}` failed with {:?}: {}{}",
        outcome.exit_code,
        outcome.stderr,
        outcome.error.unwrap_or_default()
    );
    Ok(outcome.stdout.trim().to_owned())
}
