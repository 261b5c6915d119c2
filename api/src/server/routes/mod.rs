//! The route table: one file per resource.

mod apply;
mod exec;
pub(super) mod guest;
mod nodes;
mod system;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};

use super::Backend;

/// Shared handler state.
pub(super) type Shared = Arc<dyn Backend>;

/// The whole REST API over `backend`.
pub fn router(backend: Arc<dyn Backend>) -> Router {
    Router::new()
        .route("/healthz", get(system::healthz).head(system::healthz))
        .route("/info", get(system::info))
        .route("/hostgroup", get(nodes::host_groups))
        .route(
            "/hostgroup/{group}/nodes",
            get(nodes::group_nodes).post(nodes::create),
        )
        .route("/hostgroup/{group}/nodes/{hostname}", delete(nodes::delete))
        .route("/nodes", get(nodes::all_nodes))
        .route("/vm/{hostname}/exec", post(exec::exec))
        .route("/apply", get(apply::stored).post(apply::apply))
        .fallback(system::not_found)
        .with_state(backend)
}
