//! Where slicer keeps things on the host.
//!
//! Everything hangs off one data directory (default `/var/lib/slicer`,
//! overridden by `--data-dir` or `SLICER_DATA_DIR`) so that a test or a
//! second daemon can use a private tree.

use std::path::{Path, PathBuf};

/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/slicer";

/// Environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "SLICER_DATA_DIR";

/// The host-side layout of one data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// A layout rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The layout from `SLICER_DATA_DIR`, else the default.
    pub fn from_env() -> Self {
        Self::new(
            std::env::var_os(DATA_DIR_ENV)
                .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from),
        )
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Directory of one built guest image (`images/<name>/`).
    pub fn image_dir(&self, name: &str) -> PathBuf {
        self.root.join("images").join(name)
    }

    /// The sled database (`store/`).
    pub fn store_dir(&self) -> PathBuf {
        self.root.join("store")
    }

    /// Per-VM disks (`disks/`).
    pub fn disks_dir(&self) -> PathBuf {
        self.root.join("disks")
    }

    /// The disk of VM `hostname` (`disks/<hostname>.img`).
    pub fn disk(&self, hostname: &str) -> PathBuf {
        self.disks_dir().join(format!("{hostname}.img"))
    }

    /// Per-VM run directories (`run/`): sockets, pid records, VMM logs.
    pub fn run_root(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The run directory of VM `hostname`.
    pub fn run_dir(&self, hostname: &str) -> PathBuf {
        self.run_root().join(hostname)
    }

    /// Serial console logs (`logs/`).
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The serial console log of VM `hostname` (`logs/<hostname>.txt`).
    pub fn console_log(&self, hostname: &str) -> PathBuf {
        self.logs_dir().join(format!("{hostname}.txt"))
    }

    /// The daemon's default API socket (`slicer.sock`).
    pub fn api_socket(&self) -> PathBuf {
        self.root.join("slicer.sock")
    }

    /// The secret store (`secrets/`, 0700): one file per secret.
    pub fn secrets_dir(&self) -> PathBuf {
        self.root.join("secrets")
    }

    /// The API's auth directory (`auth/`, 0750).
    pub fn auth_dir(&self) -> PathBuf {
        self.root.join("auth")
    }

    /// The generated API bearer token (`auth/token`, 0640).
    pub fn token_file(&self) -> PathBuf {
        self.auth_dir().join("token")
    }

    /// Download and build cache shared by image builds (`cache/`).
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }
}

/// File names inside an image directory.
pub mod image_files {
    /// Compressed kernel (bzImage) that QEMU boots directly.
    pub const KERNEL_BZIMAGE: &str = "vmlinuz";
    /// Uncompressed ELF kernel for Firecracker and Cloud Hypervisor.
    pub const KERNEL_ELF: &str = "vmlinux";
    /// gzip'd newc cpio initramfs that loads the virtio and vsock modules.
    pub const INITRAMFS: &str = "initrd.img";
    /// ext4 root filesystem that per-VM disks are cloned from.
    pub const ROOTFS: &str = "rootfs.ext4";
    /// JSON [`crate::image::ImageManifest`] written last, when the build succeeded.
    pub const MANIFEST: &str = "manifest.json";
}
