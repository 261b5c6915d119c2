//! [`SimulatedAgent`]: one Unix socket that speaks the hybrid-vsock
//! handshake (`CONNECT <port>\n` → `OK <port>\n`) and then answers the
//! agent calls the VM controller makes (`GET /v1/health`,
//! `POST /v1/provision`, `POST /v1/shutdown`), for every simulated VM.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use slicer_api::types::{AgentHealth, ProvisionResponse, UserdataState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// Longest handshake line accepted.
const MAX_HANDSHAKE_LEN: usize = 64;

/// How many calls of each kind the simulated agent answered.
#[derive(Debug, Default)]
pub struct AgentCounters {
    /// Hybrid-vsock connections accepted.
    pub connections: AtomicU64,
    /// `GET /v1/health` answered.
    pub health: AtomicU64,
    /// `POST /v1/provision` answered.
    pub provision: AtomicU64,
    /// `POST /v1/shutdown` answered.
    pub shutdown: AtomicU64,
}

/// The fake agent behind every simulated VM's vsock socket.
#[derive(Debug)]
pub struct SimulatedAgent {
    socket: PathBuf,
    counters: Arc<AgentCounters>,
    task: JoinHandle<()>,
}

impl SimulatedAgent {
    /// Listen on `socket` (replacing a stale file) and answer until dropped.
    pub fn serve(socket: &Path) -> std::io::Result<Self> {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        let counters = Arc::new(AgentCounters::default());
        let started = Instant::now();
        let task = tokio::spawn({
            let counters = counters.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    counters.connections.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(connection(stream, counters.clone(), started));
                }
            }
        });
        Ok(Self {
            socket: socket.to_owned(),
            counters,
            task,
        })
    }

    /// The socket every simulated VM's handle points at.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// What it answered so far.
    pub fn counters(&self) -> &AgentCounters {
        &self.counters
    }
}

impl Drop for SimulatedAgent {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Answer the handshake, then serve HTTP/1.1 on the same stream.
async fn connection(mut stream: UnixStream, counters: Arc<AgentCounters>, started: Instant) {
    // Byte by byte, as a VMM does: what follows the newline is HTTP.
    let mut line = Vec::with_capacity(16);
    loop {
        let mut byte = [0u8; 1];
        match stream.read(&mut byte).await {
            Ok(1) if byte[0] == b'\n' => break,
            Ok(1) if line.len() < MAX_HANDSHAKE_LEN => line.push(byte[0]),
            _ => return,
        }
    }
    let Some(port) = String::from_utf8_lossy(&line)
        .strip_prefix("CONNECT ")
        .map(|p| p.trim().to_owned())
    else {
        return;
    };
    if stream
        .write_all(format!("OK {port}\n").as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let counters = counters.clone();
        async move { Ok::<_, Infallible>(answer(&request, &counters, started)) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn json<T: serde::Serialize>(value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    Response::builder()
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

fn answer(
    request: &Request<Incoming>,
    counters: &AgentCounters,
    started: Instant,
) -> Response<Full<Bytes>> {
    let uptime = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/v1/health") => {
            counters.health.fetch_add(1, Ordering::Relaxed);
            json(&AgentHealth {
                hostname: "simulated".to_owned(),
                agent_uptime: uptime,
                agent_version: "simulated".to_owned(),
                system_uptime: uptime,
                userdata_ran: true,
                userdata_exit_code: Some(0),
                ip: None,
            })
        }
        (&Method::POST, "/v1/provision") => {
            counters.provision.fetch_add(1, Ordering::Relaxed);
            json(&ProvisionResponse {
                secrets_written: 0,
                userdata: UserdataState::None,
            })
        }
        (&Method::POST, "/v1/shutdown") => {
            counters.shutdown.fetch_add(1, Ordering::Relaxed);
            Response::new(Full::new(Bytes::new()))
        }
        _ => {
            let mut response = json(&serde_json::json!({"error": "not simulated"}));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}
