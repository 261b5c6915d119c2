//! A small HTTP/1 client for VMM control APIs served on a Unix socket
//! (Firecracker, Cloud Hypervisor): typed JSON requests, one connection
//! per request, every request bounded by a timeout.
//!
//! Errors name the socket, method, path and, for a refused request, the
//! status and the body the VMM answered with, because that body is
//! usually the only explanation a VMM gives.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use super::process::ProcessRecord;

/// Default timeout of one request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How often [`ApiSocket::wait_ready`] retries.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Errors of a request on a VMM API socket.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum ApiSocketError {
    /// cannot connect to {socket} for {method} {path}
    Connect {
        /// The API socket.
        socket: PathBuf,
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// http exchange on {socket} failed for {method} {path}
    Http {
        /// The API socket.
        socket: PathBuf,
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The underlying error.
        #[source]
        source: hyper::Error,
    },
    /// cannot build request {method} {path} for {socket}
    Encode {
        /// The API socket.
        socket: PathBuf,
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// {method} {path} on {socket} answered {status}: {body}
    Status {
        /// The API socket.
        socket: PathBuf,
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The HTTP status.
        status: StatusCode,
        /// The response body, as text.
        body: String,
    },
    /// cannot decode the answer to {method} {path} on {socket}: {body}
    Decode {
        /// The API socket.
        socket: PathBuf,
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The response body, as text.
        body: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// {method} {path} on {socket} timed out after {timeout:?}
    Timeout {
        /// The API socket.
        socket: PathBuf,
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// {program} (pid {pid}) exited before its api socket {socket} answered
    Exited {
        /// The VMM program.
        program: String,
        /// Its pid.
        pid: i32,
        /// The API socket.
        socket: PathBuf,
    },
    /// api socket {socket} did not answer {path} within {waited:?}
    NotReady {
        /// The API socket.
        socket: PathBuf,
        /// The path polled.
        path: String,
        /// How long we waited.
        waited: Duration,
    },
}

/// One VMM's API socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSocket {
    socket: PathBuf,
    timeout: Duration,
}

impl ApiSocket {
    /// A client for the API served on `socket`, with the default timeout.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.socket
    }

    /// `PUT path` with `body` as JSON; the answer body is ignored.
    pub async fn put<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(), ApiSocketError> {
        self.send_json(Method::PUT, path, body).await
    }

    /// `PUT path` without a body (Cloud Hypervisor's action endpoints).
    pub async fn put_empty(&self, path: &str) -> Result<(), ApiSocketError> {
        self.send(Method::PUT, path, None).await.map(drop)
    }

    /// `PATCH path` with `body` as JSON; the answer body is ignored.
    pub async fn patch<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(), ApiSocketError> {
        self.send_json(Method::PATCH, path, body).await
    }

    /// `GET path` and decode the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiSocketError> {
        let body = self.send(Method::GET, path, None).await?;
        serde_json::from_slice(&body).map_err(|source| ApiSocketError::Decode {
            socket: self.socket.clone(),
            method: Method::GET,
            path: path.to_owned(),
            body: String::from_utf8_lossy(&body).into_owned(),
            source,
        })
    }

    /// Poll `GET ready_path` until it answers with success, the VMM exits,
    /// or `timeout` passes. Used right after spawning a VMM, whose socket
    /// appears some time after the process starts.
    pub async fn wait_ready(
        &self,
        ready_path: &str,
        vmm: &ProcessRecord,
        timeout: Duration,
    ) -> Result<(), ApiSocketError> {
        let deadline = Instant::now() + timeout;
        loop {
            // Each attempt is bounded by what is left of the wait, so a VMM
            // that accepts connections but never answers cannot stretch it.
            let left = deadline.saturating_duration_since(Instant::now());
            let attempt = self.exchange(Method::GET, ready_path, None);
            if let Ok(Ok(_)) = tokio::time::timeout(left, attempt).await {
                return Ok(());
            }
            if !vmm.is_alive() {
                return Err(ApiSocketError::Exited {
                    program: vmm.program.clone(),
                    pid: vmm.pid,
                    socket: self.socket.clone(),
                });
            }
            if Instant::now() >= deadline {
                return Err(ApiSocketError::NotReady {
                    socket: self.socket.clone(),
                    path: ready_path.to_owned(),
                    waited: timeout,
                });
            }
            tokio::time::sleep(READY_POLL_INTERVAL).await;
        }
    }

    /// Send `body` as JSON with `method`; the answer body is ignored.
    async fn send_json<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<(), ApiSocketError> {
        let body = serde_json::to_vec(body)
            .map(Bytes::from)
            .map_err(|source| ApiSocketError::Encode {
                socket: self.socket.clone(),
                method: method.clone(),
                path: path.to_owned(),
                source: Box::new(source),
            })?;
        self.send(method, path, Some(body)).await.map(drop)
    }

    /// Send one request and return the body of a successful answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Bytes, ApiSocketError> {
        let exchange = self.exchange(method.clone(), path, body);
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(ApiSocketError::Timeout {
                    socket: self.socket.clone(),
                    method,
                    path: path.to_owned(),
                    timeout: self.timeout,
                })
            })
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Bytes, ApiSocketError> {
        let stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|source| ApiSocketError::Connect {
                    socket: self.socket.clone(),
                    method: method.clone(),
                    path: path.to_owned(),
                    source,
                })?;
        let http_err = |source| ApiSocketError::Http {
            socket: self.socket.clone(),
            method: method.clone(),
            path: path.to_owned(),
            source,
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http_err)?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "vmm api connection ended with an error");
            }
        });
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::HOST, "localhost")
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|source| ApiSocketError::Encode {
                socket: self.socket.clone(),
                method: method.clone(),
                path: path.to_owned(),
                source: Box::new(source),
            })?;
        let response = sender.send_request(request).await.map_err(http_err)?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(http_err)?
            .to_bytes();
        if status.is_success() {
            Ok(body)
        } else {
            Err(ApiSocketError::Status {
                socket: self.socket.clone(),
                method,
                path: path.to_owned(),
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::hypervisor::test_utils::{ApiSpec, FakeVmm};

    #[tokio::test]
    async fn a_refused_request_names_socket_method_path_status_and_answer() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        let _fake = FakeVmm::serve(&socket, Arc::new(ApiSpec::load("firecracker-api.yaml")));
        let api = ApiSocket::new(&socket);
        let err = api
            .put("/boot-source", &serde_json::json!({"kernel": "/k"}))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("PUT /boot-source on {}", socket.display())),
            "{err}"
        );
        assert!(err.contains("400 Bad Request"), "{err}");
        assert!(
            err.contains("kernel_image_path"),
            "the vmm's answer is kept: {err}"
        );
    }

    #[tokio::test]
    async fn a_missing_socket_is_a_connect_error_naming_it() {
        let err = ApiSocket::new("/nonexistent/api.sock")
            .get::<serde_json::Value>("/")
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(err, "cannot connect to /nonexistent/api.sock for GET /");
    }

    #[tokio::test]
    async fn a_silent_vmm_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        // Accepts connections but never answers.
        let _listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let err = ApiSocket::new(&socket)
            .with_timeout(Duration::from_millis(100))
            .put_empty("/api/v1/vm.boot")
            .await
            .unwrap_err();
        assert!(matches!(err, ApiSocketError::Timeout { .. }), "{err}");
    }

    #[tokio::test]
    async fn waiting_on_a_silent_vmm_ends_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        let _listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let vmm =
            ProcessRecord::spawn(Path::new("/bin/sleep"), ["30"], &dir.path().join("log")).unwrap();
        let started = Instant::now();
        let err = ApiSocket::new(&socket)
            .wait_ready("/", &vmm, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiSocketError::NotReady { .. }), "{err}");
        assert!(
            started.elapsed() < DEFAULT_REQUEST_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
        vmm.terminate(Duration::from_secs(2)).await.unwrap();
    }

    #[tokio::test]
    async fn waiting_for_a_vmm_that_exits_stops_early() {
        let dir = tempfile::tempdir().unwrap();
        let vmm =
            ProcessRecord::spawn(Path::new("/bin/true"), [""; 0], &dir.path().join("log")).unwrap();
        vmm.wait_exit(Duration::from_secs(5)).await;
        let err = ApiSocket::new(dir.path().join("api.sock"))
            .wait_ready("/", &vmm, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiSocketError::Exited { .. }), "{err}");
    }
}
