//! Private network namespaces for tests that create bridges, TAPs and
//! guests on them, so they never touch the host's links.

use std::future::Future;
use std::os::unix::fs::MetadataExt;

use anyhow::Context;
use nix::sched::CloneFlags;

/// Run `scenario` on a new thread that first moves into a fresh network
/// namespace, on a current-thread tokio runtime.
///
/// `unshare(CLONE_NEWNET)` changes only the calling thread, so everything
/// the scenario makes on that thread (netlink sockets, TAPs, TCP sockets)
/// and every process it spawns (QEMU and its sidecars, which fork from it)
/// lives in that namespace. A panic in the scenario is re-raised here.
pub fn in_private_netns<F, Fut, T>(scenario: F) -> anyhow::Result<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<T>>,
    T: Send + 'static,
{
    let thread = std::thread::spawn(move || {
        nix::sched::unshare(CloneFlags::CLONE_NEWNET)
            .context("unshare(CLONE_NEWNET) failed: these tests need root (CAP_SYS_ADMIN)")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot build a tokio runtime")?;
        runtime.block_on(scenario())
    });
    match thread.join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The network namespace inode of the calling thread.
pub fn current_netns() -> anyhow::Result<u64> {
    netns_of("/proc/thread-self/ns/net")
}

/// The network namespace inode of process `pid`.
pub fn netns_of_process(pid: i32) -> anyhow::Result<u64> {
    netns_of(&format!("/proc/{pid}/ns/net"))
}

fn netns_of(path: &str) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("cannot stat {path}"))?
        .ino())
}
