//! The routes, built from the one table in [`table`]: one handler file per
//! resource, plus the layers every route shares (auth on TCP, time
//! budgets, request metrics, JSON errors for unknown paths and methods).

mod apply;
mod body;
mod exec;
pub(super) mod guest;
mod layers;
mod nodes;
mod secrets;
mod stats;
mod system;
pub mod table;
mod vm;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;

use super::Backend;
use table::Budget;

/// Shared handler state.
pub(super) type Shared = Arc<dyn Backend>;

/// Time budget of quick routes.
const QUICK_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);
/// Time budget of routes that wait for the controllers. Create waits are
/// at most their `timeout` (default 5 minutes), so this is generous.
const WAIT_BUDGET: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The whole REST API over `backend`, without authentication (the Unix
/// socket, whose file mode is the access control).
pub fn router(backend: Arc<dyn Backend>) -> Router {
    build(backend, None)
}

/// The REST API for a TCP listener: every route marked `auth` in the table
/// needs `Authorization: Bearer <token>` when `token` is given.
pub fn tcp_router(backend: Arc<dyn Backend>, token: Option<String>) -> Router {
    build(backend, token.map(Arc::from))
}

fn build(backend: Arc<dyn Backend>, token: Option<Arc<str>>) -> Router {
    mount(table::entries(), token.as_ref())
        .fallback(system::not_found)
        .method_not_allowed_fallback(system::method_not_allowed)
        .layer(from_fn_with_state(backend.clone(), layers::observe))
        .with_state(backend)
}

/// A router of `entries`, each with its time budget and, when `token` is
/// given and the table asks for it, the bearer-token check.
fn mount<S: Clone + Send + Sync + 'static>(
    entries: Vec<table::Entry<S>>,
    token: Option<&Arc<str>>,
) -> Router<S> {
    let mut router = Router::new();
    for entry in entries {
        let mut handler = entry.handler;
        handler = match entry.spec.budget {
            Budget::Quick => handler.layer(from_fn_with_state(QUICK_BUDGET, layers::time_budget)),
            Budget::Waits => handler.layer(from_fn_with_state(WAIT_BUDGET, layers::time_budget)),
            Budget::Streaming => handler,
        };
        if entry.spec.auth
            && let Some(token) = token
        {
            handler = handler.layer(from_fn_with_state(token.clone(), layers::require_token));
        }
        router = router.route(entry.spec.path, handler);
    }
    router
}

/// The paths the table marks open, computed once: the guard below runs
/// on every TCP request and must not rebuild the route table each time.
fn open_paths() -> &'static [&'static str] {
    static OPEN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    OPEN.get_or_init(|| {
        table::route_table()
            .into_iter()
            .filter(|route| !route.auth)
            .map(|route| route.path)
            .collect()
    })
}

/// Answer 401 without the bearer token, except on the routes the table
/// marks open (`/healthz`): the outermost guard of a TCP listener, so
/// routes outside the table (guest proxies, background exec) are covered.
pub(super) async fn require_token_outside_open_routes(
    axum::extract::State(token): axum::extract::State<Arc<str>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if open_paths().contains(&request.uri().path()) {
        return next.run(request).await;
    }
    layers::require_token(axum::extract::State(token), request, next).await
}
