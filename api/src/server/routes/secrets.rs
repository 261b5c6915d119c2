//! `/secrets`: list metadata, create, update, delete.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::Shared;
use super::body::{read_json, read_required};
use crate::server::ApiError;
use crate::types::{CreateSecretRequest, SecretInfo, UpdateSecretRequest};

/// `GET /secrets`.
pub(super) async fn list(State(backend): State<Shared>) -> Result<Json<Vec<SecretInfo>>, ApiError> {
    backend.secrets().await.map(Json)
}

/// `POST /secrets`: 201 with the new secret's metadata.
pub(super) async fn create(
    State(backend): State<Shared>,
    body: Body,
) -> Result<(StatusCode, Json<SecretInfo>), ApiError> {
    let request: CreateSecretRequest = read_required(body).await?;
    let created = backend.create_secret(request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `PATCH /secrets/{name}`.
pub(super) async fn update(
    State(backend): State<Shared>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Json<SecretInfo>, ApiError> {
    let request: UpdateSecretRequest = read_json(body, false).await?;
    backend.update_secret(name, request).await.map(Json)
}

/// `DELETE /secrets/{name}`.
pub(super) async fn remove(
    State(backend): State<Shared>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    backend.delete_secret(name).await.map(|()| StatusCode::OK)
}
