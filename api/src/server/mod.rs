//! The daemon's REST API (Slicer-compatible paths and shapes), as axum
//! routes over a [`Backend`]. Handlers only convert HTTP into backend
//! calls and back; every decision lives behind the trait.

mod backend;
mod error;
mod guest_backend;
mod routes;

use std::path::Path;
use std::sync::Arc;

pub use backend::{Backend, ExecOutput};
pub use error::ApiError;
pub use guest_backend::{GuestBackend, GuestConnection, GuestDownload, GuestIo};
pub use routes::guest::{background_exec_layer, guest_router};
pub use routes::router;

/// Serve `backend` on the Unix socket at `path` (created 0660, replacing a
/// stale one) until `shutdown` resolves.
pub async fn serve_unix(
    path: &Path,
    backend: Arc<dyn Backend>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_unix_app(path, router(backend), shutdown).await
}

/// Serve `app` (the [`router`], with whatever is merged into it) on the
/// Unix socket at `path`, like [`serve_unix`].
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
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
