//! [`ImageManifest`] and [`GuestImage`]: a built image and its files.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ImageError;
use crate::hypervisor::spec::{BootSource, GuestSettings};
use crate::paths::{DataDir, image_files};

/// `manifest.json`, written last by the image build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageManifest {
    /// Image name.
    pub name: String,
    /// `min` or `full`.
    pub flavour: String,
    /// Kernel release, e.g. `6.1.0-56-cloud-amd64`.
    pub kernel_version: String,
    /// Kernel package file the kernel came from.
    pub kernel_package: String,
    /// sha256 of the agent baked into the root filesystem.
    pub agent_sha256: String,
    /// When it was built (RFC 3339).
    pub built_at: String,
    /// Size of the root filesystem image.
    pub rootfs_bytes: u64,
    /// How long the build took.
    pub build_seconds: f64,
}

/// A complete image on disk.
#[derive(Debug, Clone)]
pub struct GuestImage {
    dir: PathBuf,
    /// What the build recorded.
    pub manifest: ImageManifest,
}

impl GuestImage {
    /// Open image `name` in `data`; an image without a manifest is
    /// incomplete and is reported as missing.
    pub fn open(data: &DataDir, name: &str) -> Result<Self, ImageError> {
        let dir = data.image_dir(name);
        let path = dir.join(image_files::MANIFEST);
        let bytes = std::fs::read(&path).map_err(|source| ImageError::Missing {
            name: name.to_owned(),
            path: path.clone(),
            source,
        })?;
        let manifest = serde_json::from_slice(&bytes)
            .map_err(|source| ImageError::BadManifest { path, source })?;
        Ok(Self { dir, manifest })
    }

    /// The image directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The base root filesystem that VM disks are cloned from.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join(image_files::ROOTFS)
    }

    /// What a VM booting this image gets, with `guest` settings.
    pub fn boot_source(&self, guest: GuestSettings) -> BootSource {
        BootSource {
            kernel_bzimage: self.dir.join(image_files::KERNEL_BZIMAGE),
            kernel_elf: self.dir.join(image_files::KERNEL_ELF),
            initrd: Some(self.dir.join(image_files::INITRAMFS)),
            guest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_a_complete_image_and_reports_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let err = GuestImage::open(&data, "min").unwrap_err();
        assert!(err.to_string().contains("slicer image build"), "{err}");
        std::fs::create_dir_all(data.image_dir("min")).unwrap();
        std::fs::write(
            data.image_dir("min").join(image_files::MANIFEST),
            r#"{"name":"min","flavour":"min","kernel_version":"6.1","kernel_package":"k","agent_sha256":"ab","built_at":"t","rootfs_bytes":1,"build_seconds":1.5}"#,
        )
        .unwrap();
        let image = GuestImage::open(&data, "min").unwrap();
        assert_eq!(image.manifest.kernel_version, "6.1");
        let boot = image.boot_source(GuestSettings {
            hostname: "h".into(),
            network: None,
        });
        assert!(boot.kernel_elf.ends_with("images/min/vmlinux"));
    }
}
