//! File copy: query parameters and headers of `/vm/{hostname}/cp`
//! (`reference/slicer.md` §7.5), relayed to the agent unchanged.
//!
//! Two generations share the route. The legacy modes `binary` and `tar`
//! write exactly at `path`. The cp-v1 modes (`cp-v1-binary`, `cp-v1-tar`,
//! `cp-v1-recursive`) add what the client knows about the source
//! (`source_name`, `source_type`, `copy_contents`) so the guest can place
//! it the way `cp -r` would (see [`super::copy_target`]).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Response header carrying the octal mode of a downloaded file.
pub const FILE_MODE_HEADER: &str = "X-Slicer-File-Mode";
/// Upload request header: bytes the upload takes once written or unpacked
/// (regular-file bytes of a tar), checked against the guest's free space.
pub const UNPACKED_SIZE_HEADER: &str = "X-Slicer-Unpacked-Size";
/// cp-v1 download response header: `file` or `directory`.
pub const SOURCE_TYPE_HEADER: &str = "X-Slicer-Source-Type";
/// cp-v1 download response header: the source's base name, base64
/// (URL-safe alphabet, no padding, as Slicer's SDKs decode it).
pub const SOURCE_NAME_HEADER: &str = "X-Slicer-Source-Name-Base64";

/// How the body of a copy is encoded, and which semantics place it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CopyMode {
    /// The body is one file's bytes (`application/octet-stream`).
    #[default]
    #[serde(rename = "binary")]
    Binary,
    /// The body is an uncompressed tar stream (`application/x-tar`).
    #[serde(rename = "tar")]
    Tar,
    /// One file, placed like `cp`: into an existing directory as
    /// `dir/<source_name>`, else at `path`.
    #[serde(rename = "cp-v1-binary")]
    CpV1Binary,
    /// A tar of a directory's contents, placed like `cp -r`. A download
    /// of a file in this mode is a one-entry tar.
    #[serde(rename = "cp-v1-tar")]
    CpV1Tar,
    /// Download only: a file comes back as its bytes, a directory as a
    /// tar of its contents; [`SOURCE_TYPE_HEADER`] says which.
    #[serde(rename = "cp-v1-recursive")]
    CpV1Recursive,
}

impl CopyMode {
    /// Whether this is one of the cp-v1 modes.
    pub fn is_cp_v1(self) -> bool {
        matches!(self, Self::CpV1Binary | Self::CpV1Tar | Self::CpV1Recursive)
    }

    /// The wire name, such as `cp-v1-tar`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Tar => "tar",
            Self::CpV1Binary => "cp-v1-binary",
            Self::CpV1Tar => "cp-v1-tar",
            Self::CpV1Recursive => "cp-v1-recursive",
        }
    }

    /// Whether an upload body in this mode is a tar stream.
    pub fn is_tar(self) -> bool {
        matches!(self, Self::Tar | Self::CpV1Tar | Self::CpV1Recursive)
    }

    /// `Content-Type` of an upload in this mode.
    pub fn upload_content_type(self) -> &'static str {
        if self.is_tar() {
            "application/x-tar"
        } else {
            "application/octet-stream"
        }
    }

    /// `Content-Type` of a download in this mode of a source of `kind`.
    pub fn download_content_type(self, kind: CopySourceType) -> &'static str {
        match (self, kind) {
            (Self::Binary | Self::CpV1Binary, _) => "application/octet-stream",
            (Self::CpV1Recursive, CopySourceType::File) => "application/octet-stream",
            _ => "application/x-tar",
        }
    }
}

/// What the source of a cp-v1 copy is (`source_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CopySourceType {
    /// A regular file.
    File,
    /// A directory.
    Directory,
}

impl CopySourceType {
    /// The wire name: `file` or `directory`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Directory => "directory",
        }
    }

    /// Parse the wire name ([`SOURCE_TYPE_HEADER`]).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "file" => Some(Self::File),
            "directory" => Some(Self::Directory),
            _ => None,
        }
    }
}

/// `copy_semantics`: the only value is `cp-v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CopySemantics {
    /// Place copies like `cp -r`.
    #[serde(rename = "cp-v1")]
    CpV1,
}

/// Query parameters of a copy, upload (`POST`) or download (`GET`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CopyQuery {
    /// Absolute destination (upload) or source (download) path in the guest.
    pub path: String,
    /// `binary` (default), `tar`, or a cp-v1 mode.
    #[serde(default)]
    pub mode: CopyMode,
    /// Owner to give uploaded files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Group to give uploaded files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Octal mode to give an uploaded file, such as `0644`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    /// `cp-v1`, sent with the cp-v1 modes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_semantics: Option<CopySemantics>,
    /// Upload: base name of the source, used when the destination is an
    /// existing directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Upload: whether the source is a `file` or a `directory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<CopySourceType>,
    /// Upload: `true` merges a directory's contents into the destination
    /// (the `SRC/.` form) instead of copying the directory itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_contents: Option<bool>,
    /// Globs of paths (relative to the source) to leave out; repeatable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl CopyQuery {
    /// The source as the client described it, for cp-v1 uploads.
    pub fn source(&self) -> Option<CopySource> {
        self.source_type.map(|kind| CopySource {
            kind,
            name: self.source_name.clone().unwrap_or_default(),
        })
    }

    /// Whether `copy_contents=true` was given.
    pub fn copy_contents(&self) -> bool {
        self.copy_contents.unwrap_or(false)
    }
}

/// The source of a cp-v1 copy: its kind and base name (empty for `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    /// File or directory.
    pub kind: CopySourceType,
    /// Base name, such as `src` for `/home/me/src`.
    pub name: String,
}

impl CopySource {
    /// [`SOURCE_NAME_HEADER`]'s value for this name.
    pub fn encoded_name(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.name.as_bytes())
    }

    /// Read the two download headers; `None` when both are absent (an
    /// older server), else the source or why the headers are unusable.
    pub fn from_headers(
        kind: Option<&str>,
        encoded_name: Option<&str>,
    ) -> Option<Result<Self, String>> {
        if kind.is_none() && encoded_name.is_none() {
            return None;
        }
        let parsed = (|| {
            let kind = kind.ok_or_else(|| format!("{SOURCE_TYPE_HEADER} is missing"))?;
            let kind = CopySourceType::parse(kind)
                .ok_or_else(|| format!("{SOURCE_TYPE_HEADER} {kind:?} is not file or directory"))?;
            let encoded = encoded_name
                .unwrap_or_default()
                .trim()
                .trim_end_matches('=');
            // Accept both base64 alphabets: the name is short and the
            // header's producer is not always ours.
            let bytes = URL_SAFE_NO_PAD
                .decode(encoded)
                .or_else(|_| STANDARD_NO_PAD.decode(encoded))
                .map_err(|err| format!("{SOURCE_NAME_HEADER} {encoded:?}: {err}"))?;
            let name = String::from_utf8(bytes)
                .map_err(|_| format!("{SOURCE_NAME_HEADER} is not UTF-8"))?;
            Ok(Self { kind, name })
        })();
        Some(parsed)
    }
}

/// What a download's response headers say about the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadHeaders {
    /// [`FILE_MODE_HEADER`]: the file's permission bits (binary modes).
    pub mode: Option<u32>,
    /// The cp-v1 source headers, when sent.
    pub source: Option<CopySource>,
}

impl DownloadHeaders {
    /// Read them through `header`, which gives a header's value by name;
    /// an error says why the source headers are unusable.
    pub fn read(header: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mode = header(FILE_MODE_HEADER).and_then(|v| u32::from_str_radix(v.trim(), 8).ok());
        let source = CopySource::from_headers(
            header(SOURCE_TYPE_HEADER).as_deref(),
            header(SOURCE_NAME_HEADER).as_deref(),
        )
        .transpose()?;
        Ok(Self { mode, source })
    }

    /// [`Self::read`] from an HTTP response's headers (values that are not
    /// text count as absent).
    #[cfg(any(feature = "server", feature = "client"))]
    pub fn from_header_map(headers: &http::HeaderMap) -> Result<Self, String> {
        Self::read(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
    }
}

/// Whether `name` can be a source base name: one path component, not
/// `.` or `..`.
pub fn valid_source_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::query::{from_query, to_query};

    #[test]
    fn cp_v1_queries_round_trip_with_repeated_excludes() {
        let raw = "path=%2Ftmp%2Fdst&mode=cp-v1-tar&copy_semantics=cp-v1&source_name=src\
                   &source_type=directory&copy_contents=true&exclude=*.log&exclude=target";
        let query: CopyQuery = from_query(raw).unwrap();
        assert_eq!(query.mode, CopyMode::CpV1Tar);
        assert_eq!(query.copy_semantics, Some(CopySemantics::CpV1));
        assert_eq!(query.exclude, ["*.log", "target"]);
        assert!(query.copy_contents());
        assert_eq!(
            query.source(),
            Some(CopySource {
                kind: CopySourceType::Directory,
                name: "src".into()
            })
        );
        let back: CopyQuery = from_query(&to_query(&query).unwrap()).unwrap();
        assert_eq!(back, query);
        let legacy: CopyQuery = from_query("path=/x").unwrap();
        assert_eq!(legacy.mode, CopyMode::Binary);
        assert!(!to_query(&legacy).unwrap().contains("exclude"));
    }

    #[test]
    fn source_name_header_round_trips_and_accepts_both_alphabets() {
        let source = CopySource {
            kind: CopySourceType::File,
            name: "ä?>.txt".into(),
        };
        let encoded = source.encoded_name();
        assert!(!encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'));
        let back = CopySource::from_headers(Some("file"), Some(&encoded)).unwrap();
        assert_eq!(back.unwrap(), source);
        let standard = CopySource::from_headers(Some("directory"), Some("c3Jj")).unwrap();
        assert_eq!(standard.unwrap().name, "src");
        assert!(CopySource::from_headers(None, None).is_none());
        assert!(
            CopySource::from_headers(Some("pipe"), Some("eA"))
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn source_names_are_one_component() {
        assert!(valid_source_name("a.txt"));
        for bad in ["", ".", "..", "a/b"] {
            assert!(!valid_source_name(bad), "{bad:?}");
        }
    }
}
