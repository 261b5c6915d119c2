//! `POST|GET /vm/{hostname}/cp` (`reference/slicer.md` §7.5): files and
//! tar streams in and out of the guest, streamed both ways.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::Guest;
use crate::server::ApiError;
use crate::types::query::from_query;
use crate::types::{CopyMode, CopyQuery, FILE_MODE_HEADER, FsPathResponse};

/// Parse the copy query. cp-v1 modes get the answer Slicer's older
/// agents give, `invalid mode: …`, so clients fall back to binary/tar.
fn copy_query(raw: Option<String>) -> Result<CopyQuery, ApiError> {
    let raw = raw.unwrap_or_default();
    let query: CopyQuery = from_query(&raw).map_err(|err| {
        let mode = from_query::<Vec<(String, String)>>(&raw)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "mode"))
            .map(|(_, v)| v);
        match mode {
            Some(mode) if mode != "binary" && mode != "tar" => {
                ApiError::bad_request(format!("invalid mode: {mode}"))
            }
            _ => ApiError::bad_request(format!("invalid query: {err}")),
        }
    })?;
    check_path(&query.path)?;
    Ok(query)
}

/// Refuse relative paths and `..` before anything reaches the guest.
fn check_path(path: &str) -> Result<(), ApiError> {
    if path.is_empty() {
        return Err(ApiError::bad_request("path is required"));
    }
    if !path.starts_with('/') {
        return Err(ApiError::bad_request(format!(
            "path {path:?} must be absolute"
        )));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(ApiError::bad_request(format!(
            "path {path:?} must not contain '..'"
        )));
    }
    Ok(())
}

/// `POST /vm/{hostname}/cp`: the body is the file, or a tar to unpack.
pub(in crate::server::routes) async fn upload(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let query = copy_query(raw)?;
    let path = query.path.clone();
    backend.upload(hostname, query, body).await?;
    Ok(Json(FsPathResponse { path }).into_response())
}

/// `GET /vm/{hostname}/cp`: the file with `X-Slicer-File-Mode`, or a tar.
pub(in crate::server::routes) async fn download(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = copy_query(raw)?;
    let mode = query.mode;
    let download = backend.download(hostname, query).await?;
    let mut response = download.body.into_response();
    let headers = response.headers_mut();
    let content_type = match mode {
        CopyMode::Binary => "application/octet-stream",
        CopyMode::Tar => "application/x-tar",
    };
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    if let Some(file_mode) = download.mode
        && let Ok(value) = header::HeaderValue::from_str(&format!("{file_mode:04o}"))
    {
        headers.insert(FILE_MODE_HEADER, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_relative_paths_are_refused() {
        assert!(check_path("/tmp/a").is_ok());
        assert_eq!(check_path("/tmp/../etc").unwrap_err().status, 400);
        assert_eq!(check_path("tmp/a").unwrap_err().status, 400);
        assert_eq!(check_path("").unwrap_err().status, 400);
    }

    #[test]
    fn cp_v1_modes_answer_like_an_older_agent() {
        let err = copy_query(Some("path=/tmp/x&mode=cp-v1-tar".into())).unwrap_err();
        assert_eq!(err.body.error, "invalid mode: cp-v1-tar");
        assert_eq!(
            copy_query(Some("path=/tmp/x&mode=tar".into()))
                .unwrap()
                .mode,
            CopyMode::Tar
        );
    }
}
