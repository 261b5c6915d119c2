//! The guest-facing routes: background exec, copy, fs, watch, shell and
//! forward, each a thin relay onto a [`GuestBackend`].

pub(super) mod background;
pub(super) mod copy;
pub(super) mod forward;
pub(super) mod fs;
pub(super) mod shell;
mod websocket_bridge;

use std::sync::Arc;

use axum::Router;

pub use background::background_exec_layer;

use crate::server::GuestBackend;

/// Shared handler state.
pub(super) type Guest = Arc<dyn GuestBackend>;

/// The guest-facing routes over `backend`, from the route table's guest
/// entries. Merge them into the main router; `POST /vm/{h}/exec?background=true`
/// shares its path with the foreground exec route, so it comes from
/// [`background_exec_layer`]. Bearer tokens on TCP are checked by the
/// listener's outermost guard, which covers that layer too.
pub fn guest_router(backend: Arc<dyn GuestBackend>) -> Router {
    super::mount(super::table::guest_entries(), None).with_state(backend)
}
