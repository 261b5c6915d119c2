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
