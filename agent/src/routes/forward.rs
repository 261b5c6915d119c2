//! `/v1/forward` (any method): dial a TCP or unix target inside the guest
//! named by `X-Inlets-Upstream`, then splice the upgraded connection
//! (`Upgrade: slicer-forward`) to it both ways. A failed dial is a 502
//! before any upgrade.

use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use slicer_api::types::{FORWARD_UPGRADE_PROTOCOL, FORWARD_UPSTREAM_HEADER, ForwardTarget};
use tokio::io::{AsyncRead, AsyncWrite};

use super::upgrade::{self, UpgradedIo};
use crate::error::AgentError;

/// How long a dial may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// A dialled target.
#[derive(Debug)]
enum Upstream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn dial(target: &ForwardTarget) -> std::io::Result<Upstream> {
    let connect = async {
        Ok(match target {
            ForwardTarget::Tcp(addr) => Upstream::Tcp(tokio::net::TcpStream::connect(addr).await?),
            ForwardTarget::Unix(path) => {
                Upstream::Unix(tokio::net::UnixStream::connect(path).await?)
            }
        })
    };
    tokio::time::timeout(DIAL_TIMEOUT, connect)
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {DIAL_TIMEOUT:?}"),
            )
        })?
}

/// Dial the upstream and switch the connection to a raw tunnel.
pub async fn forward(request: Request) -> Result<Response, AgentError> {
    upgrade::check(&request, FORWARD_UPGRADE_PROTOCOL)?;
    let raw = request
        .headers()
        .get(FORWARD_UPSTREAM_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AgentError::BadQuery(format!("header {FORWARD_UPSTREAM_HEADER} is required"))
        })?;
    let target: ForwardTarget = raw.parse().map_err(AgentError::BadQuery)?;
    let upstream = dial(&target).await.map_err(|source| AgentError::Dial {
        target: target.to_string(),
        source,
    })?;
    Ok(upgrade::switch(
        request,
        FORWARD_UPGRADE_PROTOCOL,
        move |io| splice(io, upstream, target),
    ))
}

async fn splice(io: UpgradedIo, upstream: Upstream, target: ForwardTarget) {
    let result = match upstream {
        Upstream::Tcp(stream) => copy(io, stream).await,
        Upstream::Unix(stream) => copy(io, stream).await,
    };
    match result {
        Ok((up, down)) => tracing::debug!(%target, up, down, "forward closed"),
        Err(err) => tracing::debug!(%target, error = %err, "forward ended with an error"),
    }
}

async fn copy<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: UpgradedIo,
    mut stream: S,
) -> std::io::Result<(u64, u64)> {
    tokio::io::copy_bidirectional(&mut io, &mut stream).await
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use http_body_util::Empty;
    use hyper::Request;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{UnixListener, UnixStream};

    use crate::routes::test_utils::agent_on;

    /// Ask for a forward to `upstream`; the status and, on 101, the stream.
    async fn forward(
        socket: &Path,
        upstream: &str,
    ) -> (http::StatusCode, Option<TokioIo<hyper::upgrade::Upgraded>>) {
        let stream = UnixStream::connect(socket).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn.with_upgrades());
        let request = Request::post("/v1/forward")
            .header("host", "agent")
            .header("connection", "upgrade")
            .header("upgrade", super::FORWARD_UPGRADE_PROTOCOL)
            .header(super::FORWARD_UPSTREAM_HEADER, upstream)
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        if status != http::StatusCode::SWITCHING_PROTOCOLS {
            return (status, None);
        }
        let io = TokioIo::new(hyper::upgrade::on(response).await.unwrap());
        (status, Some(io))
    }

    #[tokio::test]
    async fn splices_to_a_unix_target_and_answers_502_when_the_dial_fails() {
        let dir = tempfile::tempdir().unwrap();
        let upstream = dir.path().join("echo.sock");
        let listener = UnixListener::bind(&upstream).unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = conn.split();
            tokio::io::copy(&mut r, &mut w).await.unwrap();
        });
        let socket = dir.path().join("agent.sock");
        agent_on(&socket).await;

        let target = format!("unix:{}", upstream.display());
        let (status, io) = forward(&socket, &target).await;
        assert_eq!(status, http::StatusCode::SWITCHING_PROTOCOLS);
        let mut io = io.unwrap();
        io.write_all(b"through the tunnel").await.unwrap();
        let mut back = [0u8; 18];
        io.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"through the tunnel");

        let missing = format!("unix:{}", dir.path().join("none.sock").display());
        assert_eq!(
            forward(&socket, &missing).await.0,
            http::StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            forward(&socket, "not a target").await.0,
            http::StatusCode::BAD_REQUEST
        );
    }
}
