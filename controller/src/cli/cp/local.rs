//! The host side of a copy: what a local source is, and the streams that
//! carry files and trees (tar via `slicer_api::archive`, on blocking
//! threads fed through pipes so nothing is held whole).

use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use slicer_api::archive::{Excludes, Owner, pack_tree, unpack_into};
use slicer_api::client::{RequestBody, reader_body};
use slicer_api::types::{CopySource, CopySourceType};
use tokio::io::AsyncRead;
use tokio_util::io::SyncIoBridge;

use super::names_contents;

/// A local source as `cp -r` sees it.
#[derive(Debug)]
pub struct LocalSource {
    /// The path to read.
    pub path: PathBuf,
    /// Kind and base name.
    pub source: CopySource,
    /// `SRC/.`: copy a directory's contents.
    pub copy_contents: bool,
    /// Bytes of a file (0 for directories).
    pub len: u64,
}

impl LocalSource {
    /// Inspect the source `text` as given on the command line.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let path = PathBuf::from(text);
        let meta =
            std::fs::metadata(&path).with_context(|| format!("cannot read source {text}"))?;
        let kind = if meta.is_dir() {
            CopySourceType::Directory
        } else {
            CopySourceType::File
        };
        let copy_contents = kind == CopySourceType::Directory && names_contents(text);
        Ok(Self {
            source: CopySource {
                kind,
                name: base_name(&path)?,
            },
            copy_contents,
            len: if meta.is_dir() { 0 } else { meta.len() },
            path,
        })
    }

    /// The upload body: the file's bytes, or a tar of the directory's
    /// contents minus `excludes`.
    pub async fn body(&self, excludes: &Excludes) -> anyhow::Result<RequestBody> {
        Ok(match self.source.kind {
            CopySourceType::File => {
                let file = tokio::fs::File::open(&self.path)
                    .await
                    .with_context(|| format!("cannot open {}", self.path.display()))?;
                reader_body(file)
            }
            CopySourceType::Directory => {
                reader_body(tar_stream(self.path.clone(), excludes.clone()))
            }
        })
    }
}

/// The last named component of `path` (what `cp` calls the source's
/// name), resolving `.` and `/`-only forms through the real path.
fn base_name(path: &Path) -> anyhow::Result<String> {
    let named = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .next_back();
    if let Some(name) = named.filter(|_| !path.ends_with("..")) {
        return Ok(name);
    }
    let real = std::fs::canonicalize(path)
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    Ok(real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default())
}

/// A tar of `dir`'s contents, written by a blocking task as it is read.
fn tar_stream(dir: PathBuf, excludes: Excludes) -> tokio::io::DuplexStream {
    let (reader, writer) = tokio::io::duplex(256 * 1024);
    tokio::task::spawn_blocking(move || {
        if let Err(err) = pack_tree(SyncIoBridge::new(writer), &dir, None, &excludes) {
            tracing::warn!(error = %err, src = %dir.display(), "tar stream ended early");
        }
    });
    reader
}

/// Unpack a downloaded tar into the existing directory `dir`.
pub async fn unpack_stream(
    reader: impl AsyncRead + Send + Unpin + 'static,
    dir: &Path,
    excludes: Excludes,
) -> anyhow::Result<()> {
    let bridge = SyncIoBridge::new(reader);
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || unpack_into(bridge, &dir, &excludes, Owner::default()))
        .await??;
    Ok(())
}

/// Stream `reader` into the file `dst` and give it `mode` when known.
pub async fn write_file(
    mut reader: impl AsyncRead + Unpin,
    dst: &Path,
    mode: Option<u32>,
) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::create(dst)
        .await
        .with_context(|| format!("cannot create {}", dst.display()))?;
    tokio::io::copy(&mut reader, &mut file)
        .await
        .with_context(|| format!("cannot write {}", dst.display()))?;
    if let Some(bits) = mode {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(dst, std::fs::Permissions::from_mode(bits)).await?;
    }
    Ok(())
}

/// `--permissions` as mode bits.
pub fn parse_permissions(text: Option<&str>) -> anyhow::Result<Option<u32>> {
    text.map(|text| {
        u32::from_str_radix(text, 8).with_context(|| format!("--permissions {text:?} is not octal"))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_like_cp_names_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("proj");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("f.txt"), b"12").unwrap();
        let whole = LocalSource::parse(dir.to_str().unwrap()).unwrap();
        assert_eq!(whole.source.name, "proj");
        assert!(!whole.copy_contents);
        let contents = LocalSource::parse(&format!("{}/.", dir.display())).unwrap();
        assert_eq!(contents.source.name, "proj");
        assert!(contents.copy_contents);
        let file = LocalSource::parse(dir.join("f.txt").to_str().unwrap()).unwrap();
        assert_eq!((file.source.kind, file.len), (CopySourceType::File, 2));
        let parent = LocalSource::parse(&format!("{}/..", dir.display())).unwrap();
        assert_eq!(
            parent.source.name,
            tmp.path().file_name().unwrap().to_string_lossy()
        );
    }
}
