//! [`UploadError`]: why a chunked upload could not be finalised or aborted.

use std::path::PathBuf;

use slicer_api::types::ManifestError;

use crate::error::AgentError;

/// Why `slicer-agent upload …` failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum UploadError {
    /// {0}
    Usage(String),
    /// reading manifest {path} failed
    ReadManifest {
        /// The manifest.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// manifest {path} is not a valid manifest
    ParseManifest {
        /// The manifest.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
    /// manifest {path} is invalid
    Invalid {
        /// The manifest.
        path: PathBuf,
        /// What is wrong with it.
        source: ManifestError,
    },
    /// {0} is not a chunked-upload directory (.slicer-upload-<id>)
    NotStaging(PathBuf),
    /// chunk {index} is missing: {path} does not exist
    MissingChunk {
        /// The chunk.
        index: u64,
        /// Where it should be.
        path: PathBuf,
    },
    /// chunk {index} is {actual} bytes but the manifest says {expected}
    ChunkSize {
        /// The chunk.
        index: u64,
        /// Size in the manifest.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// chunk {index} has sha256 {actual} but the manifest says {expected}
    ChunkSha256 {
        /// The chunk.
        index: u64,
        /// Digest in the manifest.
        expected: String,
        /// Digest of the file.
        actual: String,
    },
    /// reading chunk {index} ({path}) failed
    ReadChunk {
        /// The chunk.
        index: u64,
        /// Its file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// writing the upload to {destination} failed
    Place {
        /// The manifest's destination.
        destination: String,
        /// The error.
        source: AgentError,
    },
    /// removing {path} failed
    Remove {
        /// The staging directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl UploadError {
    /// The chunk failure carried inside an I/O error from a chunk reader,
    /// else the I/O error as a write failure at `destination`.
    pub fn from_stream(err: std::io::Error, destination: &str, path: &std::path::Path) -> Self {
        let place = |source| Self::Place {
            destination: destination.to_owned(),
            source: AgentError::io("write", path, source),
        };
        if !err.get_ref().is_some_and(|inner| inner.is::<Self>()) {
            return place(err);
        }
        match err.into_inner().map(|inner| inner.downcast::<Self>()) {
            Some(Ok(upload)) => *upload,
            _ => place(std::io::Error::other("chunk stream failed")),
        }
    }
}
