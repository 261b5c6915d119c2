//! [`Excludes`]: the `exclude` globs of a copy, matched against paths
//! relative to the copy's source.

use std::path::Path;

use crate::glob::glob_match;

/// A set of exclude globs, as Slicer's clients apply them: `./`, leading
/// and trailing `/` are dropped; a pattern without `/` matches any base
/// name (`*.log`, `target`); one with `/` matches the relative path (`*`
/// stays in one component, `**` crosses them, `**/x` also matches `x`).
/// An excluded directory takes its whole subtree with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excludes {
    patterns: Vec<String>,
}

impl Excludes {
    /// The set of `patterns`; blank ones are ignored.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Self {
        let patterns = patterns
            .iter()
            .map(|p| {
                let p = p.as_ref().trim();
                let p = p.strip_prefix("./").unwrap_or(p);
                p.trim_matches('/').to_owned()
            })
            .filter(|p| !p.is_empty())
            .collect();
        Self { patterns }
    }

    /// Whether nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `relative` (a path inside the source) or one of its
    /// parents is excluded.
    pub fn excludes(&self, relative: &Path) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let mut prefix = String::new();
        for part in relative.components() {
            let std::path::Component::Normal(part) = part else {
                continue;
            };
            let part = part.to_string_lossy();
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(&part);
            if self.patterns.iter().any(|p| matches(p, &prefix, &part)) {
                return true;
            }
        }
        false
    }
}

fn matches(pattern: &str, path: &str, base: &str) -> bool {
    if pattern.contains('/') {
        glob_match(pattern, path)
            || pattern
                .strip_prefix("**/")
                .is_some_and(|rest| glob_match(rest, path))
    } else {
        glob_match(pattern, base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_name_and_path_patterns() {
        let set = Excludes::new(&["*.log", "./target/", "docs/*.md", "**/cache", " "]);
        assert!(set.excludes(Path::new("a.log")));
        assert!(set.excludes(Path::new("deep/er/b.log")));
        assert!(set.excludes(Path::new("target")));
        assert!(set.excludes(Path::new("target/debug/x")));
        assert!(set.excludes(Path::new("sub/target")));
        assert!(set.excludes(Path::new("docs/a.md")));
        assert!(!set.excludes(Path::new("docs/x/a.md")));
        assert!(set.excludes(Path::new("cache")));
        assert!(set.excludes(Path::new("x/y/cache/z")));
        assert!(!set.excludes(Path::new("src/main.rs")));
        assert!(!Excludes::new::<&str>(&[]).excludes(Path::new("a.log")));
    }
}
