//! Where a cp-v1 copy lands: the rules of GNU `cp -r`, as a pure function
//! over what exists at the destination. The agent applies it to uploads
//! (and `slicer-agent upload finalise`), the CLI to downloads, so both
//! directions place copies the same way.
//!
//! | Source | Destination | Result |
//! |---|---|---|
//! | file | existing directory | `dest/<source_name>` |
//! | file | existing file, or missing | `dest` (replaced) |
//! | file | missing, written `dest/` | error: not a directory |
//! | directory | existing directory | `dest/<source_name>` (merged if it exists) |
//! | directory | missing | `dest` (created; its parent must exist) |
//! | directory, `copy_contents` | existing directory | its contents merged into `dest` |
//! | directory, `copy_contents` | missing | `dest` (created) |
//! | directory | existing non-directory | error: cannot overwrite non-directory |
//! | file, `copy_contents` | any | error: `SRC/.` needs a directory |
//!
//! Where upstream says nothing, GNU `cp -r` decides: a missing parent is
//! not created (`cp -r a x/y/z` fails when `x/y` is missing), a file does
//! not replace a directory, and an existing `dest/<source_name>`
//! directory is merged into rather than replaced.

use std::path::{Path, PathBuf};

use super::copy::{CopySource, CopySourceType, valid_source_name};

/// What exists at a path (symlinks followed, as `cp` follows the
/// destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Nothing.
    Missing,
    /// A directory.
    Directory,
    /// A file or anything else that is not a directory.
    Other,
}

/// Where a copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyTarget {
    /// Write the file at this path, replacing what is there.
    File(PathBuf),
    /// Put the directory's contents into this directory, creating it
    /// first when `create` is set.
    Directory {
        /// The directory.
        path: PathBuf,
        /// It does not exist yet.
        create: bool,
    },
}

/// Why a copy has nowhere to go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, displaydoc::Display)]
pub enum CopyTargetError {
    /// invalid source_name {0:?}: must be one path component, not . or ..
    SourceName(String),
    /// copy_contents (SRC/.) needs a directory source, not a file
    ContentsOfFile,
    /// destination {0} does not exist and names a directory (trailing /)
    NotADirectory(String),
    /// cannot overwrite non-directory {0} with a directory
    OverwriteNonDirectory(PathBuf),
    /// cannot overwrite directory {0} with a non-directory
    OverwriteDirectory(PathBuf),
}

/// Resolve `dest` (as given, so a trailing `/` is seen) for `source`,
/// asking `kind_of` what exists at a path.
pub fn resolve_target(
    dest: &str,
    source: &CopySource,
    copy_contents: bool,
    kind_of: impl Fn(&Path) -> PathKind,
) -> Result<CopyTarget, CopyTargetError> {
    let path = PathBuf::from(dest);
    let named = || {
        if valid_source_name(&source.name) {
            Ok(path.join(&source.name))
        } else {
            Err(CopyTargetError::SourceName(source.name.clone()))
        }
    };
    match (source.kind, copy_contents, kind_of(&path)) {
        (CopySourceType::File, true, _) => Err(CopyTargetError::ContentsOfFile),
        (CopySourceType::File, false, PathKind::Directory) => {
            let inside = named()?;
            match kind_of(&inside) {
                PathKind::Directory => Err(CopyTargetError::OverwriteDirectory(inside)),
                _ => Ok(CopyTarget::File(inside)),
            }
        }
        (CopySourceType::File, false, PathKind::Missing) if dest.ends_with('/') => {
            Err(CopyTargetError::NotADirectory(dest.to_owned()))
        }
        (CopySourceType::File, false, _) => Ok(CopyTarget::File(path)),
        (CopySourceType::Directory, _, PathKind::Other) => {
            Err(CopyTargetError::OverwriteNonDirectory(path))
        }
        (CopySourceType::Directory, _, PathKind::Missing) => {
            Ok(CopyTarget::Directory { path, create: true })
        }
        (CopySourceType::Directory, true, PathKind::Directory) => Ok(CopyTarget::Directory {
            path,
            create: false,
        }),
        (CopySourceType::Directory, false, PathKind::Directory) => {
            let inside = named()?;
            match kind_of(&inside) {
                PathKind::Other => Err(CopyTargetError::OverwriteNonDirectory(inside)),
                PathKind::Missing => Ok(CopyTarget::Directory {
                    path: inside,
                    create: true,
                }),
                PathKind::Directory => Ok(CopyTarget::Directory {
                    path: inside,
                    create: false,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: &Path) -> PathKind {
        match path.to_str() {
            Some("/d" | "/d/sub") => PathKind::Directory,
            Some("/f" | "/d/f") => PathKind::Other,
            _ => PathKind::Missing,
        }
    }

    fn source(kind: CopySourceType, name: &str) -> CopySource {
        CopySource {
            kind,
            name: name.into(),
        }
    }

    #[test]
    fn targets_follow_cp_r() {
        use CopySourceType::{Directory as D, File as F};
        let dir = |p: &str, create| {
            Ok(CopyTarget::Directory {
                path: p.into(),
                create,
            })
        };
        let file = |p: &str| Ok(CopyTarget::File(p.into()));
        let cases = [
            ("/d", source(F, "a.txt"), false, file("/d/a.txt")),
            ("/f", source(F, "a.txt"), false, file("/f")),
            ("/new", source(F, "a.txt"), false, file("/new")),
            (
                "/new/",
                source(F, "a.txt"),
                false,
                Err(CopyTargetError::NotADirectory("/new/".into())),
            ),
            (
                "/d",
                source(F, "sub"),
                false,
                Err(CopyTargetError::OverwriteDirectory("/d/sub".into())),
            ),
            (
                "/d",
                source(F, "x"),
                true,
                Err(CopyTargetError::ContentsOfFile),
            ),
            ("/d", source(D, "src"), false, dir("/d/src", true)),
            ("/d", source(D, "sub"), false, dir("/d/sub", false)),
            (
                "/d",
                source(D, "f"),
                false,
                Err(CopyTargetError::OverwriteNonDirectory("/d/f".into())),
            ),
            ("/new", source(D, "src"), false, dir("/new", true)),
            ("/d", source(D, "src"), true, dir("/d", false)),
            ("/new", source(D, ""), true, dir("/new", true)),
            (
                "/f",
                source(D, "src"),
                false,
                Err(CopyTargetError::OverwriteNonDirectory("/f".into())),
            ),
            (
                "/d",
                source(D, ".."),
                false,
                Err(CopyTargetError::SourceName("..".into())),
            ),
        ];
        for (dest, source, contents, want) in cases {
            assert_eq!(
                resolve_target(dest, &source, contents, kind),
                want,
                "{dest} {source:?} contents={contents}"
            );
        }
    }
}
