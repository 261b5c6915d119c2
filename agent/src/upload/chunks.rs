//! [`ChunkReader`]: the chunks of a staged upload read back as one
//! stream, each checked against the manifest (size and SHA-256) as it
//! ends, so a bad chunk fails the stream naming its index.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use slicer_api::types::ManifestChunk;

use super::error::UploadError;
use super::staging::chunk_path;

/// The chunk being read.
#[derive(Debug)]
struct Open {
    chunk: ManifestChunk,
    path: PathBuf,
    file: File,
    read: u64,
    hasher: Sha256,
}

/// Reads the chunks of the upload staged in a directory, in order.
#[derive(Debug)]
pub struct ChunkReader {
    dir: PathBuf,
    pending: std::collections::VecDeque<ManifestChunk>,
    open: Option<Open>,
}

impl ChunkReader {
    /// A reader over `chunks` staged in `dir`.
    pub fn new(dir: &Path, chunks: &[ManifestChunk]) -> Self {
        Self {
            dir: dir.to_owned(),
            pending: chunks.iter().cloned().collect(),
            open: None,
        }
    }

    /// Read every chunk once, checking each; nothing is written.
    pub fn verify(dir: &Path, chunks: &[ManifestChunk]) -> Result<(), UploadError> {
        let mut reader = Self::new(dir, chunks);
        std::io::copy(&mut reader, &mut std::io::sink())
            .map(drop)
            .map_err(|err| UploadError::from_stream(err, &dir.display().to_string(), dir))
    }

    fn open_next(&mut self) -> Result<bool, UploadError> {
        let Some(chunk) = self.pending.pop_front() else {
            return Ok(false);
        };
        let path = chunk_path(&self.dir, chunk.index);
        let file = File::open(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                UploadError::MissingChunk {
                    index: chunk.index,
                    path: path.clone(),
                }
            } else {
                UploadError::ReadChunk {
                    index: chunk.index,
                    path: path.clone(),
                    source,
                }
            }
        })?;
        let actual = file.metadata().map(|m| m.len()).unwrap_or(0);
        if actual != chunk.size {
            return Err(UploadError::ChunkSize {
                index: chunk.index,
                expected: chunk.size,
                actual,
            });
        }
        self.open = Some(Open {
            chunk,
            path,
            file,
            read: 0,
            hasher: Sha256::new(),
        });
        Ok(true)
    }
}

/// Check a fully read chunk against the manifest.
fn finish(open: Open) -> Result<(), UploadError> {
    let index = open.chunk.index;
    if open.read != open.chunk.size {
        return Err(UploadError::ChunkSize {
            index,
            expected: open.chunk.size,
            actual: open.read,
        });
    }
    let actual = format!("{:x}", open.hasher.finalize());
    if !actual.eq_ignore_ascii_case(&open.chunk.sha256) {
        return Err(UploadError::ChunkSha256 {
            index,
            expected: open.chunk.sha256,
            actual,
        });
    }
    Ok(())
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.open.is_none() && !self.open_next().map_err(std::io::Error::other)? {
                return Ok(0);
            }
            let Some(open) = self.open.as_mut() else {
                return Ok(0);
            };
            let n = open.file.read(buf).map_err(|source| {
                std::io::Error::other(UploadError::ReadChunk {
                    index: open.chunk.index,
                    path: open.path.clone(),
                    source,
                })
            })?;
            if n > 0 {
                open.read += n as u64;
                if open.read > open.chunk.size {
                    return Err(std::io::Error::other(UploadError::ChunkSize {
                        index: open.chunk.index,
                        expected: open.chunk.size,
                        actual: open.read,
                    }));
                }
                open.hasher.update(&buf[..n]);
                return Ok(n);
            }
            if let Some(done) = self.open.take() {
                finish(done).map_err(std::io::Error::other)?;
            }
        }
    }
}
