//! The only code that runs in a forked child before exec: starting a new
//! session, and making a PTY its controlling terminal. std has no safe API
//! for either.

#![allow(unsafe_code)]

/// Run the child in a new session (`setsid`): it gets its own session and
/// process group, and no controlling terminal.
pub fn new_session(command: &mut tokio::process::Command) {
    // SAFETY: the closure runs between fork and exec and only calls
    // setsid(2), which is async-signal-safe; it touches no memory shared
    // with the parent and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
}

/// Run the child in a new session whose controlling terminal is its stdin
/// (which must be a PTY slave), as a login shell expects.
pub fn new_session_on_terminal(command: &mut tokio::process::Command) {
    // SAFETY: between fork and exec the closure calls only setsid(2) and
    // ioctl(2), both async-signal-safe; fd 0 is the PTY slave installed by
    // the Stdio setup that runs before pre_exec hooks.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
