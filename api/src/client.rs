//! [`SlicerClient`]: the typed client of the daemon's REST API, over a Unix
//! socket or TCP, built on the same wire types as the server.

use std::path::PathBuf;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{Method, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, BodyStream, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncBufReadExt;

mod guest;

pub use guest::{CopyDownload, DaemonIo, GuestSocket, RequestBody, reader_body};

use crate::types::query::to_query;
use crate::types::{
    AgentHealth, ApplyRequest, ApplyResponse, BufferedExecResult, CreateNodeQuery,
    CreateNodeRequest, CreateNodeResponse, CreateSecretRequest, DeleteResponse, ErrorBody,
    ExecFrame, ExecQuery, HostGroupInfo, InfoResponse, LogsQuery, LogsResponse, NodeInfo,
    NodeStats, RestoreQuery, SecretInfo, TagFilter, TagPatch, UpdateSecretRequest, VmDescription,
    VmShutdownQuery, VmTags,
};

/// Errors of API calls.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum ClientError {
    /// cannot connect to the slicer daemon at {endpoint}
    Connect {
        /// The socket or address.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// {operation} failed
    Http {
        /// The call.
        operation: String,
        /// The underlying error.
        #[source]
        source: hyper::Error,
    },
    /// {operation} answered {status}: {message}
    Status {
        /// The call.
        operation: String,
        /// The HTTP status.
        status: StatusCode,
        /// The daemon's error message.
        message: String,
    },
    /// cannot decode the answer of {operation}
    Decode {
        /// The call.
        operation: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// cannot encode the request of {operation}: {message}
    Encode {
        /// The call.
        operation: String,
        /// What went wrong.
        message: String,
    },
    /// {operation} answered with a bad {header} header: {message}
    BadHeader {
        /// The call.
        operation: String,
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// bad daemon url {url:?}: use http://host:port or a unix socket path
    BadUrl {
        /// The rejected URL.
        url: String,
    },
}

impl ClientError {
    /// The HTTP status of a `Status` error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the daemon (or its agent) refused a copy mode it does not
    /// know: a 400 `invalid mode: MODE`, after which Slicer's clients retry
    /// with the legacy `binary`/`tar` modes.
    pub fn is_invalid_mode(&self, mode: &str) -> bool {
        matches!(self, Self::Status { status, message, .. }
            if *status == StatusCode::BAD_REQUEST && message.contains(&format!("invalid mode: {mode}")))
    }
}

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket path.
    Unix(PathBuf),
    /// `host:port` over TCP.
    Tcp(String),
}

impl Endpoint {
    /// Parse a `--url`: an address that starts with `/`, `./`, `~/` or
    /// `unix://`, or ends with `.sock`, is a Unix socket (`reference/slicer.md`
    /// §7.1); else `http://host:port`.
    pub fn parse(url: &str) -> Result<Self, ClientError> {
        if let Some(path) = url.strip_prefix("unix://") {
            return Ok(Self::Unix(path.into()));
        }
        if let Some(rest) = url.strip_prefix("~/") {
            let home = std::env::var_os("HOME").unwrap_or_default();
            return Ok(Self::Unix(PathBuf::from(home).join(rest)));
        }
        if url.starts_with('/') || url.starts_with("./") || url.ends_with(".sock") {
            return Ok(Self::Unix(url.into()));
        }
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ClientError::BadUrl {
                url: url.to_owned(),
            })?;
        let host = rest.trim_end_matches('/');
        if host.is_empty() {
            return Err(ClientError::BadUrl {
                url: url.to_owned(),
            });
        }
        Ok(Self::Tcp(host.to_owned()))
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "{}", path.display()),
            Self::Tcp(addr) => write!(f, "http://{addr}"),
        }
    }
}

/// A client of one daemon.
#[derive(Debug, Clone)]
pub struct SlicerClient {
    endpoint: Endpoint,
    token: Option<String>,
}

type Body = BoxBody<Bytes, std::io::Error>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Streamed exec frames.
#[derive(Debug)]
pub struct ExecFrames {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio_util_compat::StreamReader>>,
}

/// Minimal adapter from a body stream to `AsyncRead`, so frames are read
/// line by line as they arrive.
mod tokio_util_compat {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::{Buf, Bytes};
    use futures_util::Stream;
    use futures_util::stream::BoxStream;
    use tokio::io::{AsyncRead, ReadBuf};

    /// Reads the bytes of a stream of chunks.
    pub struct StreamReader {
        pub(super) stream: BoxStream<'static, std::io::Result<Bytes>>,
        pub(super) chunk: Bytes,
    }

    impl std::fmt::Debug for StreamReader {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("StreamReader")
        }
    }

    impl AsyncRead for StreamReader {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            while self.chunk.is_empty() {
                match Pin::new(&mut self.stream).poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => self.chunk = chunk,
                    Poll::Ready(Some(Err(err))) => return Poll::Ready(Err(err)),
                    Poll::Ready(None) => return Poll::Ready(Ok(())),
                    Poll::Pending => return Poll::Pending,
                }
            }
            let n = self.chunk.len().min(buf.remaining());
            buf.put_slice(&self.chunk[..n]);
            self.chunk.advance(n);
            Poll::Ready(Ok(()))
        }
    }
}

impl ExecFrames {
    fn new(body: Incoming) -> Self {
        let stream = BodyStream::new(body)
            .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
            .map_err(std::io::Error::other);
        let reader = tokio_util_compat::StreamReader {
            stream: Box::pin(stream),
            chunk: Bytes::new(),
        };
        Self {
            lines: tokio::io::BufReader::new(reader).lines(),
        }
    }

    /// The next frame, or `None` at the end of the stream.
    pub async fn next_frame(&mut self) -> Option<Result<ExecFrame, ClientError>> {
        loop {
            let line = match self.lines.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) => return None,
                Err(err) => {
                    return Some(Err(ClientError::Connect {
                        endpoint: "exec stream".into(),
                        source: err,
                    }));
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str(&line).map_err(|source| ClientError::Decode {
                    operation: "exec stream".into(),
                    source,
                }),
            );
        }
    }
}

impl SlicerClient {
    /// A client of the daemon at `endpoint`, sending `token` as a bearer
    /// token when given.
    pub fn new(endpoint: Endpoint, token: Option<String>) -> Self {
        Self { endpoint, token }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Body,
        content_type: Option<&str>,
    ) -> Result<hyper::Response<Incoming>, ClientError> {
        let headers: Vec<(&str, &str)> = content_type
            .map(|value| (http::header::CONTENT_TYPE.as_str(), value))
            .into_iter()
            .collect();
        self.send_with_headers(method, path_and_query, body, &headers)
            .await
    }

    /// Send one request with extra `headers`; a non-2xx answer is a
    /// [`ClientError::Status`] carrying the daemon's message.
    async fn send_with_headers(
        &self,
        method: Method,
        path_and_query: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Result<hyper::Response<Incoming>, ClientError> {
        let operation = format!(
            "{method} {}",
            path_and_query.split('?').next().unwrap_or("")
        );
        let connect_err = |source| ClientError::Connect {
            endpoint: self.endpoint.to_string(),
            source,
        };
        let http_err = |source| ClientError::Http {
            operation: operation.clone(),
            source,
        };
        let (mut sender, host) = match &self.endpoint {
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(connect_err)?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(http_err)?;
                tokio::spawn(conn);
                (sender, "localhost".to_owned())
            }
            Endpoint::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(connect_err)?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(http_err)?;
                tokio::spawn(conn);
                (sender, addr.clone())
            }
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(http::header::HOST, host);
        if let Some(token) = &self.token {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body).map_err(|err| ClientError::Encode {
            operation: operation.clone(),
            message: err.to_string(),
        })?;
        let response = sender.send_request(request).await.map_err(http_err)?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).trim().to_owned());
        Err(ClientError::Status {
            operation,
            status,
            message,
        })
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let has_body = body.is_some();
        let response = self
            .send(
                method.clone(),
                path,
                full(body.unwrap_or_default()),
                has_body.then_some("application/json"),
            )
            .await?;
        let operation = format!("{method} {path}");
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|source| ClientError::Http {
                operation: operation.clone(),
                source,
            })?
            .to_bytes();
        serde_json::from_slice(&bytes).map_err(|source| ClientError::Decode { operation, source })
    }

    fn with_query<Q: serde::Serialize>(path: &str, query: &Q) -> Result<String, ClientError> {
        let encoded = to_query(query).map_err(|err| ClientError::Encode {
            operation: path.to_owned(),
            message: err.to_string(),
        })?;
        Ok(if encoded.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{encoded}")
        })
    }

    /// `GET /healthz`.
    pub async fn healthz(&self) -> Result<(), ClientError> {
        self.send(Method::GET, "/healthz", full(Bytes::new()), None)
            .await
            .map(drop)
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<InfoResponse, ClientError> {
        self.json(Method::GET, "/info", None).await
    }

    /// `GET /hostgroup`.
    pub async fn host_groups(&self) -> Result<Vec<HostGroupInfo>, ClientError> {
        self.json(Method::GET, "/hostgroup", None).await
    }

    /// `GET /nodes`, or `GET /hostgroup/{group}/nodes`.
    pub async fn nodes(
        &self,
        group: Option<&str>,
        filter: &TagFilter,
    ) -> Result<Vec<NodeInfo>, ClientError> {
        let path = match group {
            Some(group) => format!("/hostgroup/{group}/nodes"),
            None => "/nodes".to_owned(),
        };
        self.json(Method::GET, &Self::with_query(&path, filter)?, None)
            .await
    }

    /// `POST /hostgroup/{group}/nodes`.
    pub async fn create_node(
        &self,
        group: &str,
        query: &CreateNodeQuery,
        request: &CreateNodeRequest,
    ) -> Result<CreateNodeResponse, ClientError> {
        let path = Self::with_query(&format!("/hostgroup/{group}/nodes"), query)?;
        let body = Self::encode(&path, request)?;
        self.json(Method::POST, &path, Some(body)).await
    }

    /// `DELETE /hostgroup/{group}/nodes/{hostname}`.
    pub async fn delete_node(
        &self,
        group: &str,
        hostname: &str,
    ) -> Result<DeleteResponse, ClientError> {
        self.json(
            Method::DELETE,
            &format!("/hostgroup/{group}/nodes/{hostname}"),
            None,
        )
        .await
    }

    /// `POST /vm/{hostname}/exec`, streamed; `stdin` is sent as the body.
    pub async fn exec(
        &self,
        hostname: &str,
        query: &ExecQuery,
        stdin: Bytes,
    ) -> Result<ExecFrames, ClientError> {
        let path = Self::with_query(&format!("/vm/{hostname}/exec"), query)?;
        let response = self
            .send(
                Method::POST,
                &path,
                full(stdin),
                Some("application/octet-stream"),
            )
            .await?;
        Ok(ExecFrames::new(response.into_body()))
    }

    /// `POST /vm/{hostname}/exec?buffered=true`.
    pub async fn exec_buffered(
        &self,
        hostname: &str,
        query: &ExecQuery,
    ) -> Result<BufferedExecResult, ClientError> {
        let mut query = query.clone();
        query.buffered = Some(true);
        let path = Self::with_query(&format!("/vm/{hostname}/exec"), &query)?;
        self.json(Method::POST, &path, None).await
    }

    /// `POST /apply`.
    pub async fn apply(&self, request: &ApplyRequest) -> Result<ApplyResponse, ClientError> {
        let body = Self::encode("POST /apply", request)?;
        self.json(Method::POST, "/apply", Some(body)).await
    }

    /// `GET /apply`: the stored host groups as YAML.
    pub async fn stored_config(&self) -> Result<String, ClientError> {
        let response = self
            .send(Method::GET, "/apply", full(Bytes::new()), None)
            .await?;
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|source| ClientError::Http {
                operation: "GET /apply".into(),
                source,
            })?
            .to_bytes();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn text(&self, method: Method, path: &str) -> Result<String, ClientError> {
        let response = self
            .send(method.clone(), path, full(Bytes::new()), None)
            .await?;
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|source| ClientError::Http {
                operation: format!("{method} {path}"),
                source,
            })?
            .to_bytes();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A request body as JSON.
    pub(crate) fn encode<T: serde::Serialize>(
        operation: &str,
        body: &T,
    ) -> Result<Vec<u8>, ClientError> {
        serde_json::to_vec(body).map_err(|err| ClientError::Encode {
            operation: operation.to_owned(),
            message: err.to_string(),
        })
    }

    /// `GET /vm/{hostname}`.
    pub async fn describe(&self, hostname: &str) -> Result<VmDescription, ClientError> {
        self.json(Method::GET, &format!("/vm/{hostname}"), None)
            .await
    }

    /// `GET /vm/{hostname}/tags`.
    pub async fn tags(&self, hostname: &str) -> Result<VmTags, ClientError> {
        self.json(Method::GET, &format!("/vm/{hostname}/tags"), None)
            .await
    }

    /// `PATCH /vm/{hostname}/tags`.
    pub async fn patch_tags(
        &self,
        hostname: &str,
        patch: &TagPatch,
    ) -> Result<VmTags, ClientError> {
        let path = format!("/vm/{hostname}/tags");
        let body = Self::encode(&path, patch)?;
        self.json(Method::PATCH, &path, Some(body)).await
    }

    /// `GET /vm/{hostname}/logs`.
    pub async fn logs(
        &self,
        hostname: &str,
        query: &LogsQuery,
    ) -> Result<LogsResponse, ClientError> {
        let path = Self::with_query(&format!("/vm/{hostname}/logs"), query)?;
        self.json(Method::GET, &path, None).await
    }

    /// `GET /vm/{hostname}/health`.
    pub async fn health(&self, hostname: &str) -> Result<AgentHealth, ClientError> {
        self.json(Method::GET, &format!("/vm/{hostname}/health"), None)
            .await
    }

    /// `POST /vm/{hostname}/shutdown`; the daemon's text answer.
    pub async fn shutdown(
        &self,
        hostname: &str,
        query: &VmShutdownQuery,
    ) -> Result<String, ClientError> {
        let path = Self::with_query(&format!("/vm/{hostname}/shutdown"), query)?;
        self.text(Method::POST, &path).await
    }

    /// `POST /vm/{hostname}/pause`.
    pub async fn pause(&self, hostname: &str) -> Result<String, ClientError> {
        self.text(Method::POST, &format!("/vm/{hostname}/pause"))
            .await
    }

    /// `POST /vm/{hostname}/resume`.
    pub async fn resume(&self, hostname: &str) -> Result<String, ClientError> {
        self.text(Method::POST, &format!("/vm/{hostname}/resume"))
            .await
    }

    /// `POST /vm/{hostname}/suspend`.
    pub async fn suspend(&self, hostname: &str) -> Result<String, ClientError> {
        self.text(Method::POST, &format!("/vm/{hostname}/suspend"))
            .await
    }

    /// `POST /vm/{hostname}/restore`.
    pub async fn restore(
        &self,
        hostname: &str,
        query: &RestoreQuery,
    ) -> Result<String, ClientError> {
        let path = Self::with_query(&format!("/vm/{hostname}/restore"), query)?;
        self.text(Method::POST, &path).await
    }

    /// `POST /vm/{hostname}/relaunch`.
    pub async fn relaunch(&self, hostname: &str) -> Result<CreateNodeResponse, ClientError> {
        self.json(Method::POST, &format!("/vm/{hostname}/relaunch"), None)
            .await
    }

    /// `GET /nodes/stats`, or `GET /node/{hostname}/stats` as a one-item list.
    pub async fn node_stats(&self, hostname: Option<&str>) -> Result<Vec<NodeStats>, ClientError> {
        match hostname {
            Some(hostname) => Ok(vec![
                self.json(Method::GET, &format!("/node/{hostname}/stats"), None)
                    .await?,
            ]),
            None => self.json(Method::GET, "/nodes/stats", None).await,
        }
    }

    /// `GET /secrets`.
    pub async fn secrets(&self) -> Result<Vec<SecretInfo>, ClientError> {
        self.json(Method::GET, "/secrets", None).await
    }

    /// `POST /secrets`.
    pub async fn create_secret(
        &self,
        request: &CreateSecretRequest,
    ) -> Result<SecretInfo, ClientError> {
        let body = Self::encode("POST /secrets", request)?;
        self.json(Method::POST, "/secrets", Some(body)).await
    }

    /// `PATCH /secrets/{name}`.
    pub async fn update_secret(
        &self,
        name: &str,
        request: &UpdateSecretRequest,
    ) -> Result<SecretInfo, ClientError> {
        let path = format!("/secrets/{name}");
        let body = Self::encode(&path, request)?;
        self.json(Method::PATCH, &path, Some(body)).await
    }

    /// `DELETE /secrets/{name}`.
    pub async fn delete_secret(&self, name: &str) -> Result<(), ClientError> {
        self.text(Method::DELETE, &format!("/secrets/{name}"))
            .await
            .map(drop)
    }

    /// `GET /metrics`: Prometheus text.
    pub async fn metrics(&self) -> Result<String, ClientError> {
        self.text(Method::GET, "/metrics").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_sdk_conventions() {
        assert_eq!(
            Endpoint::parse("/run/slicer/a.sock").unwrap(),
            Endpoint::Unix("/run/slicer/a.sock".into())
        );
        assert_eq!(
            Endpoint::parse("unix:///tmp/x").unwrap(),
            Endpoint::Unix("/tmp/x".into())
        );
        assert_eq!(
            Endpoint::parse("slicer.sock").unwrap(),
            Endpoint::Unix("slicer.sock".into())
        );
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:8080/").unwrap(),
            Endpoint::Tcp("127.0.0.1:8080".into())
        );
        assert!(Endpoint::parse("ftp://x").is_err());
    }
}
