//! cp-v1 placement in the guest: [`slicer_api::types::resolve_target`]
//! (the `cp -r` rules) over the real filesystem, and the free-space check
//! of `X-Slicer-Unpacked-Size`.

use std::path::{Component, Path, PathBuf};

use slicer_api::archive::{Owner, path_kind};
use slicer_api::types::{
    CopyMode, CopyQuery, CopySource, CopySourceType, CopyTarget, resolve_target,
};

use crate::error::AgentError;

/// The source a cp-v1 upload describes. `source_type` defaults from the
/// mode (`cp-v1-binary`: a file, `cp-v1-tar`: a directory) and must agree
/// with it.
pub fn upload_source(query: &CopyQuery) -> Result<CopySource, AgentError> {
    let from_mode = if query.mode.is_tar() {
        CopySourceType::Directory
    } else {
        CopySourceType::File
    };
    let source = query.source().unwrap_or(CopySource {
        kind: from_mode,
        name: query.source_name.clone().unwrap_or_default(),
    });
    if query.mode != CopyMode::CpV1Recursive && source.kind != from_mode {
        return Err(AgentError::BadQuery(format!(
            "mode {} cannot carry source_type {}",
            query.mode.as_str(),
            source.kind.as_str()
        )));
    }
    Ok(source)
}

/// Where an upload of `source` to `dest` goes, by the `cp -r` rules.
pub fn target(
    dest: &str,
    source: &CopySource,
    copy_contents: bool,
) -> Result<CopyTarget, AgentError> {
    resolve_target(dest, source, copy_contents, path_kind).map_err(AgentError::CopyTarget)
}

/// Create a target directory that does not exist yet: only the last
/// component, as `cp -r` does (a missing parent is 404), owned by `owner`.
pub fn create_target_dir(path: &Path, owner: Owner) -> Result<(), AgentError> {
    std::fs::create_dir(path).map_err(|e| AgentError::io("mkdir", path, e))?;
    super::paths::apply_owner_and_mode(path, None, owner.uid, owner.gid)
}

/// Fail with [`AgentError::NoSpace`] when `needed` bytes do not fit on
/// the filesystem that would hold `path` (its nearest existing ancestor).
pub fn ensure_room(path: &Path, needed: u64) -> Result<(), AgentError> {
    let mut at = path;
    while !at.exists() {
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    let stat = nix::sys::statvfs::statvfs(at)
        .map_err(|e| AgentError::io("statvfs", at, std::io::Error::from(e)))?;
    let free = stat.blocks_available().saturating_mul(stat.fragment_size());
    if needed > free {
        return Err(AgentError::NoSpace {
            needed,
            path: at.to_owned(),
            free,
        });
    }
    Ok(())
}

/// The base name cp-v1 reports for a download of `path` (`""` for `/`).
pub fn source_name(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(PathBuf::from(name)),
            _ => None,
        })
        .next_back()
        .map(|name| name.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(kind: CopySourceType, name: &str) -> CopySource {
        CopySource {
            kind,
            name: name.into(),
        }
    }

    /// The `cp -r` table on a real directory tree.
    #[test]
    fn placement_follows_cp_r_on_disk() {
        use CopySourceType::{Directory as D, File as F};
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("dst/already")).unwrap();
        std::fs::write(root.join("plain"), b"x").unwrap();
        let at = |rel: &str| root.join(rel).display().to_string();
        let dir = |rel: &str, create| CopyTarget::Directory {
            path: root.join(rel),
            create,
        };
        let ok = [
            (
                "file -> dir",
                at("dst"),
                source(F, "a.txt"),
                false,
                CopyTarget::File(root.join("dst/a.txt")),
            ),
            (
                "file -> new path",
                at("new.txt"),
                source(F, "a.txt"),
                false,
                CopyTarget::File(root.join("new.txt")),
            ),
            (
                "file -> file",
                at("plain"),
                source(F, "a.txt"),
                false,
                CopyTarget::File(root.join("plain")),
            ),
            (
                "dir -> existing dir",
                at("dst"),
                source(D, "src"),
                false,
                dir("dst/src", true),
            ),
            (
                "dir -> existing dir/name",
                at("dst"),
                source(D, "already"),
                false,
                dir("dst/already", false),
            ),
            (
                "dir -> new dir",
                at("fresh"),
                source(D, "src"),
                false,
                dir("fresh", true),
            ),
            (
                "dir/. -> existing dir",
                at("dst"),
                source(D, "src"),
                true,
                dir("dst", false),
            ),
            (
                "dir/. -> new dir",
                at("fresh"),
                source(D, ""),
                true,
                dir("fresh", true),
            ),
        ];
        for (case, dest, source, contents, want) in ok {
            assert_eq!(target(&dest, &source, contents).unwrap(), want, "{case}");
        }
        let refused = [
            ("dir -> file", at("plain"), source(D, "src"), false),
            ("file/. ", at("dst"), source(F, "a"), true),
            (
                "file -> missing dir/",
                format!("{}/", at("nodir")),
                source(F, "a"),
                false,
            ),
            ("traversing source name", at("dst"), source(D, ".."), false),
            (
                "file over a directory",
                at("dst"),
                source(F, "already"),
                false,
            ),
        ];
        for (case, dest, source, contents) in refused {
            let err = target(&dest, &source, contents).unwrap_err();
            assert!(matches!(err, AgentError::CopyTarget(_)), "{case}: {err}");
        }
    }

    #[test]
    fn sources_default_from_the_mode_and_must_agree() {
        let query = |mode, kind| CopyQuery {
            mode,
            source_type: kind,
            source_name: Some("x".into()),
            ..CopyQuery::default()
        };
        let file = upload_source(&query(CopyMode::CpV1Binary, None)).unwrap();
        assert_eq!(file.kind, CopySourceType::File);
        let dir = upload_source(&query(CopyMode::CpV1Tar, None)).unwrap();
        assert_eq!(dir.kind, CopySourceType::Directory);
        assert!(
            upload_source(&query(
                CopyMode::CpV1Binary,
                Some(CopySourceType::Directory)
            ))
            .is_err()
        );
    }

    #[test]
    fn room_is_checked_against_the_nearest_existing_ancestor() {
        let tmp = tempfile::tempdir().unwrap();
        ensure_room(&tmp.path().join("a/b/c"), 1).unwrap();
        let err = ensure_room(&tmp.path().join("a"), u64::MAX).unwrap_err();
        assert!(
            err.to_string().starts_with("X-Slicer-Unpacked-Size"),
            "{err}"
        );
        assert_eq!(source_name(Path::new("/srv/app/.")), "app");
        assert_eq!(source_name(Path::new("/")), "");
    }
}
