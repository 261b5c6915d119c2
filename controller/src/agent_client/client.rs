//! [`AgentClient`]: one method per agent endpoint.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use slicer_api::types::query::to_query;
use slicer_api::types::{
    AGENT_VSOCK_PORT, AgentHealth, BufferedExecResult, CopyQuery, CopySource, DownloadHeaders,
    ErrorBody, ExecQuery, GuestSnapshot, ProvisionRequest, ProvisionResponse, ShutdownAction,
    ShutdownQuery, UNPACKED_SIZE_HEADER,
};

use super::body::{RequestBody, empty_body, full_body};
use super::error::AgentClientError;
use super::exec_stream::ExecStream;
use crate::vsock;

/// How long the vsock handshake may take before a call gives up.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long non-streaming calls may take in total.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Delay between readiness probes.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A client for one VM's guest agent.
#[derive(Debug, Clone)]
pub struct AgentClient {
    pub(super) socket: PathBuf,
    pub(super) port: u32,
}

/// A streamed file or tar download.
#[derive(Debug)]
pub struct Download {
    /// The file's mode from `X-Slicer-File-Mode` (binary downloads).
    pub mode: Option<u32>,
    /// cp-v1 modes: what the source is, from `X-Slicer-Source-Type` and
    /// `X-Slicer-Source-Name-Base64`.
    pub source: Option<CopySource>,
    /// The body, read as it arrives.
    pub body: Incoming,
}

impl AgentClient {
    /// A client for the agent behind the VMM's hybrid-vsock socket.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            port: AGENT_VSOCK_PORT,
        }
    }

    /// The VMM socket this client connects through.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Agent health.
    pub async fn health(&self) -> Result<AgentHealth, AgentClientError> {
        let op = "GET /v1/health";
        let response = self
            .call(Method::GET, "/v1/health".into(), empty_body(), None, op)
            .await?;
        json_body(response, op).await
    }

    /// One sample of the guest's metrics (`GET /v1/stats`).
    pub async fn stats(&self) -> Result<GuestSnapshot, AgentClientError> {
        let op = "GET /v1/stats";
        let response = self
            .call(Method::GET, "/v1/stats".into(), empty_body(), None, op)
            .await?;
        json_body(response, op).await
    }

    /// Poll until the agent answers health, or fail after `timeout` with the
    /// last error seen.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<AgentHealth, AgentClientError> {
        let start = Instant::now();
        loop {
            let last_error = match tokio::time::timeout(CONNECT_TIMEOUT, self.health()).await {
                Ok(Ok(health)) => return Ok(health),
                Ok(Err(err)) => err.to_string(),
                Err(_) => format!("health call timed out after {CONNECT_TIMEOUT:?}"),
            };
            if start.elapsed() >= timeout {
                return Err(AgentClientError::NotReady {
                    socket: self.socket.clone(),
                    waited: start.elapsed(),
                    last_error,
                });
            }
            tokio::time::sleep(READY_POLL_INTERVAL).await;
        }
    }

    /// Run a command and stream its frames. `stdin` is sent as the request
    /// body when the query asks for it.
    pub async fn exec(
        &self,
        query: &ExecQuery,
        stdin: RequestBody,
    ) -> Result<ExecStream, AgentClientError> {
        let op = "POST /v1/exec";
        let uri = with_query("/v1/exec", query, op)?;
        let response = self
            .call_streaming(
                Method::POST,
                uri,
                stdin,
                Some("application/octet-stream"),
                op,
            )
            .await?;
        Ok(ExecStream::new(response.into_body()))
    }

    /// Run a command and wait for its whole output.
    pub async fn exec_buffered(
        &self,
        query: &ExecQuery,
        stdin: Option<Bytes>,
    ) -> Result<BufferedExecResult, AgentClientError> {
        let op = "POST /v1/exec";
        let mut query = query.clone();
        query.buffered = Some(true);
        query.stdin = stdin.as_ref().map(|_| true);
        let uri = with_query("/v1/exec", &query, op)?;
        let body = stdin.map_or_else(empty_body, full_body);
        let response = self
            .call_streaming(
                Method::POST,
                uri,
                body,
                Some("application/octet-stream"),
                op,
            )
            .await?;
        json_body(response, op).await
    }

    /// Upload a file (binary) or unpack a tar stream (tar) into the guest.
    pub async fn upload(
        &self,
        query: &CopyQuery,
        body: RequestBody,
    ) -> Result<(), AgentClientError> {
        self.upload_sized(query, None, body).await
    }

    /// Upload in any mode (cp-v1 included), passing `unpacked_size` on as
    /// `X-Slicer-Unpacked-Size` for the agent's free-space check.
    pub async fn upload_sized(
        &self,
        query: &CopyQuery,
        unpacked_size: Option<u64>,
        body: RequestBody,
    ) -> Result<(), AgentClientError> {
        let op = "POST /v1/cp";
        let uri = with_query("/v1/cp", query, op)?;
        let size = unpacked_size.map(|n| n.to_string());
        let mut headers = vec![(
            header::CONTENT_TYPE.as_str(),
            query.mode.upload_content_type(),
        )];
        if let Some(size) = &size {
            headers.push((UNPACKED_SIZE_HEADER, size.as_str()));
        }
        let response = self
            .call_streaming_with(Method::POST, uri, body, &headers, op)
            .await?;
        drain(response, op).await
    }

    /// Download a file (binary) or a tar of a path from the guest.
    pub async fn download(&self, query: &CopyQuery) -> Result<Download, AgentClientError> {
        let op = "GET /v1/cp";
        let uri = with_query("/v1/cp", query, op)?;
        let response = self
            .call_streaming(Method::GET, uri, empty_body(), None, op)
            .await?;
        let DownloadHeaders { mode, source } = DownloadHeaders::from_header_map(response.headers())
            .map_err(|message| AgentClientError::Body {
                operation: op.into(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
            })?;
        Ok(Download {
            mode,
            source,
            body: response.into_body(),
        })
    }

    /// Deliver secrets and start userdata (once per disk).
    pub async fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionResponse, AgentClientError> {
        let op = "POST /v1/provision";
        let response = self
            .call_json(Method::POST, "/v1/provision".into(), request, op)
            .await?;
        json_body(response, op).await
    }

    /// Ask the guest to power off or reboot; both end the VM's run.
    pub async fn shutdown(&self, action: ShutdownAction) -> Result<(), AgentClientError> {
        let op = "POST /v1/shutdown";
        let uri = with_query("/v1/shutdown", &ShutdownQuery { action }, op)?;
        let response = self.call(Method::POST, uri, empty_body(), None, op).await?;
        drain(response, op).await
    }

    /// A bounded request/response exchange.
    pub(super) async fn call(
        &self,
        method: Method,
        uri: String,
        body: RequestBody,
        content_type: Option<&str>,
        op: &str,
    ) -> Result<Response<Incoming>, AgentClientError> {
        match tokio::time::timeout(
            CALL_TIMEOUT,
            self.call_streaming(method, uri, body, content_type, op),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(AgentClientError::Body {
                operation: op.into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {CALL_TIMEOUT:?}"),
                ),
            }),
        }
    }

    /// [`Self::call`] with `value` sent as a JSON body.
    pub(super) async fn call_json<B: Serialize + ?Sized>(
        &self,
        method: Method,
        uri: String,
        value: &B,
        op: &str,
    ) -> Result<Response<Incoming>, AgentClientError> {
        let body = serde_json::to_vec(value).map_err(|source| AgentClientError::Encode {
            operation: op.into(),
            source,
        })?;
        self.call(method, uri, full_body(body), Some("application/json"), op)
            .await
    }

    /// Send a request and return once the response head arrives; the body
    /// may stream for as long as the agent keeps it open.
    pub(super) async fn call_streaming(
        &self,
        method: Method,
        uri: String,
        body: RequestBody,
        content_type: Option<&str>,
        op: &str,
    ) -> Result<Response<Incoming>, AgentClientError> {
        let headers: Vec<(&str, &str)> = content_type
            .map(|value| (header::CONTENT_TYPE.as_str(), value))
            .into_iter()
            .collect();
        self.call_streaming_with(method, uri, body, &headers, op)
            .await
    }

    /// [`Self::call_streaming`] with extra request headers.
    pub(super) async fn call_streaming_with(
        &self,
        method: Method,
        uri: String,
        body: RequestBody,
        headers: &[(&str, &str)],
        op: &str,
    ) -> Result<Response<Incoming>, AgentClientError> {
        let mut request = request(method, &uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self.send(request, body, op).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(agent_error(response, op).await)
        }
    }

    /// Send `request` with `body` on a new connection to the agent and
    /// return the response head, whatever its status. The connection runs
    /// with upgrades enabled, so [`Self::upgrade`] can take it over.
    pub(super) async fn send(
        &self,
        request: http::request::Builder,
        body: RequestBody,
        op: &str,
    ) -> Result<Response<Incoming>, AgentClientError> {
        let stream = vsock::connect(&self.socket, self.port, CONNECT_TIMEOUT).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(self.http_error(op))?;
        tokio::spawn(async move {
            if let Err(err) = connection.with_upgrades().await {
                tracing::debug!(error = %err, "agent connection ended with an error");
            }
        });
        let request = request.body(body).map_err(|err| AgentClientError::Body {
            operation: op.into(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, err),
        })?;
        sender
            .send_request(request)
            .await
            .map_err(self.http_error(op))
    }

    /// The error of a failed HTTP exchange during `op`.
    pub(super) fn http_error<'a>(
        &'a self,
        op: &'a str,
    ) -> impl Fn(hyper::Error) -> AgentClientError + 'a {
        move |source| AgentClientError::Http {
            socket: self.socket.clone(),
            operation: op.into(),
            source,
        }
    }
}

/// A request to the agent for `uri`, before its body.
pub(super) fn request(method: Method, uri: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "slicer-agent")
}

pub(super) fn with_query<Q: Serialize>(
    path: &str,
    query: &Q,
    op: &str,
) -> Result<String, AgentClientError> {
    let query = to_query(query).map_err(|source| AgentClientError::Query {
        operation: op.into(),
        source,
    })?;
    Ok(if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    })
}

async fn collect(response: Response<Incoming>, op: &str) -> Result<Bytes, AgentClientError> {
    response
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|err| AgentClientError::Body {
            operation: op.into(),
            source: std::io::Error::other(err),
        })
}

pub(super) async fn drain(response: Response<Incoming>, op: &str) -> Result<(), AgentClientError> {
    collect(response, op).await.map(|_| ())
}

pub(super) async fn json_body<T: DeserializeOwned>(
    response: Response<Incoming>,
    op: &str,
) -> Result<T, AgentClientError> {
    let bytes = collect(response, op).await?;
    serde_json::from_slice(&bytes).map_err(|source| AgentClientError::Decode {
        operation: op.into(),
        source,
    })
}

pub(super) async fn agent_error(response: Response<Incoming>, op: &str) -> AgentClientError {
    let status = response.status();
    let message = match collect(response, op).await {
        Ok(bytes) => serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|body| body.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned()),
        Err(err) => err.to_string(),
    };
    AgentClientError::Agent {
        operation: op.into(),
        status: if status.is_success() {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            status
        },
        message,
    }
}
