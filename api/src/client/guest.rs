//! [`SlicerClient`] calls of the guest-facing routes: background exec,
//! copy, fs, watch, and the shell and forward WebSockets.

use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{ClientError, Endpoint, ExecFrames, SlicerClient, full};
use crate::types::{
    CopyQuery, CopySource, DownloadHeaders, ExecBackgroundInfo, ExecKillRequest, ExecKillResponse,
    ExecLogsQuery, ExecQuery, ExecReapResponse, ExecStarted, ExecWaitQuery, ExecWaitResult,
    FORWARD_UPSTREAM_HEADER, ForwardTarget, FsEntry, FsMkdirRequest, FsPathQuery, FsRemoveQuery,
    FsWatchQuery, SOURCE_TYPE_HEADER, ShellQuery, UNPACKED_SIZE_HEADER,
};

/// A streamed download from `GET /vm/{hostname}/cp`.
#[derive(Debug)]
pub struct CopyDownload {
    /// The file's mode (`X-Slicer-File-Mode`), for file downloads.
    pub mode: Option<u32>,
    /// What the source is (cp-v1 modes; `None` from older servers).
    pub source: Option<CopySource>,
    /// The file's bytes or the tar, read as it arrives.
    pub body: Incoming,
}

/// A request body streamed to the daemon.
pub type RequestBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// A byte stream to the daemon, Unix socket or TCP.
pub trait DaemonIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> DaemonIo for T {}

/// A WebSocket to the daemon (`/vm/{h}/shell`, `/vm/{h}/forward`).
pub type GuestSocket = tokio_tungstenite::WebSocketStream<Box<dyn DaemonIo>>;

/// A body streamed from `reader` as it is read, never held whole.
pub fn reader_body<R: AsyncRead + Send + Sync + Unpin + 'static>(reader: R) -> RequestBody {
    let chunks = futures_util::stream::unfold(reader, |mut reader| async move {
        let mut buf = vec![0u8; 256 * 1024];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(hyper::body::Frame::data(Bytes::from(buf))), reader))
            }
            Err(err) => Some((Err(err), reader)),
        }
    });
    BodyExt::boxed(http_body_util::StreamBody::new(chunks))
}

fn exec_path(hostname: &str, exec_id: &str, suffix: &str) -> String {
    format!("/vm/{hostname}/exec/{exec_id}{suffix}")
}

impl SlicerClient {
    /// `POST /vm/{hostname}/exec?background=true`.
    pub async fn exec_background(
        &self,
        hostname: &str,
        query: &ExecQuery,
    ) -> Result<ExecStarted, ClientError> {
        let mut query = query.clone();
        query.background = Some(true);
        let path = Self::with_query(&format!("/vm/{hostname}/exec"), &query)?;
        self.json(Method::POST, &path, None).await
    }

    /// `GET /vm/{hostname}/exec`.
    pub async fn exec_list(&self, hostname: &str) -> Result<Vec<ExecBackgroundInfo>, ClientError> {
        self.json(Method::GET, &format!("/vm/{hostname}/exec"), None)
            .await
    }

    /// `GET /vm/{hostname}/exec/{exec_id}`.
    pub async fn exec_info(
        &self,
        hostname: &str,
        exec_id: &str,
    ) -> Result<ExecBackgroundInfo, ClientError> {
        self.json(Method::GET, &exec_path(hostname, exec_id, ""), None)
            .await
    }

    /// `DELETE /vm/{hostname}/exec/{exec_id}`.
    pub async fn exec_reap(
        &self,
        hostname: &str,
        exec_id: &str,
    ) -> Result<ExecReapResponse, ClientError> {
        self.json(Method::DELETE, &exec_path(hostname, exec_id, ""), None)
            .await
    }

    /// `GET /vm/{hostname}/exec/{exec_id}/logs`.
    pub async fn exec_logs(
        &self,
        hostname: &str,
        exec_id: &str,
        query: &ExecLogsQuery,
    ) -> Result<ExecFrames, ClientError> {
        let path = Self::with_query(&exec_path(hostname, exec_id, "/logs"), query)?;
        let response = self
            .send(Method::GET, &path, full(Bytes::new()), None)
            .await?;
        Ok(ExecFrames::new(response.into_body()))
    }

    /// `POST /vm/{hostname}/exec/{exec_id}/kill`.
    pub async fn exec_kill(
        &self,
        hostname: &str,
        exec_id: &str,
        request: &ExecKillRequest,
    ) -> Result<ExecKillResponse, ClientError> {
        let path = exec_path(hostname, exec_id, "/kill");
        let body = Self::encode(&path, request)?;
        self.json(Method::POST, &path, Some(body)).await
    }

    /// `GET /vm/{hostname}/exec/{exec_id}/wait-exit`.
    pub async fn exec_wait_exit(
        &self,
        hostname: &str,
        exec_id: &str,
        query: &ExecWaitQuery,
    ) -> Result<ExecWaitResult, ClientError> {
        let path = Self::with_query(&exec_path(hostname, exec_id, "/wait-exit"), query)?;
        self.json(Method::GET, &path, None).await
    }

    /// `POST /vm/{hostname}/cp`: stream `body` (a file, or a tar in tar mode).
    pub async fn upload(
        &self,
        hostname: &str,
        query: &CopyQuery,
        body: RequestBody,
    ) -> Result<(), ClientError> {
        self.upload_sized(hostname, query, None, body).await
    }

    /// `POST /vm/{hostname}/cp` in any mode, cp-v1 included, announcing
    /// `unpacked_size` bytes (`X-Slicer-Unpacked-Size`) when known so the
    /// guest can refuse an upload that does not fit before it starts.
    pub async fn upload_sized(
        &self,
        hostname: &str,
        query: &CopyQuery,
        unpacked_size: Option<u64>,
        body: RequestBody,
    ) -> Result<(), ClientError> {
        let path = Self::with_query(&format!("/vm/{hostname}/cp"), query)?;
        let size = unpacked_size.map(|n| n.to_string());
        let mut headers = vec![(
            http::header::CONTENT_TYPE.as_str(),
            query.mode.upload_content_type(),
        )];
        if let Some(size) = &size {
            headers.push((UNPACKED_SIZE_HEADER, size.as_str()));
        }
        let response = self
            .send_with_headers(Method::POST, &path, body, &headers)
            .await?;
        response
            .into_body()
            .collect()
            .await
            .map_err(|source| ClientError::Http {
                operation: format!("POST /vm/{hostname}/cp"),
                source,
            })?;
        Ok(())
    }

    /// `GET /vm/{hostname}/cp`: the file's mode (binary mode) and its
    /// bytes, or a tar, streamed.
    pub async fn download(
        &self,
        hostname: &str,
        query: &CopyQuery,
    ) -> Result<(Option<u32>, Incoming), ClientError> {
        let download = self.download_copy(hostname, query).await?;
        Ok((download.mode, download.body))
    }

    /// `GET /vm/{hostname}/cp` in any mode: in the cp-v1 modes the answer
    /// also says what the source is (file or directory, and its name).
    pub async fn download_copy(
        &self,
        hostname: &str,
        query: &CopyQuery,
    ) -> Result<CopyDownload, ClientError> {
        let path = Self::with_query(&format!("/vm/{hostname}/cp"), query)?;
        let response = self
            .send(Method::GET, &path, full(Bytes::new()), None)
            .await?;
        let DownloadHeaders { mode, source } = DownloadHeaders::from_header_map(response.headers())
            .map_err(|message| ClientError::BadHeader {
                operation: format!("GET /vm/{hostname}/cp"),
                header: SOURCE_TYPE_HEADER,
                message,
            })?;
        Ok(CopyDownload {
            mode,
            source,
            body: response.into_body(),
        })
    }

    /// `GET /vm/{hostname}/fs/readdir`.
    pub async fn fs_readdir(
        &self,
        hostname: &str,
        path: &str,
    ) -> Result<Vec<FsEntry>, ClientError> {
        let query = FsPathQuery { path: path.into() };
        let uri = Self::with_query(&format!("/vm/{hostname}/fs/readdir"), &query)?;
        self.json(Method::GET, &uri, None).await
    }

    /// `GET /vm/{hostname}/fs/stat` (a 404 status: no such path).
    pub async fn fs_stat(&self, hostname: &str, path: &str) -> Result<FsEntry, ClientError> {
        let query = FsPathQuery { path: path.into() };
        let uri = Self::with_query(&format!("/vm/{hostname}/fs/stat"), &query)?;
        self.json(Method::GET, &uri, None).await
    }

    /// `POST /vm/{hostname}/fs/mkdir`.
    pub async fn fs_mkdir(
        &self,
        hostname: &str,
        request: &FsMkdirRequest,
    ) -> Result<(), ClientError> {
        let path = format!("/vm/{hostname}/fs/mkdir");
        let body = Self::encode(&path, request)?;
        self.json::<serde_json::Value>(Method::POST, &path, Some(body))
            .await
            .map(drop)
    }

    /// `DELETE /vm/{hostname}/fs/remove`.
    pub async fn fs_remove(
        &self,
        hostname: &str,
        query: &FsRemoveQuery,
    ) -> Result<(), ClientError> {
        let uri = Self::with_query(&format!("/vm/{hostname}/fs/remove"), query)?;
        self.json::<serde_json::Value>(Method::DELETE, &uri, None)
            .await
            .map(drop)
    }

    /// `GET /vm/{hostname}/fs/watch`: the `text/event-stream` body.
    pub async fn fs_watch(
        &self,
        hostname: &str,
        query: &FsWatchQuery,
    ) -> Result<Incoming, ClientError> {
        let uri = Self::with_query(&format!("/vm/{hostname}/fs/watch"), query)?;
        let response = self
            .send(Method::GET, &uri, full(Bytes::new()), None)
            .await?;
        Ok(response.into_body())
    }

    /// `GET /vm/{hostname}/shell`: a WebSocket carrying shell frames.
    pub async fn shell(
        &self,
        hostname: &str,
        query: &ShellQuery,
    ) -> Result<GuestSocket, ClientError> {
        let uri = Self::with_query(&format!("/vm/{hostname}/shell"), query)?;
        self.websocket(&uri, &[]).await
    }

    /// `GET /vm/{hostname}/forward`: one tunnel to `target` in the guest.
    pub async fn forward(
        &self,
        hostname: &str,
        target: &ForwardTarget,
    ) -> Result<GuestSocket, ClientError> {
        let target = target.to_string();
        self.websocket(
            &format!("/vm/{hostname}/forward"),
            &[(FORWARD_UPSTREAM_HEADER, target.as_str())],
        )
        .await
    }

    /// Open a WebSocket to `path_and_query` with extra `headers`. A refusal
    /// before the 101 is a [`ClientError::Status`] with the daemon's message.
    pub async fn websocket(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<GuestSocket, ClientError> {
        let operation = format!(
            "GET {} (websocket)",
            path_and_query.split('?').next().unwrap_or("")
        );
        let connect_err = |source| ClientError::Connect {
            endpoint: self.endpoint.to_string(),
            source,
        };
        let (stream, host): (Box<dyn DaemonIo>, String) = match &self.endpoint {
            Endpoint::Unix(path) => (
                Box::new(
                    tokio::net::UnixStream::connect(path)
                        .await
                        .map_err(connect_err)?,
                ),
                "localhost".to_owned(),
            ),
            Endpoint::Tcp(addr) => (
                Box::new(
                    tokio::net::TcpStream::connect(addr)
                        .await
                        .map_err(connect_err)?,
                ),
                addr.clone(),
            ),
        };
        let encode_err = |message: String| ClientError::Encode {
            operation: operation.clone(),
            message,
        };
        let mut request = format!("ws://{host}{path_and_query}")
            .into_client_request()
            .map_err(|err| encode_err(err.to_string()))?;
        let request_headers = request.headers_mut();
        if let Some(token) = &self.token {
            request_headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|err| encode_err(err.to_string()))?,
            );
        }
        for (name, value) in headers {
            request_headers.insert(
                http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|err| encode_err(err.to_string()))?,
                http::HeaderValue::from_str(value).map_err(|err| encode_err(err.to_string()))?,
            );
        }
        match tokio_tungstenite::client_async(request, stream).await {
            Ok((socket, _)) => Ok(socket),
            Err(tungstenite::Error::Http(response)) => {
                let status = response.status();
                let bytes = response.into_body().unwrap_or_default();
                let message = serde_json::from_slice::<crate::types::ErrorBody>(&bytes)
                    .map(|e| e.error)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).trim().to_owned());
                Err(ClientError::Status {
                    operation,
                    status,
                    message,
                })
            }
            Err(err) => Err(ClientError::Connect {
                endpoint: self.endpoint.to_string(),
                source: std::io::Error::other(err),
            }),
        }
    }
}
