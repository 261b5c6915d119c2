//! The agent's HTTP API (`docs/agent-protocol.md`): one handler file per
//! resource, all sharing [`AgentState`].

mod copy;
mod exec;
mod exec_background;
mod forward;
mod fs;
mod fs_watch;
mod health;
mod limits;
mod provision;
mod shell;
mod shutdown;
mod stats;
#[cfg(test)]
mod test_utils;
mod upgrade;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, delete, get, post};
use slicer_api::types::background::RING_BUDGET_BYTES;

use crate::config::AgentConfig;
use crate::exec::background::BackgroundExecs;
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
    /// Detached execs and their rings.
    pub background: BackgroundExecs,
}

/// Largest JSON body accepted (provisioning with many secrets).
const JSON_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The agent's router.
pub fn router(config: AgentConfig) -> Router {
    let state = Arc::new(AgentState {
        userdata: Userdata::new(&config),
        config,
        started: Instant::now(),
        background: BackgroundExecs::new(RING_BUDGET_BYTES),
    });
    Router::new()
        .route("/v1/health", get(health::health))
        .route("/v1/stats", get(stats::stats))
        .route("/v1/exec", post(exec::exec).get(exec_background::list))
        .route(
            "/v1/exec/{exec_id}",
            get(exec_background::info).delete(exec_background::reap),
        )
        .route("/v1/exec/{exec_id}/logs", get(exec_background::logs))
        .route("/v1/exec/{exec_id}/kill", post(exec_background::kill))
        .route(
            "/v1/exec/{exec_id}/wait-exit",
            get(exec_background::wait_exit),
        )
        .route("/v1/fs/readdir", get(fs::readdir))
        .route("/v1/fs/stat", get(fs::stat))
        .route("/v1/fs/mkdir", post(fs::mkdir))
        .route("/v1/fs/remove", delete(fs::remove))
        .route("/v1/fs/watch", get(fs_watch::watch))
        .route("/v1/shell", get(shell::shell))
        .route("/v1/forward", any(forward::forward))
        .route("/v1/cp", get(copy::download).post(copy::upload))
        .route("/v1/provision", post(provision::provision))
        .route("/v1/shutdown", post(shutdown::shutdown))
        .fallback(limits::not_found)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(limits::header_limit))
        .with_state(state)
}
