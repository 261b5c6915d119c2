//! The registry of processes the agent spawned, so that PID 1's zombie
//! reaper never steals their exit status from the task waiting on them.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, OnceLock};

fn registry() -> &'static Mutex<HashSet<i32>> {
    static REGISTRY: OnceLock<Mutex<HashSet<i32>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Hold this while spawning and registering a child, and while reaping, so
/// the two never interleave.
pub fn lock() -> MutexGuard<'static, HashSet<i32>> {
    registry()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Forget a child once its status has been collected.
pub fn forget(pid: i32) {
    lock().remove(&pid);
}

/// Spawn `command` and register its pid under the registry lock.
pub fn spawn(command: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    let mut children = lock();
    let child = command.spawn()?;
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        children.insert(pid);
    }
    Ok(child)
}
