//! The daemon's REST API (Slicer-compatible paths and shapes), as axum
//! routes over a [`Backend`]. Handlers only convert HTTP into backend
//! calls and back; every decision lives behind the trait.

mod backend;
mod error;
mod guest_backend;
pub mod openapi;
mod routes;

use std::path::Path;
use std::sync::Arc;

use axum::ServiceExt;
use axum::extract::Request;

pub use backend::{Backend, ExecOutput};
pub use error::ApiError;
pub use guest_backend::{GuestBackend, GuestConnection, GuestDownload, GuestIo};
pub use routes::guest::{background_exec_layer, guest_router};
pub use routes::table::{Answer, Budget, RequestBody, RouteSpec, guest_route_table, route_table};
pub use routes::{router, tcp_router};

/// Serve `backend` on the Unix socket at `path` (created 0660, replacing a
/// stale one) until `shutdown` resolves.
pub async fn serve_unix(
    path: &Path,
    backend: Arc<dyn Backend>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_unix_app(path, router(backend), shutdown).await
}

/// Serve `app` (see [`app`]) on the Unix socket at `path`, like
/// [`serve_unix`].
pub async fn serve_unix_app(
    path: &Path,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    axum::serve(listener, normalized(app).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serve `app` (see [`app`]) on an already bound TCP listener until
/// `shutdown` resolves.
pub async fn serve_tcp_app(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, normalized(app).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}

/// The whole API as one router: the route table over `backend`, the guest
/// proxies over `guest`, and the background-exec start that shares the
/// exec path. With `token` (TCP), every request but those to the table's
/// open routes (`/healthz`) must carry the bearer token, guest proxies and
/// background exec included.
pub fn app(
    backend: Arc<dyn Backend>,
    guest: Arc<dyn GuestBackend>,
    token: Option<String>,
) -> axum::Router {
    let base = match &token {
        Some(token) => tcp_router(backend, Some(token.clone())),
        None => router(backend),
    };
    let app = background_exec_layer(base.merge(guest_router(guest.clone())), guest);
    match token {
        Some(token) => app.layer(axum::middleware::from_fn_with_state(
            Arc::<str>::from(token),
            routes::require_token_outside_open_routes,
        )),
        None => app,
    }
}

/// Serve `backend` on an already bound TCP listener until `shutdown`
/// resolves, asking for `token` on every authenticated route when given.
pub async fn serve_tcp(
    listener: tokio::net::TcpListener,
    backend: Arc<dyn Backend>,
    token: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        normalized(tcp_router(backend, token)).into_make_service(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// `router` with a single trailing slash of the path treated as absent
/// (`reference/slicer.md` §11 item 35). Routing happens inside the
/// router, so the rewrite must wrap it rather than be one of its layers.
pub fn normalized(
    router: axum::Router,
) -> tower::util::MapRequest<axum::Router, fn(Request) -> Request> {
    tower::util::MapRequest::new(router, trim_trailing_slash as fn(Request) -> Request)
}

fn trim_trailing_slash(mut request: Request) -> Request {
    let uri = request.uri();
    let path = uri.path();
    if path.len() > 1 && path.ends_with('/') && !path.ends_with("//") {
        let trimmed = &path[..path.len() - 1];
        let rewritten = match uri.query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(new) = rewritten.parse() {
            *request.uri_mut() = new;
        }
    }
    request
}
