//! A minimal QMP client: one connection per command (greeting,
//! `qmp_capabilities`, the command), bounded by a timeout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// Errors of a QMP exchange.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum QmpError {
    /// qmp i/o on {socket} failed during {command}
    Io {
        /// The QMP socket.
        socket: PathBuf,
        /// The command being run.
        command: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// qmp on {socket} closed the connection during {command}
    Closed {
        /// The QMP socket.
        socket: PathBuf,
        /// The command being run.
        command: String,
    },
    /// qmp command {command} on {socket} failed: {message}
    Command {
        /// The QMP socket.
        socket: PathBuf,
        /// The command being run.
        command: String,
        /// QEMU's error description.
        message: String,
    },
    /// qmp command {command} on {socket} timed out after {timeout:?}
    Timeout {
        /// The QMP socket.
        socket: PathBuf,
        /// The command being run.
        command: String,
        /// How long we waited.
        timeout: Duration,
    },
}

/// Run one QMP command and return its `return` value.
pub async fn execute(socket: &Path, command: &str, timeout: Duration) -> Result<Value, QmpError> {
    tokio::time::timeout(timeout, exchange(socket, command))
        .await
        .unwrap_or_else(|_| {
            Err(QmpError::Timeout {
                socket: socket.to_owned(),
                command: command.to_owned(),
                timeout,
            })
        })
}

async fn exchange(socket: &Path, command: &str) -> Result<Value, QmpError> {
    let io_err = |source| QmpError::Io {
        socket: socket.to_owned(),
        command: command.to_owned(),
        source,
    };
    let stream = UnixStream::connect(socket).await.map_err(io_err)?;
    let mut stream = BufReader::new(stream);
    read_message(&mut stream, socket, command).await?; // greeting
    for execute in ["qmp_capabilities", command] {
        let mut line = json!({ "execute": execute }).to_string();
        line.push('\n');
        stream
            .get_mut()
            .write_all(line.as_bytes())
            .await
            .map_err(io_err)?;
        loop {
            let message = read_message(&mut stream, socket, command).await?;
            if let Some(value) = message.get("return") {
                if execute == command {
                    return Ok(value.clone());
                }
                break;
            }
            if let Some(error) = message.get("error") {
                return Err(QmpError::Command {
                    socket: socket.to_owned(),
                    command: execute.to_owned(),
                    message: error
                        .get("desc")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_owned(),
                });
            }
            // Anything else is an asynchronous event: skip it.
        }
    }
    Ok(Value::Null)
}

async fn read_message(
    stream: &mut BufReader<UnixStream>,
    socket: &Path,
    command: &str,
) -> Result<Value, QmpError> {
    let mut line = String::new();
    let n = stream
        .read_line(&mut line)
        .await
        .map_err(|source| QmpError::Io {
            socket: socket.to_owned(),
            command: command.to_owned(),
            source,
        })?;
    if n == 0 {
        return Err(QmpError::Closed {
            socket: socket.to_owned(),
            command: command.to_owned(),
        });
    }
    serde_json::from_str(&line).map_err(|err| QmpError::Io {
        socket: socket.to_owned(),
        command: command.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, err),
    })
}

#[cfg(test)]
mod tests {
    use tokio::net::UnixListener;

    use super::*;

    /// A QMP server that answers the greeting, capabilities, an event, then
    /// `reply` to the command.
    async fn serve_once(listener: UnixListener, reply: Value) {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = BufReader::new(stream);
        let send = |v: Value| format!("{v}\n");
        stream
            .get_mut()
            .write_all(send(json!({"QMP": {"version": {}}})).as_bytes())
            .await
            .unwrap();
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        assert!(line.contains("qmp_capabilities"));
        stream
            .get_mut()
            .write_all(send(json!({"return": {}})).as_bytes())
            .await
            .unwrap();
        line.clear();
        stream.read_line(&mut line).await.unwrap();
        stream
            .get_mut()
            .write_all(send(json!({"event": "STOP"})).as_bytes())
            .await
            .unwrap();
        stream
            .get_mut()
            .write_all(send(reply).as_bytes())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn returns_the_command_result_skipping_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp");
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(serve_once(
            listener,
            json!({"return": {"status": "running"}}),
        ));
        let value = execute(&path, "query-status", Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(value["status"], "running");
    }

    #[tokio::test]
    async fn command_errors_carry_qemus_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp");
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(serve_once(
            listener,
            json!({"error": {"class": "GenericError", "desc": "nope"}}),
        ));
        let err = execute(&path, "stop", Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
