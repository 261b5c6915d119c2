//! The agent's HTTP API (`docs/agent-protocol.md`): one handler file per
//! resource, all sharing [`AgentState`].

mod copy;
mod exec;
mod health;
mod limits;
mod provision;
mod shutdown;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::config::AgentConfig;
use crate::userdata::Userdata;

/// State shared by all handlers.
#[derive(Debug)]
pub struct AgentState {
    /// Guest paths.
    pub config: AgentConfig,
    /// When the agent started.
    pub started: Instant,
    /// Userdata progress.
    pub userdata: Userdata,
}

/// Largest JSON body accepted (provisioning with many secrets).
const JSON_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The agent's router.
pub fn router(config: AgentConfig) -> Router {
    let state = Arc::new(AgentState {
        userdata: Userdata::new(&config),
        config,
        started: Instant::now(),
    });
    Router::new()
        .route("/v1/health", get(health::health))
        .route("/v1/exec", post(exec::exec))
        .route("/v1/cp", get(copy::download).post(copy::upload))
        .route("/v1/provision", post(provision::provision))
        .route("/v1/shutdown", post(shutdown::shutdown))
        .fallback(limits::not_found)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(limits::header_limit))
        .with_state(state)
}
