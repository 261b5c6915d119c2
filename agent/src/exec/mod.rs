//! Running commands for the host: who runs them, how they are built, and
//! how their output becomes frames.

pub mod children;
pub mod command;
pub mod output;
pub mod users;
