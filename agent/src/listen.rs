//! Where the agent listens (vsock in a guest; unix or TCP for tests) and
//! the HTTP/1.1 serving loop, the same for every transport.

use std::path::PathBuf;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};

/// hyper's read buffer: above the 64 KiB header limit, so oversized
/// headers reach the middleware that answers them with JSON.
const MAX_BUF_BYTES: usize = 1024 * 1024;

/// A listen address from `--listen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// `vsock:PORT`.
    Vsock(u32),
    /// `unix:/path`.
    Unix(PathBuf),
    /// `tcp:HOST:PORT`.
    Tcp(String),
}

impl std::str::FromStr for ListenAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("vsock", port)) => port
                .parse()
                .map(Self::Vsock)
                .map_err(|e| format!("bad vsock port {port:?}: {e}")),
            Some(("unix", path)) => Ok(Self::Unix(path.into())),
            Some(("tcp", addr)) => Ok(Self::Tcp(addr.to_owned())),
            _ => Err(format!(
                "invalid listen address {s:?}: expected vsock:PORT, unix:PATH or tcp:HOST:PORT"
            )),
        }
    }
}

fn serve_connection<S>(stream: S, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let service = TowerToHyperService::new(router);
        let result = hyper::server::conn::http1::Builder::new()
            .max_buf_size(MAX_BUF_BYTES)
            .serve_connection(TokioIo::new(stream), service)
            // Shell and forward switch the connection to a raw stream.
            .with_upgrades()
            .await;
        if let Err(err) = result {
            tracing::debug!(error = %err, "connection ended with an error");
        }
    });
}

/// Accept connections forever.
pub async fn serve(addr: &ListenAddr, router: Router) -> std::io::Result<()> {
    match addr {
        ListenAddr::Vsock(port) => {
            let listener = tokio_vsock::VsockListener::bind(tokio_vsock::VsockAddr::new(
                tokio_vsock::VMADDR_CID_ANY,
                *port,
            ))?;
            loop {
                let (stream, _) = listener.accept().await?;
                serve_connection(stream, router.clone());
            }
        }
        ListenAddr::Unix(path) => {
            let _ = std::fs::remove_file(path);
            let listener = tokio::net::UnixListener::bind(path)?;
            loop {
                let (stream, _) = listener.accept().await?;
                serve_connection(stream, router.clone());
            }
        }
        ListenAddr::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            loop {
                let (stream, _) = listener.accept().await?;
                serve_connection(stream, router.clone());
            }
        }
    }
}
