//! Chunked upload (`reference/slicer.md` §7.5): the manifest a client
//! uploads beside its chunks and `slicer-agent upload finalise` reads.
//!
//! Layout in the guest, next to the destination:
//! `<dest-parent>/.slicer-upload-<id>/manifest.json` and
//! `<dest-parent>/.slicer-upload-<id>/chunks/NNNNNN.chunk`.

use serde::{Deserialize, Serialize};

use super::copy::{CopyMode, CopySemantics, CopySource, CopySourceType, valid_source_name};

/// Where the agent binary is in every guest image; clients exec it.
pub const AGENT_PROGRAM: &str = "/usr/local/bin/slicer-agent";
/// What `slicer-agent upload check` prints when it can finalise manifests
/// of version 1 and 2.
pub const CHUNKED_COPY_CAPABILITY: &str = "chunked-copy-v2";
/// Size of every chunk but the last.
pub const CHUNK_SIZE_BYTES: u64 = 64 << 20;
/// Chunks uploaded at once.
pub const CHUNK_UPLOADS_IN_FLIGHT: usize = 4;
/// Name prefix of an upload's staging directory.
pub const UPLOAD_DIR_PREFIX: &str = ".slicer-upload-";
/// The manifest's file name inside the staging directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The chunks' directory inside the staging directory.
pub const CHUNKS_DIR: &str = "chunks";

/// The file name of chunk `index`: `NNNNNN.chunk`.
pub fn chunk_file_name(index: u64) -> String {
    format!("{index:06}.chunk")
}

/// One chunk of the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestChunk {
    /// Position in the stream, from 0.
    pub index: u64,
    /// Bytes in the chunk.
    pub size: u64,
    /// Lowercase hex SHA-256 of the chunk.
    pub sha256: String,
}

/// `manifest.json`: the stream's chunks and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadManifest {
    /// 1 (legacy placement at `destination`) or 2 (cp-v1 placement).
    pub version: u32,
    /// `binary` (the chunks are a file) or `tar` (a tar to unpack); the
    /// cp-v1 names are accepted too.
    pub mode: CopyMode,
    /// Absolute destination, as for `POST /cp?path=`.
    pub destination: String,
    /// Owner of what is written.
    #[serde(default)]
    pub uid: u32,
    /// Group of what is written.
    #[serde(default)]
    pub gid: u32,
    /// Octal mode of a binary upload, such as `0644`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    /// Bytes of the whole stream.
    pub size: u64,
    /// Bytes once unpacked (tar), for the free-space check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpacked_size: Option<u64>,
    /// Version 2: `cp-v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_semantics: Option<CopySemantics>,
    /// Version 2: the source's base name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Version 2: `file` or `directory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<CopySourceType>,
    /// Version 2: merge a directory's contents into the destination.
    #[serde(default)]
    pub copy_contents: bool,
    /// The chunks in order.
    pub chunks: Vec<ManifestChunk>,
}

/// Why a manifest cannot be finalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, displaydoc::Display)]
pub enum ManifestError {
    /// unsupported manifest version {0}: expected 1 or 2
    Version(u32),
    /// manifest destination {0:?} must be an absolute path without '..'
    Destination(String),
    /// manifest version 2 needs copy_semantics cp-v1 and a source_type
    Semantics,
    /// manifest source_name {0:?} must be one path component
    SourceName(String),
    /// manifest mode {mode} does not fit source_type {source_type}
    ModeForSource {
        /// The mode.
        mode: &'static str,
        /// The source type.
        source_type: &'static str,
    },
    /// chunk {position} has index {index}: chunks must be listed 0, 1, 2, ...
    Order {
        /// Where it is in the list.
        position: usize,
        /// The index it claims.
        index: u64,
    },
    /// chunk {0} has size 0
    EmptyChunk(u64),
    /// chunk {index} has an invalid sha256 {sha256:?}: expected 64 hex digits
    Sha256 {
        /// The chunk.
        index: u64,
        /// The value given.
        sha256: String,
    },
    /// chunk sizes add up to {chunks} bytes but the manifest size is {size}
    Size {
        /// Sum of chunk sizes.
        chunks: u64,
        /// The declared size.
        size: u64,
    },
}

impl UploadManifest {
    /// The cp-v1 source (version 2), if any.
    pub fn source(&self) -> Option<CopySource> {
        self.source_type.map(|kind| CopySource {
            kind,
            name: self.source_name.clone().unwrap_or_default(),
        })
    }

    /// Check the manifest on its own, before any file is touched.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !matches!(self.version, 1 | 2) {
            return Err(ManifestError::Version(self.version));
        }
        let dest = &self.destination;
        if !dest.starts_with('/') || dest.split('/').any(|part| part == "..") {
            return Err(ManifestError::Destination(dest.clone()));
        }
        if self.version == 2 {
            let source = match (self.copy_semantics, self.source()) {
                (Some(CopySemantics::CpV1), Some(source)) => source,
                _ => return Err(ManifestError::Semantics),
            };
            if !self.copy_contents && !valid_source_name(&source.name) {
                return Err(ManifestError::SourceName(source.name));
            }
            if self.mode.is_tar() != (source.kind == CopySourceType::Directory) {
                return Err(ManifestError::ModeForSource {
                    mode: self.mode.as_str(),
                    source_type: source.kind.as_str(),
                });
            }
        }
        let mut total = 0u64;
        for (position, chunk) in self.chunks.iter().enumerate() {
            if u64::try_from(position).ok() != Some(chunk.index) {
                return Err(ManifestError::Order {
                    position,
                    index: chunk.index,
                });
            }
            if chunk.size == 0 {
                return Err(ManifestError::EmptyChunk(chunk.index));
            }
            let hex =
                chunk.sha256.len() == 64 && chunk.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex {
                return Err(ManifestError::Sha256 {
                    index: chunk.index,
                    sha256: chunk.sha256.clone(),
                });
            }
            total = total.saturating_add(chunk.size);
        }
        if total != self.size {
            return Err(ManifestError::Size {
                chunks: total,
                size: self.size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> UploadManifest {
        serde_json::from_str(
            r#"{"version":2,"mode":"binary","destination":"/var/tmp/big.bin","uid":0,"gid":0,
                "permissions":"0644","size":5,"copy_semantics":"cp-v1","source_name":"big.bin",
                "source_type":"file","chunks":[
                  {"index":0,"size":3,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                  {"index":1,"size":2,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn sdk_manifests_parse_and_validate() {
        let m = manifest();
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(chunk_file_name(7), "000007.chunk");
        let v1: UploadManifest = serde_json::from_str(
            r#"{"version":1,"mode":"tar","destination":"/d","uid":0,"gid":0,"size":0,
                "sha256":"","chunks":[]}"#,
        )
        .unwrap();
        assert_eq!(v1.validate(), Ok(()));
    }

    #[test]
    fn bad_manifests_name_the_problem() {
        let mut m = manifest();
        m.chunks[1].sha256 = "xyz".into();
        assert!(matches!(
            m.validate(),
            Err(ManifestError::Sha256 { index: 1, .. })
        ));
        let mut m = manifest();
        m.chunks.remove(0);
        assert!(matches!(
            m.validate(),
            Err(ManifestError::Order {
                position: 0,
                index: 1
            })
        ));
        let mut m = manifest();
        m.size = 6;
        assert_eq!(
            m.validate(),
            Err(ManifestError::Size { chunks: 5, size: 6 })
        );
        let mut m = manifest();
        m.destination = "/var/../etc/x".into();
        assert!(matches!(m.validate(), Err(ManifestError::Destination(_))));
        let mut m = manifest();
        m.mode = CopyMode::Tar;
        assert!(matches!(
            m.validate(),
            Err(ManifestError::ModeForSource { .. })
        ));
        let mut m = manifest();
        m.version = 3;
        assert_eq!(m.validate(), Err(ManifestError::Version(3)));
    }
}
