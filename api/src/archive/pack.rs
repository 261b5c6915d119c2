//! Packing a file or a directory tree into a tar stream, minus excludes.

use std::fs::Metadata;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Excludes;

/// Write `src` to `writer` as an uncompressed tar and finish it.
///
/// A directory's entries are named relative to it and put under `prefix`
/// (`prefix = None`: the contents alone, as cp-v1 sends them; `Some(name)`:
/// a top entry `name/` first, as the legacy `tar` download does). A file
/// is one entry named `prefix`, else its base name. Symlinks are stored
/// as symlinks; excluded paths and their subtrees are left out.
pub fn pack_tree<W: Write>(
    writer: W,
    src: &Path,
    prefix: Option<&Path>,
    excludes: &Excludes,
) -> std::io::Result<W> {
    let mut builder = tar::Builder::new(writer);
    builder.follow_symlinks(false);
    let meta = std::fs::metadata(src)?;
    if meta.is_dir() {
        if let Some(prefix) = prefix {
            builder.append_dir(prefix, src)?;
        }
        let base = prefix.map(Path::to_path_buf).unwrap_or_default();
        walk(src, excludes, &mut |relative, path, meta| {
            let name = base.join(relative);
            if meta.is_dir() {
                builder.append_dir(&name, path)
            } else {
                builder.append_path_with_name(path, &name)
            }
        })?;
    } else {
        let name = match prefix {
            Some(prefix) => prefix.to_path_buf(),
            None => src.file_name().map(PathBuf::from).unwrap_or_default(),
        };
        let mut file = std::fs::File::open(src)?;
        builder.append_file(name, &mut file)?;
    }
    builder.into_inner()
}

/// Bytes of the regular files [`pack_tree`] would send for `src`: what
/// `X-Slicer-Unpacked-Size` announces.
pub fn unpacked_size_bytes(src: &Path, excludes: &Excludes) -> std::io::Result<u64> {
    let meta = std::fs::metadata(src)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0u64;
    walk(src, excludes, &mut |_, _, meta| {
        if meta.is_file() {
            total = total.saturating_add(meta.len());
        }
        Ok(())
    })?;
    Ok(total)
}

type Visit<'a> = dyn FnMut(&Path, &Path, &Metadata) -> std::io::Result<()> + 'a;

/// Visit everything under `root` (not `root` itself) in name order,
/// parents before children, skipping excluded subtrees; symlinks are not
/// followed.
fn walk(root: &Path, excludes: &Excludes, visit: &mut Visit<'_>) -> std::io::Result<()> {
    let mut stack = vec![PathBuf::new()];
    while let Some(relative_dir) = stack.pop() {
        let dir = root.join(&relative_dir);
        let mut names: Vec<_> = std::fs::read_dir(&dir)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            let relative = relative_dir.join(&name);
            if excludes.excludes(&relative) {
                continue;
            }
            let path = root.join(&relative);
            let meta = std::fs::symlink_metadata(&path)?;
            visit(&relative, &path, &meta)?;
            if meta.is_dir() {
                subdirs.push(relative);
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar: Vec<u8>) -> Vec<String> {
        let mut archive = tar::Archive::new(std::io::Cursor::new(tar));
        archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn contents_prefixed_trees_files_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a/skip")).unwrap();
        std::fs::write(src.join("a/x.txt"), b"12345").unwrap();
        std::fs::write(src.join("a/skip/y"), b"1").unwrap();
        std::fs::write(src.join("b.log"), b"123").unwrap();
        let none = Excludes::default();
        let excludes = Excludes::new(&["*.log", "a/skip"]);

        let contents = pack_tree(Vec::new(), &src, None, &excludes).unwrap();
        assert_eq!(names(contents), ["a", "a/x.txt"]);
        let prefixed = pack_tree(Vec::new(), &src, Some(Path::new("src")), &none).unwrap();
        assert_eq!(
            names(prefixed),
            [
                "src",
                "src/a",
                "src/b.log",
                "src/a/skip",
                "src/a/x.txt",
                "src/a/skip/y"
            ]
        );
        let file = pack_tree(Vec::new(), &src.join("b.log"), None, &none).unwrap();
        assert_eq!(names(file), ["b.log"]);
        assert_eq!(unpacked_size_bytes(&src, &excludes).unwrap(), 5);
        assert_eq!(unpacked_size_bytes(&src, &none).unwrap(), 9);
    }
}
