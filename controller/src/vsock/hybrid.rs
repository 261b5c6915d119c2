//! The hybrid-vsock handshake: connect to the VMM's Unix socket, write
//! `CONNECT <port>\n`, read `OK <n>\n`, then the socket is a byte stream to
//! the guest's listener on `<port>`.
//!
//! The number after `OK` differs between VMMs (Firecracker answers with a
//! host-side port, `vhost-device-vsock` with the guest port), so only the
//! `OK ` prefix is checked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Longest acknowledgement line accepted; real ones are under 20 bytes.
const MAX_ACK_LEN: usize = 64;

/// Errors of the hybrid-vsock handshake.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum HybridVsockError {
    /// failed to connect to vsock socket {path}
    Connect {
        /// The VMM's vsock Unix socket.
        path: PathBuf,
        /// Why the connect failed.
        #[source]
        source: std::io::Error,
    },
    /// i/o error during the vsock handshake for port {port} on {path}
    Handshake {
        /// The VMM's vsock Unix socket.
        path: PathBuf,
        /// The guest port.
        port: u32,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// guest port {port} refused the connection on {path} (no listener yet?)
    Refused {
        /// The VMM's vsock Unix socket.
        path: PathBuf,
        /// The guest port.
        port: u32,
    },
    /// unexpected vsock handshake reply {reply:?} for port {port} on {path}
    BadReply {
        /// The VMM's vsock Unix socket.
        path: PathBuf,
        /// The guest port.
        port: u32,
        /// What the VMM answered.
        reply: String,
    },
    /// vsock handshake for port {port} on {path} timed out after {timeout:?}
    Timeout {
        /// The VMM's vsock Unix socket.
        path: PathBuf,
        /// The guest port.
        port: u32,
        /// How long we waited.
        timeout: Duration,
    },
}

impl HybridVsockError {
    /// Whether retrying later may succeed (the socket or listener is not
    /// there yet), as opposed to a protocol error.
    pub fn is_transient(&self) -> bool {
        !matches!(self, Self::BadReply { .. })
    }
}

/// Open a byte stream to guest vsock `port` through the VMM socket `uds`.
///
/// Every step is bounded by `timeout`, because a VMM that accepted the Unix
/// connection can still stall before answering.
pub async fn connect(
    uds: &Path,
    port: u32,
    timeout: Duration,
) -> Result<UnixStream, HybridVsockError> {
    match tokio::time::timeout(timeout, handshake(uds, port)).await {
        Ok(result) => result,
        Err(_) => Err(HybridVsockError::Timeout {
            path: uds.to_owned(),
            port,
            timeout,
        }),
    }
}

async fn handshake(uds: &Path, port: u32) -> Result<UnixStream, HybridVsockError> {
    let mut stream =
        UnixStream::connect(uds)
            .await
            .map_err(|source| HybridVsockError::Connect {
                path: uds.to_owned(),
                source,
            })?;
    let io_err = |source| HybridVsockError::Handshake {
        path: uds.to_owned(),
        port,
        source,
    };
    stream
        .write_all(format!("CONNECT {port}\n").as_bytes())
        .await
        .map_err(io_err)?;
    // Read byte by byte: anything after the newline already belongs to the
    // guest's stream and must stay in the socket.
    let mut reply = Vec::with_capacity(16);
    loop {
        let mut byte = [0u8; 1];
        let n = stream.read(&mut byte).await.map_err(io_err)?;
        if n == 0 {
            return Err(HybridVsockError::Refused {
                path: uds.to_owned(),
                port,
            });
        }
        if byte[0] == b'\n' {
            break;
        }
        reply.push(byte[0]);
        if reply.len() > MAX_ACK_LEN {
            break;
        }
    }
    let reply = String::from_utf8_lossy(&reply).into_owned();
    if reply.starts_with("OK ") {
        Ok(stream)
    } else {
        Err(HybridVsockError::BadReply {
            path: uds.to_owned(),
            port,
            reply,
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::UnixListener;

    use super::*;

    /// A stand-in VMM socket answering the handshake with `reply`, then
    /// echoing one line.
    fn fake_vmm(dir: &Path, reply: &'static str) -> PathBuf {
        let path = dir.join("vsock");
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(stream);
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            assert_eq!(line, "CONNECT 10789\n");
            if reply.is_empty() {
                return;
            }
            stream.get_mut().write_all(reply.as_bytes()).await.unwrap();
            let mut payload = String::new();
            stream.read_line(&mut payload).await.unwrap();
            stream
                .get_mut()
                .write_all(payload.as_bytes())
                .await
                .unwrap();
        });
        path
    }

    #[tokio::test]
    async fn ok_reply_yields_a_stream_and_keeps_following_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake_vmm(dir.path(), "OK 1073741824\n");
        let mut stream = connect(&path, 10789, Duration::from_secs(2)).await.unwrap();
        stream.write_all(b"ping\n").await.unwrap();
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping\n");
    }

    #[tokio::test]
    async fn closed_connection_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake_vmm(dir.path(), "");
        let err = connect(&path, 10789, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HybridVsockError::Refused { port: 10789, .. }),
            "{err}"
        );
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn other_reply_is_a_protocol_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake_vmm(dir.path(), "ERR nope\n");
        let err = connect(&path, 10789, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(err, HybridVsockError::BadReply { ref reply, .. } if reply == "ERR nope"));
        assert!(!err.is_transient());
    }

    #[tokio::test]
    async fn missing_socket_is_a_connect_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = connect(&dir.path().join("nope"), 1, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(err, HybridVsockError::Connect { .. }));
    }
}
