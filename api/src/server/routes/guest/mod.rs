//! The guest-facing routes: background exec, copy, fs, watch, shell and
//! forward, each a thin relay onto a [`GuestBackend`].

mod background;
mod copy;
mod forward;
mod fs;
mod shell;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, delete, get, post};

pub use background::background_exec_layer;

use crate::server::GuestBackend;

/// Shared handler state.
type Guest = Arc<dyn GuestBackend>;

/// Every guest-facing route as (method, path), for the contract test;
/// `guest_router` serves exactly these (a test checks each one is routed),
/// plus background exec start on `POST /vm/{hostname}/exec`.
pub const GUEST_ROUTES: &[(&str, &str)] = &[
    ("GET", "/vm/{hostname}/exec"),
    ("GET", "/vm/{hostname}/exec/{exec_id}"),
    ("DELETE", "/vm/{hostname}/exec/{exec_id}"),
    ("GET", "/vm/{hostname}/exec/{exec_id}/logs"),
    ("POST", "/vm/{hostname}/exec/{exec_id}/kill"),
    ("GET", "/vm/{hostname}/exec/{exec_id}/wait-exit"),
    ("GET", "/vm/{hostname}/cp"),
    ("POST", "/vm/{hostname}/cp"),
    ("GET", "/vm/{hostname}/fs/readdir"),
    ("GET", "/vm/{hostname}/fs/stat"),
    ("POST", "/vm/{hostname}/fs/mkdir"),
    ("DELETE", "/vm/{hostname}/fs/remove"),
    ("GET", "/vm/{hostname}/fs/watch"),
    ("GET", "/vm/{hostname}/shell"),
    ("GET", "/vm/{hostname}/forward"),
];

/// The guest-facing routes over `backend`. Merge them into the main
/// router; `POST /vm/{h}/exec?background=true` shares its path with the
/// foreground exec route, so it comes from [`background_exec_layer`].
pub fn guest_router(backend: Arc<dyn GuestBackend>) -> Router {
    Router::new()
        .route("/vm/{hostname}/exec", get(background::list))
        .route(
            "/vm/{hostname}/exec/{exec_id}",
            get(background::info).delete(background::reap),
        )
        .route("/vm/{hostname}/exec/{exec_id}/logs", get(background::logs))
        .route("/vm/{hostname}/exec/{exec_id}/kill", post(background::kill))
        .route(
            "/vm/{hostname}/exec/{exec_id}/wait-exit",
            get(background::wait_exit),
        )
        .route("/vm/{hostname}/cp", get(copy::download).post(copy::upload))
        .route("/vm/{hostname}/fs/readdir", get(fs::readdir))
        .route("/vm/{hostname}/fs/stat", get(fs::stat))
        .route("/vm/{hostname}/fs/mkdir", post(fs::mkdir))
        .route("/vm/{hostname}/fs/remove", delete(fs::remove))
        .route("/vm/{hostname}/fs/watch", get(fs::watch))
        .route("/vm/{hostname}/shell", get(shell::shell))
        // Slicer's forward route does not restrict the method (§7.9).
        .route("/vm/{hostname}/forward", any(forward::forward))
        .with_state(backend)
}
