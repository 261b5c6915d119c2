//! [`Watcher`]: inotify watches on the requested paths (and, recursively,
//! on every directory below them, including ones created later), yielding
//! changes as wire event types.
//!
//! nix's inotify wrapper is used rather than the `inotify` crate: nix is
//! already a dependency with the same raw API, the crate would only add a
//! second copy of the bindings, and the non-blocking fd plugs straight into
//! tokio's `AsyncFd`.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, InotifyEvent, WatchDescriptor};
use slicer_api::types::FsWatchEventType;
use tokio::io::unix::AsyncFd;

use crate::error::AgentError;

/// One change seen by inotify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// What happened.
    pub kind: FsWatchEventType,
    /// Full path of the object.
    pub path: PathBuf,
}

#[derive(Debug)]
struct InotifyFd(Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

#[allow(unsafe_code)]
fn register(fd: InotifyFd) -> std::io::Result<AsyncFd<InotifyFd>> {
    // SAFETY: InotifyFd owns the inotify fd (nix's Inotify closes it on
    // drop), so it stays open and unchanged for the AsyncFd's lifetime.
    unsafe { AsyncFd::register(fd) }.map_err(std::io::Error::from)
}

/// inotify watches for one watch request.
#[derive(Debug)]
pub struct Watcher {
    fd: AsyncFd<InotifyFd>,
    watches: HashMap<WatchDescriptor, PathBuf>,
    recursive: bool,
}

fn mask() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVE_SELF
}

/// The wire type of an inotify mask, if it is one we report.
pub fn kind_of(mask: AddWatchFlags) -> Option<FsWatchEventType> {
    if mask.contains(AddWatchFlags::IN_CREATE) {
        Some(FsWatchEventType::Create)
    } else if mask.contains(AddWatchFlags::IN_MODIFY) {
        Some(FsWatchEventType::Write)
    } else if mask.intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_DELETE_SELF) {
        Some(FsWatchEventType::Remove)
    } else if mask.intersects(
        AddWatchFlags::IN_MOVED_FROM | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_MOVE_SELF,
    ) {
        Some(FsWatchEventType::Rename)
    } else if mask.contains(AddWatchFlags::IN_ATTRIB) {
        Some(FsWatchEventType::Chmod)
    } else {
        None
    }
}

impl Watcher {
    /// Watch `paths` (each must exist: 404 otherwise).
    pub fn new(paths: &[PathBuf], recursive: bool) -> Result<Self, AgentError> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(|e| AgentError::io("inotify_init", "inotify", e.into()))?;
        let fd = register(InotifyFd(inotify))
            .map_err(|e| AgentError::io("register inotify fd", "inotify", e))?;
        let mut watcher = Self {
            fd,
            watches: HashMap::new(),
            recursive,
        };
        for path in paths {
            std::fs::symlink_metadata(path).map_err(|e| AgentError::io("stat", path, e))?;
            watcher.add_tree(path)?;
        }
        Ok(watcher)
    }

    fn add(&mut self, path: &Path) -> Result<(), AgentError> {
        let wd = self
            .fd
            .get_ref()
            .0
            .add_watch(path, mask())
            .map_err(|e| AgentError::io("inotify_add_watch", path, e.into()))?;
        self.watches.insert(wd, path.to_owned());
        Ok(())
    }

    /// Watch `path`, and with `recursive` every directory below it.
    fn add_tree(&mut self, path: &Path) -> Result<(), AgentError> {
        self.add(path)?;
        if !self.recursive || !path.is_dir() {
            return Ok(());
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                // A directory that vanished meanwhile is not an error.
                let _ = self.add_tree(&entry.path());
            }
        }
        Ok(())
    }

    fn translate(&mut self, event: InotifyEvent) -> Option<RawEvent> {
        let base = self.watches.get(&event.wd)?.clone();
        if event.mask.contains(AddWatchFlags::IN_IGNORED) {
            self.watches.remove(&event.wd);
            return None;
        }
        let path = match &event.name {
            Some(name) => base.join(name),
            None => base,
        };
        let kind = kind_of(event.mask)?;
        let is_dir = event.mask.contains(AddWatchFlags::IN_ISDIR);
        if self.recursive
            && is_dir
            && event.name.is_some()
            && matches!(kind, FsWatchEventType::Create | FsWatchEventType::Rename)
            && path.is_dir()
        {
            let _ = self.add_tree(&path);
        }
        Some(RawEvent { kind, path })
    }

    /// Wait for the next batch of changes.
    pub async fn next_events(&mut self) -> Result<Vec<RawEvent>, AgentError> {
        loop {
            let mut guard = self
                .fd
                .readable()
                .await
                .map_err(|e| AgentError::io("wait for inotify", "inotify", e))?;
            let read = guard.try_io(|fd| match fd.get_ref().0.read_events() {
                Ok(events) => Ok(events),
                Err(Errno::EAGAIN) => Err(std::io::ErrorKind::WouldBlock.into()),
                Err(errno) => Err(errno.into()),
            });
            match read {
                Ok(Ok(events)) => {
                    return Ok(events
                        .into_iter()
                        .filter_map(|e| self.translate(e))
                        .collect());
                }
                Ok(Err(e)) => return Err(AgentError::io("read inotify events", "inotify", e)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Whether any watch is still alive (all watched paths may be gone).
    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inotify_masks_map_to_wire_types() {
        let t = |m| kind_of(m);
        assert_eq!(
            t(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_ISDIR),
            Some(FsWatchEventType::Create)
        );
        assert_eq!(t(AddWatchFlags::IN_MODIFY), Some(FsWatchEventType::Write));
        assert_eq!(
            t(AddWatchFlags::IN_DELETE_SELF),
            Some(FsWatchEventType::Remove)
        );
        assert_eq!(
            t(AddWatchFlags::IN_MOVED_TO),
            Some(FsWatchEventType::Rename)
        );
        assert_eq!(t(AddWatchFlags::IN_ATTRIB), Some(FsWatchEventType::Chmod));
        assert_eq!(t(AddWatchFlags::IN_IGNORED), None);
    }

    #[tokio::test]
    async fn sees_create_write_and_remove_in_new_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Watcher::new(&[dir.path().to_owned()], true).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let first = w.next_events().await.unwrap();
        assert_eq!(first[0].kind, FsWatchEventType::Create);
        let file = dir.path().join("sub/f");
        std::fs::write(&file, b"x").unwrap();
        let mut seen = Vec::new();
        while !seen
            .iter()
            .any(|e: &RawEvent| e.kind == FsWatchEventType::Write)
        {
            seen.extend(w.next_events().await.unwrap());
        }
        assert!(seen.iter().all(|e| e.path == file));
        std::fs::remove_file(&file).unwrap();
        let gone = w.next_events().await.unwrap();
        assert_eq!(gone[0].kind, FsWatchEventType::Remove);
        assert!(Watcher::new(&[dir.path().join("missing")], false).is_err());
    }
}
