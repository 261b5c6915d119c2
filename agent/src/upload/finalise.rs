//! `slicer-agent upload finalise` and `abort`: assemble a staged upload
//! at its destination, or throw it away.
//!
//! Guarantees: the manifest is validated before anything is written; a
//! binary upload is assembled in a temporary file renamed into place
//! last; a tar upload has every chunk verified before the first entry is
//! unpacked. So a bad chunk (size or SHA-256) fails naming its index and
//! leaves the destination untouched. The staging directory is removed
//! after success; after a failure it stays for `upload abort`.

use std::io::Write;
use std::path::{Path, PathBuf};

use slicer_api::archive::{Excludes, Owner, unpack_into};
use slicer_api::types::{CopyTarget, UploadManifest};

use super::chunks::ChunkReader;
use super::error::UploadError;
use super::staging::is_staging_dir;
use crate::error::AgentError;
use crate::files::staged::StagedFile;
use crate::files::{cp_v1, paths};

/// Read and validate the manifest at `path`; its directory must be a
/// staging directory.
fn load(path: &Path) -> Result<(PathBuf, UploadManifest), UploadError> {
    let dir = path.parent().unwrap_or(Path::new("/")).to_owned();
    if !is_staging_dir(&dir) {
        return Err(UploadError::NotStaging(dir));
    }
    let text = std::fs::read(path).map_err(|source| UploadError::ReadManifest {
        path: path.to_owned(),
        source,
    })?;
    let manifest: UploadManifest =
        serde_json::from_slice(&text).map_err(|source| UploadError::ParseManifest {
            path: path.to_owned(),
            source,
        })?;
    manifest.validate().map_err(|source| UploadError::Invalid {
        path: path.to_owned(),
        source,
    })?;
    Ok((dir, manifest))
}

/// Where the manifest's stream goes: cp-v1 placement for version 2,
/// exactly at `destination` for version 1.
fn target(manifest: &UploadManifest) -> Result<CopyTarget, AgentError> {
    let dest = &manifest.destination;
    match manifest.source() {
        Some(source) if manifest.version == 2 => {
            cp_v1::target(dest, &source, manifest.copy_contents)
        }
        _ if manifest.mode.is_tar() => Ok(CopyTarget::Directory {
            path: dest.into(),
            create: !Path::new(dest).is_dir(),
        }),
        _ => Ok(CopyTarget::File(dest.into())),
    }
}

/// Assemble the upload described by the manifest at `manifest_path`;
/// `uid`/`gid` override the manifest's owner. Returns where it landed.
pub fn finalise(
    manifest_path: &Path,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<PathBuf, UploadError> {
    let (dir, manifest) = load(manifest_path)?;
    let place = |source| UploadError::Place {
        destination: manifest.destination.clone(),
        source,
    };
    let owner = Owner {
        uid: Some(uid.unwrap_or(manifest.uid)),
        gid: Some(gid.unwrap_or(manifest.gid)),
    };
    let target = target(&manifest).map_err(place)?;
    let landed = match target {
        CopyTarget::File(path) => {
            let mode = manifest
                .permissions
                .as_deref()
                .map(paths::parse_mode)
                .transpose()
                .map_err(place)?;
            cp_v1::ensure_room(&path, manifest.size).map_err(place)?;
            let (staged, mut file) = StagedFile::beside(&path).map_err(place)?;
            let mut chunks = ChunkReader::new(&dir, &manifest.chunks);
            std::io::copy(&mut chunks, &mut file)
                .and_then(|_| file.flush())
                .and_then(|()| file.sync_all())
                .map_err(|err| {
                    UploadError::from_stream(err, &manifest.destination, staged.tmp())
                })?;
            staged.commit(mode, owner.uid, owner.gid).map_err(place)?;
            path
        }
        CopyTarget::Directory { path, create } => {
            ChunkReader::verify(&dir, &manifest.chunks)?;
            let needed = manifest.unpacked_size.unwrap_or(manifest.size);
            cp_v1::ensure_room(&path, needed).map_err(place)?;
            if create && manifest.version == 2 {
                cp_v1::create_target_dir(&path, owner).map_err(place)?;
            } else if create {
                std::fs::create_dir_all(&path)
                    .map_err(|e| place(AgentError::io("mkdir", &path, e)))?;
            }
            let chunks = ChunkReader::new(&dir, &manifest.chunks);
            unpack_into(chunks, &path, &Excludes::default(), owner)
                .map_err(|err| place(AgentError::from(err)))?;
            path
        }
    };
    remove_staging(&dir)?;
    Ok(landed)
}

/// Remove the staging directory named by `path` (its manifest, or the
/// directory itself). Removing one that is already gone succeeds.
pub fn abort(path: &Path) -> Result<(), UploadError> {
    let dir = if path
        .file_name()
        .is_some_and(|n| n == slicer_api::types::upload::MANIFEST_FILE)
    {
        path.parent().unwrap_or(Path::new("/"))
    } else {
        path
    };
    if !is_staging_dir(dir) {
        return Err(UploadError::NotStaging(dir.to_owned()));
    }
    remove_staging(dir)
}

fn remove_staging(dir: &Path) -> Result<(), UploadError> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(UploadError::Remove {
            path: dir.to_owned(),
            source: err,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};
    use slicer_api::types::{CopyMode, CopySemantics, CopySourceType, ManifestChunk};

    use super::*;
    use crate::upload::staging::chunk_path;

    /// Stage `parts` as chunks of an upload to `dest` and write its manifest.
    fn stage(
        root: &Path,
        parts: &[&[u8]],
        dest: &Path,
        mode: CopyMode,
    ) -> (PathBuf, UploadManifest) {
        let dir = root.join(".slicer-upload-test1");
        std::fs::create_dir_all(dir.join("chunks")).unwrap();
        let chunks = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let index = i as u64;
                std::fs::write(chunk_path(&dir, index), part).unwrap();
                ManifestChunk {
                    index,
                    size: part.len() as u64,
                    sha256: format!("{:x}", Sha256::digest(part)),
                }
            })
            .collect::<Vec<_>>();
        let kind = if mode.is_tar() {
            CopySourceType::Directory
        } else {
            CopySourceType::File
        };
        let manifest = UploadManifest {
            version: 2,
            mode,
            destination: dest.display().to_string(),
            uid: 0,
            gid: 0,
            permissions: Some("0640".into()),
            size: chunks.iter().map(|c| c.size).sum(),
            unpacked_size: None,
            copy_semantics: Some(CopySemantics::CpV1),
            source_name: Some("big.bin".into()),
            source_type: Some(kind),
            copy_contents: false,
            chunks,
        };
        write_manifest(&dir, &manifest);
        (dir.join("manifest.json"), manifest)
    }

    fn write_manifest(dir: &Path, manifest: &UploadManifest) {
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_vec(manifest).unwrap(),
        )
        .unwrap();
    }

    fn me() -> (Option<u32>, Option<u32>) {
        (
            Some(nix::unistd::getuid().as_raw()),
            Some(nix::unistd::getgid().as_raw()),
        )
    }

    #[test]
    fn chunks_assemble_into_an_existing_directory_and_the_staging_goes() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("into");
        std::fs::create_dir(&dest).unwrap();
        let (manifest, _) = stage(
            tmp.path(),
            &[b"hello ", b"chunked ", b"world"],
            &dest,
            CopyMode::Binary,
        );
        let (uid, gid) = me();
        let landed = finalise(&manifest, uid, gid).unwrap();
        assert_eq!(landed, dest.join("big.bin"));
        assert_eq!(std::fs::read(&landed).unwrap(), b"hello chunked world");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&landed).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert!(!manifest.parent().unwrap().exists());
    }

    #[test]
    fn a_bad_chunk_is_named_and_nothing_lands() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("out.bin");
        let (uid, gid) = me();

        let (manifest, mut m) = stage(tmp.path(), &[b"aaaa", b"bbbb"], &dest, CopyMode::Binary);
        m.chunks[1].sha256 = format!("{:x}", Sha256::digest(b"cccc"));
        write_manifest(manifest.parent().unwrap(), &m);
        let err = finalise(&manifest, uid, gid).unwrap_err();
        assert!(
            matches!(err, UploadError::ChunkSha256 { index: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chunk 1"), "{err}");

        m.chunks[1].sha256 = format!("{:x}", Sha256::digest(b"bbbb"));
        m.chunks[0].size = 3;
        m.size = 7;
        write_manifest(manifest.parent().unwrap(), &m);
        let err = finalise(&manifest, uid, gid).unwrap_err();
        assert!(
            matches!(
                err,
                UploadError::ChunkSize {
                    index: 0,
                    expected: 3,
                    actual: 4
                }
            ),
            "{err}"
        );

        m.chunks[0].size = 4;
        m.size = 8;
        write_manifest(manifest.parent().unwrap(), &m);
        std::fs::remove_file(chunk_path(manifest.parent().unwrap(), 1)).unwrap();
        let err = finalise(&manifest, uid, gid).unwrap_err();
        assert!(
            matches!(err, UploadError::MissingChunk { index: 1, .. }),
            "{err}"
        );

        m.chunks[1].sha256 = "not-hex".into();
        write_manifest(manifest.parent().unwrap(), &m);
        let err = finalise(&manifest, uid, gid).unwrap_err();
        assert!(matches!(err, UploadError::Invalid { .. }), "{err}");

        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            leftovers,
            [".slicer-upload-test1"],
            "only the staging dir is left"
        );
        abort(&manifest).unwrap();
        assert!(!manifest.parent().unwrap().exists());
        abort(&manifest).unwrap();
        assert!(matches!(abort(tmp.path()), Err(UploadError::NotStaging(_))));
    }

    #[test]
    fn a_tar_upload_is_verified_before_it_unpacks() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f.txt"), b"inside").unwrap();
        let tar =
            slicer_api::archive::pack_tree(Vec::new(), &src, None, &Excludes::default()).unwrap();
        let (head, tail) = tar.split_at(700);
        let dest = tmp.path().join("copy");
        let (manifest, mut m) = stage(tmp.path(), &[head, tail], &dest, CopyMode::Tar);
        let (uid, gid) = me();

        let good = m.chunks[1].sha256.clone();
        m.chunks[1].sha256 = format!("{:x}", Sha256::digest(b"other"));
        write_manifest(manifest.parent().unwrap(), &m);
        let err = finalise(&manifest, uid, gid).unwrap_err();
        assert!(
            matches!(err, UploadError::ChunkSha256 { index: 1, .. }),
            "{err}"
        );
        assert!(!dest.exists(), "nothing unpacked before verification");

        m.chunks[1].sha256 = good;
        write_manifest(manifest.parent().unwrap(), &m);
        finalise(&manifest, uid, gid).unwrap();
        assert_eq!(std::fs::read(dest.join("sub/f.txt")).unwrap(), b"inside");
    }
}
