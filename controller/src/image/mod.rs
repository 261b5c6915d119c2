//! Guest images: building the kernel, initramfs and root filesystem every
//! VM boots from, and reading what a built image holds.
//!
//! The build itself is `deploy/image/build.sh` (Debian packages,
//! debootstrap, mkfs.ext4); this module finds it, runs it with live
//! progress, and reads the manifest it writes last.

mod build;
mod manifest;

pub use build::{BuildOptions, ImageError, build, builder_script, default_agent_path};
pub use manifest::{GuestImage, ImageManifest};
