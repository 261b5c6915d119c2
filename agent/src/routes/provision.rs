//! `POST /v1/provision`: secrets first, then userdata.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use slicer_api::types::{ProvisionRequest, ProvisionResponse};

use super::AgentState;
use crate::error::AgentError;
use crate::secrets;

/// Write the granted secrets, then start userdata if this disk never ran it.
pub async fn provision(
    State(state): State<Arc<AgentState>>,
    body: axum::body::Bytes,
) -> Result<Json<ProvisionResponse>, AgentError> {
    let request: ProvisionRequest = serde_json::from_slice(&body)
        .map_err(|e| AgentError::BadQuery(format!("invalid provision body: {e}")))?;
    let secrets_written = secrets::sync(&state.config.secrets_dir, &request.secrets)?;
    let userdata = state.userdata.start(request.userdata.as_deref())?;
    Ok(Json(ProvisionResponse {
        secrets_written,
        userdata,
    }))
}
