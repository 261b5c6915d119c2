//! `POST /v1/cp` (upload) and `GET /v1/cp` (download): the legacy
//! `binary`/`tar` modes (written exactly at `path`) and the cp-v1 modes
//! (placed like `cp -r`, see `files::cp_v1`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use slicer_api::archive::{Excludes, Owner};
use slicer_api::types::query::from_query;
use slicer_api::types::{
    CopyMode, CopyQuery, CopySource, CopySourceType, CopyTarget, FILE_MODE_HEADER,
    SOURCE_NAME_HEADER, SOURCE_TYPE_HEADER, UNPACKED_SIZE_HEADER,
};

use super::AgentState;
use crate::error::AgentError;
use crate::files::{binary, cp_v1, paths, tarball};

fn parse(query: Option<String>) -> Result<CopyQuery, AgentError> {
    from_query(query.as_deref().unwrap_or("")).map_err(|e| AgentError::BadQuery(e.to_string()))
}

/// `X-Slicer-Unpacked-Size`, when sent.
fn unpacked_size(headers: &HeaderMap) -> Result<Option<u64>, AgentError> {
    headers
        .get(UNPACKED_SIZE_HEADER)
        .map(|value| {
            let text = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
            text.parse().map_err(|_| AgentError::UnpackedSize(text))
        })
        .transpose()
}

/// Receive a file or a tar stream. The free-space check and every path
/// check run before the body is read, so a refusal writes nothing.
pub async fn upload(
    State(_): State<Arc<AgentState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AgentError> {
    let query = parse(query)?;
    let path = paths::checked(&query.path)?;
    let needed = unpacked_size(&headers)?;
    let mode = query
        .permissions
        .as_deref()
        .map(paths::parse_mode)
        .transpose()?;
    let owner = Owner {
        uid: query.uid,
        gid: query.gid,
    };
    let excludes = Excludes::new(&query.exclude);
    let target = if query.mode.is_cp_v1() {
        let source = cp_v1::upload_source(&query)?;
        cp_v1::target(&query.path, &source, query.copy_contents())?
    } else if query.mode.is_tar() {
        CopyTarget::Directory {
            create: !path.is_dir(),
            path,
        }
    } else {
        CopyTarget::File(path)
    };
    match target {
        CopyTarget::File(file) => {
            if let Some(needed) = needed {
                cp_v1::ensure_room(&file, needed)?;
            }
            binary::upload(&file, body, mode, owner.uid, owner.gid).await?;
        }
        CopyTarget::Directory { path: dir, create } => {
            if let Some(needed) = needed {
                cp_v1::ensure_room(&dir, needed)?;
            }
            if create && query.mode.is_cp_v1() {
                cp_v1::create_target_dir(&dir, owner)?;
            } else if create {
                std::fs::create_dir_all(&dir).map_err(|e| AgentError::io("mkdir", &dir, e))?;
            }
            tarball::unpack(&dir, body, owner, excludes).await?;
        }
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
    let excludes = Excludes::new(&query.exclude);
    if !query.mode.is_cp_v1() {
        return match query.mode {
            CopyMode::Tar => {
                let name = path
                    .file_name()
                    .map_or_else(|| PathBuf::from("."), PathBuf::from);
                tar_response(&path, Some(name), excludes, None)
            }
            _ => file_response(&path, None).await,
        };
    }
    let meta = std::fs::metadata(&path).map_err(|e| AgentError::io("stat", &path, e))?;
    let source = CopySource {
        kind: if meta.is_dir() {
            CopySourceType::Directory
        } else {
            CopySourceType::File
        },
        name: cp_v1::source_name(&path),
    };
    match (query.mode, source.kind) {
        (CopyMode::CpV1Binary | CopyMode::CpV1Recursive, CopySourceType::File) => {
            file_response(&path, Some(&source)).await
        }
        (CopyMode::CpV1Binary, CopySourceType::Directory) => Err(AgentError::IsDirectory(path)),
        _ => tar_response(&path, None, excludes, Some(&source)),
    }
}

/// The cp-v1 headers naming the source.
fn source_headers(source: Option<&CopySource>) -> Vec<(&'static str, String)> {
    source
        .map(|source| {
            vec![
                (SOURCE_TYPE_HEADER, source.kind.as_str().to_owned()),
                (SOURCE_NAME_HEADER, source.encoded_name()),
            ]
        })
        .unwrap_or_default()
}

async fn file_response(path: &Path, source: Option<&CopySource>) -> Result<Response, AgentError> {
    let (mode, body) = binary::download(path).await?;
    let mut headers = vec![
        (
            header::CONTENT_TYPE.as_str(),
            "application/octet-stream".to_owned(),
        ),
        (FILE_MODE_HEADER, format!("{mode:04o}")),
    ];
    headers.extend(source_headers(source));
    Ok(with_headers(headers, body))
}

fn tar_response(
    path: &Path,
    prefix: Option<PathBuf>,
    excludes: Excludes,
    source: Option<&CopySource>,
) -> Result<Response, AgentError> {
    let body = tarball::pack(path, prefix, excludes)?;
    let mut headers = vec![(
        header::CONTENT_TYPE.as_str(),
        "application/x-tar".to_owned(),
    )];
    headers.extend(source_headers(source));
    Ok(with_headers(headers, body))
}

fn with_headers(headers: Vec<(&'static str, String)>, body: Body) -> Response {
    let mut response = body.into_response();
    for (name, value) in headers {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use http_body_util::{BodyExt, Full};
    use hyper::Request;
    use hyper_util::rt::TokioIo;
    use slicer_api::archive::{Excludes, pack_tree};
    use slicer_api::types::query::to_query;
    use slicer_api::types::{CopyMode, CopyQuery, CopySemantics, CopySourceType};
    use tokio::net::UnixStream;

    use super::{SOURCE_NAME_HEADER, SOURCE_TYPE_HEADER, UNPACKED_SIZE_HEADER};
    use crate::routes::test_utils::agent_on;

    type Answer = (http::StatusCode, http::HeaderMap, bytes::Bytes);

    async fn call(
        socket: &Path,
        method: &str,
        query: &CopyQuery,
        size: Option<u64>,
        body: Vec<u8>,
    ) -> Answer {
        let stream = UnixStream::connect(socket).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/v1/cp?{}", to_query(query).unwrap()))
            .header("host", "agent");
        if let Some(size) = size {
            request = request.header(UNPACKED_SIZE_HEADER, size.to_string());
        }
        let response = sender
            .send_request(request.body(Full::new(bytes::Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        (
            parts.status,
            parts.headers,
            body.collect().await.unwrap().to_bytes(),
        )
    }

    fn upload(dest: &Path, contents: bool, exclude: &[&str]) -> CopyQuery {
        CopyQuery {
            path: dest.display().to_string(),
            mode: CopyMode::CpV1Tar,
            copy_semantics: Some(CopySemantics::CpV1),
            source_name: Some("src".into()),
            source_type: Some(CopySourceType::Directory),
            copy_contents: Some(contents),
            exclude: exclude.iter().map(|s| (*s).to_owned()).collect(),
            ..CopyQuery::default()
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(at) = stack.pop() {
            for entry in std::fs::read_dir(&at).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(path.strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn cp_v1_uploads_place_like_cp_r_and_downloads_name_their_source() {
        let tmp = tempfile::tempdir().unwrap();
        let socket = tmp.path().join("agent.sock");
        agent_on(&socket).await;
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("a.txt"), b"a").unwrap();
        std::fs::write(src.join("b.log"), b"b").unwrap();
        std::fs::write(src.join("sub/c"), b"c").unwrap();
        let tar = pack_tree(Vec::new(), &src, None, &Excludes::default()).unwrap();

        // Directory into an existing directory: dst/src, minus the exclude.
        let dst = tmp.path().join("dst");
        std::fs::create_dir(&dst).unwrap();
        let (status, _, body) = call(
            &socket,
            "POST",
            &upload(&dst, false, &["*.log"]),
            Some(3),
            tar.clone(),
        )
        .await;
        assert_eq!(status, 200, "{body:?}");
        assert_eq!(files(&dst), ["src/a.txt", "src/sub/c"]);

        // Contents (SRC/.) into a new directory; to a missing parent: 404.
        let fresh = tmp.path().join("fresh");
        let (status, _, _) = call(
            &socket,
            "POST",
            &upload(&fresh, true, &[]),
            None,
            tar.clone(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(files(&fresh), ["a.txt", "b.log", "sub/c"]);
        let (status, _, _) = call(
            &socket,
            "POST",
            &upload(&tmp.path().join("no/such"), false, &[]),
            None,
            tar.clone(),
        )
        .await;
        assert_eq!(status, 404);

        // Too big for the filesystem: 400 naming the header, nothing made.
        let big = tmp.path().join("big");
        let (status, _, body) = call(
            &socket,
            "POST",
            &upload(&big, false, &[]),
            Some(u64::MAX),
            tar.clone(),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            String::from_utf8_lossy(&body).contains("X-Slicer-Unpacked-Size"),
            "{body:?}"
        );
        assert!(!big.exists());

        // Traversal: a '..' path or source name is refused before writing.
        let mut evil = upload(&dst, false, &[]);
        evil.source_name = Some("..".into());
        assert_eq!(call(&socket, "POST", &evil, None, tar.clone()).await.0, 400);
        let mut evil = upload(&dst, false, &[]);
        evil.path = format!("{}/../escape", dst.display());
        assert_eq!(call(&socket, "POST", &evil, None, tar.clone()).await.0, 400);
        assert!(!tmp.path().join("escape").exists());

        // Download: contents tar of the directory plus both headers.
        let query = CopyQuery {
            path: src.display().to_string(),
            mode: CopyMode::CpV1Recursive,
            copy_semantics: Some(CopySemantics::CpV1),
            exclude: vec!["sub".into()],
            ..CopyQuery::default()
        };
        let (status, headers, body) = call(&socket, "GET", &query, None, Vec::new()).await;
        assert_eq!(status, 200);
        assert_eq!(headers[SOURCE_TYPE_HEADER], "directory");
        assert_eq!(headers[SOURCE_NAME_HEADER], "c3Jj");
        let mut archive = tar::Archive::new(&body[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.txt", "b.log"]);
        let file = CopyQuery {
            path: src.join("a.txt").display().to_string(),
            ..query
        };
        let (status, headers, body) = call(&socket, "GET", &file, None, Vec::new()).await;
        assert_eq!(status, 200);
        assert_eq!(headers[SOURCE_TYPE_HEADER], "file");
        assert_eq!(&body[..], b"a");
    }
}
