//! Running a test scenario in a private network namespace, so tests that
//! create bridges and TAPs never touch the host's links.

use std::future::Future;

use nix::sched::CloneFlags;

/// Run `scenario` on a new thread that first moves into a fresh network
/// namespace (`unshare` is per thread for `CLONE_NEWNET`), on a
/// current-thread runtime, so every socket, TAP and child process it makes
/// stays in that namespace. The namespace disappears with the thread.
pub(super) fn in_private_netns<F, Fut, T>(scenario: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let thread = std::thread::spawn(move || {
        nix::sched::unshare(CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET) failed: these tests need root (CAP_SYS_ADMIN)");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot build a tokio runtime");
        runtime.block_on(scenario())
    });
    match thread.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The inode of the calling thread's network namespace.
pub(super) fn netns_inode() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net")
        .expect("cannot stat /proc/thread-self/ns/net")
        .ino()
}
