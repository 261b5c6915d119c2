//! Running commands for the host: who runs them, how they are built, and
//! how their output becomes frames; detached background execs with their
//! rings; and shells on a PTY.

pub mod background;
pub mod budget;
pub mod children;
pub mod command;
pub mod login;
pub mod output;
pub mod pty;
pub mod ring;
pub mod session;
pub mod users;
