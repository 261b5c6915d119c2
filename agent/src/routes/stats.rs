//! `GET /v1/stats`: the guest's metrics, for `/nodes/stats` and `vm top`.

use axum::Json;
use slicer_api::types::GuestSnapshot;

/// One sample of the guest's metrics. Reading `/proc` blocks, briefly,
/// so it runs on the blocking pool.
pub async fn stats() -> Json<GuestSnapshot> {
    let snapshot = tokio::task::spawn_blocking(crate::stats::snapshot)
        .await
        .unwrap_or_default();
    Json(snapshot)
}
