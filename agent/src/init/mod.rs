//! What the agent does as the guest's init (PID 1 in the `min` image), and
//! the guest settings it applies in every image.

pub mod cmdline;
pub mod mounts;
pub mod network;
pub mod poweroff;
pub mod reaper;

/// Whether this process is the guest's init.
pub fn is_pid1() -> bool {
    std::process::id() == 1
}

/// Bring the guest up: filesystems (as PID 1), hostname and network from
/// the kernel command line. Problems are logged, never fatal: a guest
/// without network still answers over vsock.
pub async fn boot() {
    if is_pid1() {
        mounts::mount_all();
        reaper::start();
        poweroff::on_signals();
    }
    let args = cmdline::GuestArgs::from_proc();
    if let Some(hostname) = &args.hostname
        && let Err(err) = nix::unistd::sethostname(hostname)
    {
        tracing::warn!(%hostname, error = %err, "cannot set hostname");
    }
    if let Err(err) = network::configure(&args).await {
        tracing::warn!(error = %err, "network configuration failed");
    }
}
