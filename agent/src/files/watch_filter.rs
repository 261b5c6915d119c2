//! [`WatchFilter`]: which watch events a client asked for (`events` and
//! `patterns`), and [`Debouncer`], which coalesces bursts of one type and
//! path into one event.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use slicer_api::types::FsWatchEventType;

use crate::error::AgentError;
use slicer_api::glob::glob_match;

/// The event types and path globs a watch reports.
#[derive(Debug, Clone)]
pub struct WatchFilter {
    types: HashSet<FsWatchEventType>,
    patterns: Vec<String>,
}

impl WatchFilter {
    /// A filter from the `events` and `patterns` query items; no events
    /// means all, no patterns means every path.
    pub fn new(events: &[String], patterns: &[String]) -> Result<Self, AgentError> {
        let mut types = HashSet::new();
        for item in events.iter().flat_map(|e| e.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            types.extend(FsWatchEventType::parse_filter(item).ok_or_else(|| {
                AgentError::BadQuery(format!(
                    "unknown watch event {item:?}: expected create, write, remove, rename, chmod or all"
                ))
            })?);
        }
        if types.is_empty() {
            types.extend(FsWatchEventType::ALL);
        }
        Ok(Self {
            types,
            patterns: patterns.iter().filter(|p| !p.is_empty()).cloned().collect(),
        })
    }

    /// Whether an event of `kind` on `path` is reported. Patterns match the
    /// full path or the base name.
    pub fn accepts(&self, kind: FsWatchEventType, path: &Path) -> bool {
        if !self.types.contains(&kind) {
            return false;
        }
        if self.patterns.is_empty() {
            return true;
        }
        let full = path.to_string_lossy();
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        self.patterns
            .iter()
            .any(|p| glob_match(p, &full) || glob_match(p, &base))
    }
}

/// Coalesces events of the same type and path seen within `window` of the
/// first one into a single event, sent when the window closes.
#[derive(Debug)]
pub struct Debouncer {
    window: Duration,
    pending: BTreeMap<(FsWatchEventType, String), Instant>,
}

impl Debouncer {
    /// A debouncer with `window` (zero sends every event at once).
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            pending: BTreeMap::new(),
        }
    }

    /// Record an event seen at `now`.
    pub fn push(&mut self, kind: FsWatchEventType, path: String, now: Instant) {
        self.pending
            .entry((kind, path))
            .or_insert(now + self.window);
    }

    /// When the earliest pending event is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.values().min().copied()
    }

    /// Remove and return the events due at `now`, earliest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<(FsWatchEventType, String)> {
        let mut due: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(key, at)| (*at, key.clone()))
            .collect();
        due.sort();
        for (_, key) in &due {
            self.pending.remove(key);
        }
        due.into_iter().map(|(_, key)| key).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_by_type_and_pattern() {
        let f = WatchFilter::new(&["write,create".into()], &["*.txt".into()]).unwrap();
        assert!(f.accepts(FsWatchEventType::Write, Path::new("/a/b.txt")));
        assert!(!f.accepts(FsWatchEventType::Remove, Path::new("/a/b.txt")));
        assert!(!f.accepts(FsWatchEventType::Write, Path::new("/a/b.log")));
        let full = WatchFilter::new(&[], &["/a/**".into()]).unwrap();
        assert!(full.accepts(FsWatchEventType::Chmod, Path::new("/a/x/y")));
        assert!(WatchFilter::new(&["bogus".into()], &[]).is_err());
    }

    #[test]
    fn bursts_of_one_type_and_path_coalesce() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Duration::from_millis(200));
        for i in 0..5 {
            d.push(
                FsWatchEventType::Write,
                "/f".into(),
                t0 + Duration::from_millis(i * 10),
            );
        }
        d.push(
            FsWatchEventType::Create,
            "/f".into(),
            t0 + Duration::from_millis(50),
        );
        d.push(
            FsWatchEventType::Write,
            "/g".into(),
            t0 + Duration::from_millis(60),
        );
        assert!(d.take_due(t0 + Duration::from_millis(100)).is_empty());
        assert_eq!(d.next_due(), Some(t0 + Duration::from_millis(200)));
        assert_eq!(
            d.take_due(t0 + Duration::from_millis(260)),
            vec![
                (FsWatchEventType::Write, "/f".to_owned()),
                (FsWatchEventType::Create, "/f".to_owned()),
                (FsWatchEventType::Write, "/g".to_owned()),
            ]
        );
        assert_eq!(d.next_due(), None);
        let mut zero = Debouncer::new(Duration::ZERO);
        zero.push(FsWatchEventType::Write, "/f".into(), t0);
        assert_eq!(zero.take_due(t0).len(), 1);
    }
}
