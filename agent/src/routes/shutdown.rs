//! `POST /v1/shutdown?action=shutdown|reboot`.

use std::time::Duration;

use axum::Json;
use axum::extract::RawQuery;
use serde_json::{Value, json};
use slicer_api::types::ShutdownQuery;
use slicer_api::types::query::from_query;

use crate::error::AgentError;
use crate::init::poweroff;

/// Answer first, then power off or reboot once the answer is on its way.
pub async fn shutdown(RawQuery(query): RawQuery) -> Result<Json<Value>, AgentError> {
    let query: ShutdownQuery = from_query(query.as_deref().unwrap_or(""))
        .map_err(|e| AgentError::BadQuery(e.to_string()))?;
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        poweroff::stop_guest(query.action).await;
    });
    Ok(Json(json!({ "action": query.action })))
}
