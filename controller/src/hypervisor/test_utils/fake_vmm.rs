//! A fake VMM: an HTTP server on a Unix socket that checks every request
//! against an [`ApiSpec`], records it, and answers like the real VMM
//! would (204, or a canned JSON body for the `GET`s drivers use).
//! Invalid requests get a 400 with the reason, as Firecracker answers,
//! so the driver under test fails loudly, and are recorded as violations.

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::UnixListener;

use super::ApiSpec;

/// One request the fake VMM received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// `PUT`, `PATCH`, `GET`.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// The JSON body, if one was sent.
    pub body: Option<Value>,
    /// Why the spec rejects it, if it does.
    pub violation: Option<String>,
}

/// A running fake VMM; stops when dropped.
#[derive(Debug)]
pub(crate) struct FakeVmm {
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeVmm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Canned answers for the `GET`s of both VMMs.
fn answer(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("GET", "/") => Some(json!({
            "app_name": "Firecracker",
            "id": "anonymous-instance",
            "state": "Running",
            "vmm_version": "1.17.0-dev",
        })),
        ("GET", "/api/v1/vmm.ping") => Some(json!({ "version": "48.0", "pid": 1 })),
        _ => None,
    }
}

impl FakeVmm {
    /// Serve `spec` on `socket`, which is bound before this returns.
    pub(crate) fn serve(socket: &Path, spec: Arc<ApiSpec>) -> Self {
        let listener = UnixListener::bind(socket).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let spec = Arc::clone(&spec);
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        handle(request, Arc::clone(&spec), Arc::clone(&recorded))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { requests, task }
    }

    /// Everything received, in order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// `METHOD path` of everything received, in order.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// The bodies sent to `method path`, in order.
    pub(crate) fn bodies(&self, method: &str, path: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .filter_map(|r| r.body)
            .collect()
    }

    /// Every request the spec rejected, with the reason.
    pub(crate) fn violations(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter_map(|r| r.violation)
            .collect()
    }
}

async fn handle(
    request: Request<Incoming>,
    spec: Arc<ApiSpec>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.to_string());
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = answer(&method, &path);
    let violation = spec.check(&method, &path, &body).err().or_else(|| {
        reply
            .as_ref()
            .and_then(|reply| spec.check_ok_response(&method, &path, reply).err())
    });
    recorded.lock().unwrap().push(Recorded {
        method: method.clone(),
        path: path.clone(),
        body: serde_json::from_slice(&body).ok(),
        violation: violation.clone(),
    });
    let (status, reply) = match violation {
        Some(reason) => (
            StatusCode::BAD_REQUEST,
            Some(json!({ "fault_message": reason })),
        ),
        None => match reply {
            Some(reply) => (StatusCode::OK, Some(reply)),
            None => (StatusCode::NO_CONTENT, None),
        },
    };
    let body = reply.map_or_else(Bytes::new, |r| Bytes::from(r.to_string()));
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap())
}
