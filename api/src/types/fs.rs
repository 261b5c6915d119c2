//! Filesystem operations and watch: `/vm/{h}/fs/…` (`reference/slicer.md`
//! §7.6, §7.7), relayed to the agent unchanged.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kind of object an [`FsEntry`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FsEntryType {
    /// A regular file (or anything that is not a directory or symlink).
    File,
    /// A directory.
    Directory,
    /// A symbolic link (never followed).
    Symlink,
}

/// One directory entry or stat result (`FsEntry` upstream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsEntry {
    /// Base name (`/` for the root).
    pub name: String,
    /// Kind of object.
    #[serde(rename = "type")]
    pub kind: FsEntryType,
    /// Size in bytes.
    pub size: i64,
    /// Modification time, Unix seconds.
    pub mtime: i64,
    /// Permission bits as an octal string such as `0644`.
    pub mode: String,
}

/// Query of `GET /fs/readdir` and `GET /fs/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsPathQuery {
    /// Absolute path in the guest.
    pub path: String,
}

/// Query of `DELETE /fs/remove`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsRemoveQuery {
    /// Absolute path in the guest.
    pub path: String,
    /// Remove a directory with everything in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive: Option<bool>,
}

/// Body of `POST /fs/mkdir`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsMkdirRequest {
    /// Absolute path of the directory to create.
    pub path: String,
    /// Create missing parents too, and accept an existing directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive: Option<bool>,
    /// Octal mode such as `0755` (default `0755`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// Answer to mkdir and remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsPathResponse {
    /// The path acted on.
    pub path: String,
}

/// The change a watch event reports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FsWatchEventType {
    /// A file or directory appeared.
    Create,
    /// A file's content changed.
    Write,
    /// A file or directory was deleted.
    Remove,
    /// A file or directory was moved from or to here.
    Rename,
    /// Permissions or other metadata changed.
    Chmod,
}

impl FsWatchEventType {
    /// Every type, the meaning of `events=all` and of no `events`.
    pub const ALL: [Self; 5] = [
        Self::Create,
        Self::Write,
        Self::Remove,
        Self::Rename,
        Self::Chmod,
    ];

    /// Parse one `events` item; `all` yields every type.
    pub fn parse_filter(item: &str) -> Option<Vec<Self>> {
        Some(match item {
            "all" => Self::ALL.to_vec(),
            "create" => vec![Self::Create],
            "write" => vec![Self::Write],
            "remove" => vec![Self::Remove],
            "rename" => vec![Self::Rename],
            "chmod" => vec![Self::Chmod],
            _ => return None,
        })
    }
}

/// Query of `GET /fs/watch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsWatchQuery {
    /// Paths to watch (at least one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Globs matched against the full path and the base name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
    /// Event types (`create`, `write`, `remove`, `rename`, `chmod`, `all`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Watch subdirectories, including ones created later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive: Option<bool>,
    /// Close after the first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_shot: Option<bool>,
    /// Go duration coalescing bursts of one type and path (default `200ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce: Option<String>,
    /// Go duration after which the stream closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Close after this many events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
    /// Accepted for compatibility; upstream does not describe it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

/// The `data` of one `event: watch` server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsWatchEvent {
    /// Per-connection sequence number, also the SSE `id`.
    pub id: u64,
    /// What changed.
    #[serde(rename = "type")]
    pub kind: FsWatchEventType,
    /// Full path of the object that changed.
    pub path: String,
    /// RFC 3339 time the change was seen.
    pub timestamp: String,
    /// Size of the object when the event was sent (0 when gone).
    pub size: i64,
    /// Whether the object is a directory.
    #[serde(rename = "isDir")]
    pub is_dir: bool,
    /// Extra explanation, rarely present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::query::from_query;

    #[test]
    fn entry_uses_the_upstream_field_names() {
        let e = FsEntry {
            name: "a".into(),
            kind: FsEntryType::Directory,
            size: 4096,
            mtime: 1,
            mode: "0755".into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"name":"a","type":"directory","size":4096,"mtime":1,"mode":"0755"}"#
        );
    }

    #[test]
    fn watch_event_is_camel_case_is_dir() {
        let e = FsWatchEvent {
            id: 7,
            kind: FsWatchEventType::Write,
            path: "/a".into(),
            timestamp: "t".into(),
            size: 3,
            is_dir: false,
            message: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"id":7,"type":"write","path":"/a","timestamp":"t","size":3,"isDir":false}"#
        );
    }

    #[test]
    fn watch_query_repeats_paths() {
        let q: FsWatchQuery =
            from_query("paths=/a&paths=/b&events=write&recursive=true&debounce=1s").unwrap();
        assert_eq!(q.paths, vec!["/a", "/b"]);
        assert_eq!(q.events, vec!["write"]);
        assert_eq!(q.debounce.as_deref(), Some("1s"));
        assert_eq!(FsWatchEventType::parse_filter("all").unwrap().len(), 5);
        assert!(FsWatchEventType::parse_filter("bogus").is_none());
    }
}
