//! The end-to-end test rig: boots real guests from the built images with
//! the real QEMU driver and the real agent, for the tests in `e2e/` and the
//! benchmarks in `benches/`; runs the daemon in-process; and simulated
//! drivers for control-plane benchmarks at scale.

mod daemon;
pub mod exec;
mod guest;
pub mod in_process;
pub mod netns;
mod rig;
pub mod sim;

pub use daemon::TestDaemon;
pub use guest::Guest;
pub use rig::{GuestOptions, Rig, booted_guests};
