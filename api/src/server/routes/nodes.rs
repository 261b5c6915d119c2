//! Host groups and their nodes: list, create, delete.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::Shared;
use super::body::read_json;
use crate::server::ApiError;
use crate::types::query::from_query;
use crate::types::{
    CreateNodeQuery, CreateNodeRequest, CreateNodeResponse, DeleteResponse, HostGroupInfo,
    NodeInfo, TagFilter,
};

/// Parse a raw query string into `T`, answering 400 naming the problem.
pub(super) fn parse_query<T: serde::de::DeserializeOwned + Default>(
    raw: Option<String>,
) -> Result<T, ApiError> {
    match raw.as_deref() {
        None | Some("") => Ok(T::default()),
        Some(text) => {
            from_query(text).map_err(|err| ApiError::bad_request(format!("invalid query: {err}")))
        }
    }
}

fn tag_filter(raw: Option<String>) -> Result<TagFilter, ApiError> {
    let filter: TagFilter = parse_query(raw)?;
    if filter.tag.is_some() && filter.tag_prefix.is_some() {
        return Err(ApiError::bad_request(
            "give either tag or tag_prefix, not both",
        ));
    }
    Ok(filter)
}

/// `GET /hostgroup`.
pub(super) async fn host_groups(
    State(backend): State<Shared>,
) -> Result<Json<Vec<HostGroupInfo>>, ApiError> {
    backend.host_groups().await.map(Json)
}

/// `GET /nodes`.
pub(super) async fn all_nodes(
    State(backend): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<NodeInfo>>, ApiError> {
    backend.nodes(None, tag_filter(raw)?).await.map(Json)
}

/// `GET /hostgroup/{group}/nodes`.
pub(super) async fn group_nodes(
    State(backend): State<Shared>,
    Path(group): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<NodeInfo>>, ApiError> {
    backend.nodes(Some(group), tag_filter(raw)?).await.map(Json)
}

/// `POST /hostgroup/{group}/nodes`: 201 with the new node.
pub(super) async fn create(
    State(backend): State<Shared>,
    Path(group): Path<String>,
    RawQuery(raw): RawQuery,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<CreateNodeResponse>), ApiError> {
    let query: CreateNodeQuery = parse_query(raw)?;
    let request: CreateNodeRequest = read_json(body, true).await?;
    let created = backend.create_node(group, query, request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /hostgroup/{group}/nodes/{hostname}`.
pub(super) async fn delete(
    State(backend): State<Shared>,
    Path((group, hostname)): Path<(String, String)>,
) -> Result<Json<DeleteResponse>, ApiError> {
    backend.delete_node(group, hostname).await.map(Json)
}
