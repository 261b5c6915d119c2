//! `POST|GET /vm/{hostname}/cp` (`reference/slicer.md` §7.5): files and
//! tar streams in and out of the guest, streamed both ways, in the legacy
//! `binary`/`tar` modes and the cp-v1 modes (placed like `cp -r` by the
//! agent; see `types::copy_target`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::Guest;
use crate::server::ApiError;
use crate::types::query::from_query;
use crate::types::{
    CopyMode, CopyQuery, CopySourceType, FILE_MODE_HEADER, FsPathResponse, SOURCE_NAME_HEADER,
    SOURCE_TYPE_HEADER, UNPACKED_SIZE_HEADER, valid_source_name,
};

/// Parse the copy query. An unknown mode gets the answer Slicer's agents
/// give, `invalid mode: …`, which clients match to fall back to older modes.
fn copy_query(raw: Option<String>) -> Result<CopyQuery, ApiError> {
    let raw = raw.unwrap_or_default();
    let query: CopyQuery = from_query(&raw).map_err(|err| {
        let mode = from_query::<Vec<(String, String)>>(&raw)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "mode"))
            .map(|(_, v)| v);
        match mode {
            Some(mode) if serde_json::from_value::<CopyMode>(mode.clone().into()).is_err() => {
                ApiError::bad_request(format!("invalid mode: {mode}"))
            }
            _ => ApiError::bad_request(format!("invalid query: {err}")),
        }
    })?;
    check_path(&query.path)?;
    if let Some(name) = &query.source_name
        && !name.is_empty()
        && !valid_source_name(name)
    {
        return Err(ApiError::bad_request(format!(
            "source_name {name:?} must be one path component, not . or .."
        )));
    }
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

/// `X-Slicer-Unpacked-Size`, when sent: a byte count.
fn unpacked_size(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    headers
        .get(UNPACKED_SIZE_HEADER)
        .map(|value| {
            let text = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
            text.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid {UNPACKED_SIZE_HEADER} {text:?}: expected a byte count"
                ))
            })
        })
        .transpose()
}

/// `POST /vm/{hostname}/cp`: the body is the file, or a tar to unpack.
pub(in crate::server::routes) async fn upload(
    State(backend): State<Guest>,
    Path(hostname): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let query = copy_query(raw)?;
    let size = unpacked_size(&headers)?;
    let path = query.path.clone();
    backend.upload(hostname, query, size, body).await?;
    Ok(Json(FsPathResponse { path }).into_response())
}

/// `GET /vm/{hostname}/cp`: the file with `X-Slicer-File-Mode`, or a tar;
/// in the cp-v1 modes with `X-Slicer-Source-Type` and
/// `X-Slicer-Source-Name-Base64`.
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
    let kind = match (&download.source, mode) {
        (Some(source), _) => source.kind,
        (None, CopyMode::Binary | CopyMode::CpV1Binary) => CopySourceType::File,
        (None, _) => CopySourceType::Directory,
    };
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(mode.download_content_type(kind)),
    );
    let mut extra = Vec::new();
    if let Some(file_mode) = download.mode {
        extra.push((FILE_MODE_HEADER, format!("{file_mode:04o}")));
    }
    if let Some(source) = &download.source {
        extra.push((SOURCE_TYPE_HEADER, source.kind.as_str().to_owned()));
        extra.push((SOURCE_NAME_HEADER, source.encoded_name()));
    }
    for (name, value) in extra {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
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
        let err = copy_query(Some("path=/tmp/x&mode=cp-v1-tar&source_name=..".into())).unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn cp_v1_modes_parse_and_unknown_modes_answer_like_an_older_agent() {
        let query = copy_query(Some(
            "path=/tmp/x&mode=cp-v1-tar&copy_semantics=cp-v1&source_type=directory\
             &source_name=src&exclude=a&exclude=b"
                .into(),
        ))
        .unwrap();
        assert_eq!(query.mode, CopyMode::CpV1Tar);
        assert_eq!(query.exclude, ["a", "b"]);
        let err = copy_query(Some("path=/tmp/x&mode=cp-v2-tar".into())).unwrap_err();
        assert_eq!(err.body.error, "invalid mode: cp-v2-tar");
        let err = copy_query(Some("path=/tmp/x&mode=tar&uid=x".into())).unwrap_err();
        assert!(
            err.body.error.starts_with("invalid query"),
            "{}",
            err.body.error
        );
    }

    #[test]
    fn unpacked_size_must_be_a_byte_count() {
        let mut headers = HeaderMap::new();
        assert_eq!(unpacked_size(&headers).unwrap(), None);
        headers.insert(UNPACKED_SIZE_HEADER, "42".parse().unwrap());
        assert_eq!(unpacked_size(&headers).unwrap(), Some(42));
        headers.insert(UNPACKED_SIZE_HEADER, "lots".parse().unwrap());
        let err = unpacked_size(&headers).unwrap_err();
        assert!(err.body.error.contains(UNPACKED_SIZE_HEADER));
    }
}
