//! `POST /v1/cp` (upload) and `GET /v1/cp` (download), binary or tar.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use slicer_api::types::query::from_query;
use slicer_api::types::{CopyMode, CopyQuery, FILE_MODE_HEADER};

use super::AgentState;
use crate::error::AgentError;
use crate::files::{binary, paths, tarball};

fn parse(query: Option<String>) -> Result<CopyQuery, AgentError> {
    from_query(query.as_deref().unwrap_or("")).map_err(|e| AgentError::BadQuery(e.to_string()))
}

/// Receive a file or a tar stream.
pub async fn upload(
    State(_): State<Arc<AgentState>>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, AgentError> {
    let query = parse(query)?;
    let path = paths::checked(&query.path)?;
    let mode = query
        .permissions
        .as_deref()
        .map(paths::parse_mode)
        .transpose()?;
    match query.mode {
        CopyMode::Binary => binary::upload(&path, body, mode, query.uid, query.gid).await?,
        CopyMode::Tar => tarball::unpack(&path, body, query.uid, query.gid).await?,
    }
    Ok(axum::Json(serde_json::json!({ "path": query.path })).into_response())
}

/// Send a file or a tar stream.
pub async fn download(
    State(_): State<Arc<AgentState>>,
    RawQuery(query): RawQuery,
) -> Result<Response, AgentError> {
    let query = parse(query)?;
    let path = paths::checked(&query.path)?;
    match query.mode {
        CopyMode::Binary => {
            let (mode, body) = binary::download(&path).await?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE.as_str(),
                        "application/octet-stream".to_owned(),
                    ),
                    (FILE_MODE_HEADER, format!("{mode:04o}")),
                ],
                body,
            )
                .into_response())
        }
        CopyMode::Tar => Ok((
            [(header::CONTENT_TYPE, "application/x-tar")],
            tarball::pack(&path)?,
        )
            .into_response()),
    }
}
