//! `GET /v1/health`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use slicer_api::types::AgentHealth;

use super::AgentState;

/// Agent health: uptimes in nanoseconds, userdata state, primary IPv4.
pub async fn health(State(state): State<Arc<AgentState>>) -> Json<AgentHealth> {
    let (userdata_ran, userdata_exit_code) = state.userdata.outcome();
    Json(AgentHealth {
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        agent_uptime: i64::try_from(state.started.elapsed().as_nanos()).unwrap_or(i64::MAX),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        system_uptime: system_uptime_ns(),
        userdata_ran,
        userdata_exit_code,
        ip: primary_ipv4(),
    })
}

fn system_uptime_ns() -> i64 {
    let text = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    let seconds: f64 = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    #[allow(clippy::cast_possible_truncation)]
    let ns = (seconds * 1e9) as i64;
    ns
}

fn primary_ipv4() -> Option<String> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifaddr| {
        if ifaddr.interface_name == "lo" {
            return None;
        }
        let addr = ifaddr.address?;
        let v4 = addr.as_sockaddr_in()?;
        Some(v4.ip().to_string())
    })
}
