//! Turning an [`ExecQuery`] into a ready-to-spawn command: shell or direct
//! exec, user, groups, working directory and environment.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use slicer_api::types::ExecQuery;

use super::login::Login;
use super::session;
use crate::error::AgentError;

/// A command validated and ready to spawn.
#[derive(Debug)]
pub struct PreparedCommand {
    /// The command.
    pub command: tokio::process::Command,
    /// The program, for error messages.
    pub program: String,
    /// The working directory it starts in.
    pub cwd: PathBuf,
    /// The user it runs as.
    pub uid: u32,
}

/// How a command is placed among the guest's process groups and sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Its own process group in the agent's session: killed with its stream.
    ProcessGroup,
    /// Its own session (setsid), so it is detached from anything of the
    /// agent's and outlives the request that started it.
    Session,
}

/// Quote `arg` for a POSIX shell.
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return arg.to_owned();
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Validate `query` and build the command. Errors here are the request's
/// fault and are answered with 400 before anything runs.
pub fn prepare(
    query: &ExecQuery,
    passwd: &Path,
    with_stdin: bool,
    placement: Placement,
) -> Result<PreparedCommand, AgentError> {
    if query.cmd.is_empty() {
        return Err(AgentError::BadQuery("cmd is required".into()));
    }
    let login = Login::resolve(passwd, query.uid, query.gid, query.cwd.as_deref())?;
    let mut env = Vec::with_capacity(query.env.len());
    for item in &query.env {
        match item.split_once('=') {
            Some((key, value)) if !key.is_empty() => env.push((key.to_owned(), value.to_owned())),
            _ => return Err(AgentError::BadEnv(item.clone())),
        }
    }
    let (program, mut command) = match query.effective_shell() {
        Some(shell) => {
            let mut script = query.cmd.clone();
            for arg in &query.args {
                script.push(' ');
                script.push_str(&shell_quote(arg));
            }
            let mut command = tokio::process::Command::new(shell);
            command.arg("-c").arg(script);
            (shell.to_owned(), command)
        }
        None => {
            let mut command = tokio::process::Command::new(&query.cmd);
            command.args(&query.args);
            (query.cmd.clone(), command)
        }
    };
    login.apply(&mut command, &login.user.shell);
    command
        .envs(env)
        .stdin(if with_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(if query.stdout.unwrap_or(true) {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(if query.stderr.unwrap_or(true) {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .kill_on_drop(false);
    match placement {
        // Its own process group, so a kill reaches everything it started.
        Placement::ProcessGroup => {
            command.process_group(0);
        }
        // setsid makes the child a group leader too, so killpg still works.
        Placement::Session => session::new_session(&mut command),
    }
    Ok(PreparedCommand {
        command,
        program,
        cwd: login.cwd,
        uid: login.uid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_words_and_escapes_the_rest() {
        assert_eq!(shell_quote("abc-1.txt"), "abc-1.txt");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }

    fn passwd() -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        file
    }

    #[test]
    fn unknown_uid_bad_env_and_cwd_are_rejected() {
        let passwd = passwd();
        let q = |f: fn(&mut ExecQuery)| {
            let mut q = ExecQuery {
                cmd: "true".into(),
                ..ExecQuery::default()
            };
            f(&mut q);
            prepare(&q, passwd.path(), false, Placement::ProcessGroup)
                .unwrap_err()
                .to_string()
        };
        assert!(q(|q| q.uid = Some(4242)).contains("4242"));
        assert!(q(|q| q.env = vec!["NOEQUALS".into()]).contains("NOEQUALS"));
        assert!(q(|q| q.cwd = Some("/no/such".into())).contains("/no/such"));
        assert!(q(|q| q.cmd = String::new()).contains("cmd"));
    }
}
