//! Running Firecracker under its `jailer`: a chroot per VM, a dropped
//! uid/gid and a cgroup, as Firecracker recommends for production.
//!
//! The jailer builds its chroot at
//! `<chroot_base>/<exec file name>/<id>/root`, execs Firecracker there
//! (same pid, since slicer passes neither `--daemonize` nor
//! `--new-pid-ns`, so the process identity recorded at spawn stays
//! right), and Firecracker then sees only files inside that root. The
//! kernel, initrd and disk are hard-linked in (copied when they live on
//! another filesystem) before the jailer starts.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::config::VmmPaths;
use crate::hypervisor::VmSpec;

/// Jailer binary name looked up on `PATH`.
pub const JAILER_BINARY: &str = "jailer";

/// Names of files inside the jail's root, as Firecracker sees them.
pub mod jail_files {
    /// The API socket.
    pub const API_SOCKET: &str = "/firecracker.sock";
    /// The hybrid vsock socket.
    pub const VSOCK: &str = "/vsock";
    /// The kernel.
    pub const KERNEL: &str = "/vmlinux";
    /// The initramfs.
    pub const INITRD: &str = "/initrd.img";
    /// The root disk.
    pub const ROOT_DISK: &str = "/rootfs.ext4";
    /// Firecracker's log.
    pub const LOG: &str = "/firecracker.log";
    /// The metrics file.
    pub const METRICS: &str = "/metrics";
}

/// Errors preparing a jail.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum JailerError {
    /// cannot put {from} into the jail as {to}
    Link {
        /// The host file.
        from: PathBuf,
        /// Its place in the jail.
        to: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// cannot prepare jail directory {path}
    Dir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// How to jail Firecracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailerConfig {
    /// The jailer binary.
    pub jailer: PathBuf,
    /// User Firecracker runs as.
    pub uid: u32,
    /// Group Firecracker runs as.
    pub gid: u32,
    /// Where jails are made (the jailer's default is `/srv/jailer`).
    pub chroot_base: PathBuf,
    /// cgroup version to use (1 or 2).
    pub cgroup_version: u8,
    /// Extra cgroup settings, `file=value` (e.g. `cpu.max=200000 100000`).
    pub cgroups: Vec<String>,
}

/// One VM's jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jail {
    /// The jailer's `--id`.
    pub id: String,
    /// The chroot, `<chroot_base>/<exec file name>/<id>/root`.
    pub root: PathBuf,
}

/// The jailer's default chroot base.
pub const DEFAULT_CHROOT_BASE: &str = "/srv/jailer";

impl JailerConfig {
    /// A configuration for the `jailer` found in `search_dirs`, running
    /// Firecracker as `uid:gid` under [`DEFAULT_CHROOT_BASE`] with cgroup
    /// v2; `None` when no jailer is installed.
    pub fn find(search_dirs: &[PathBuf], uid: u32, gid: u32) -> Option<Self> {
        crate::hypervisor::binary::find_in(JAILER_BINARY, search_dirs).map(|jailer| Self {
            jailer,
            uid,
            gid,
            chroot_base: PathBuf::from(DEFAULT_CHROOT_BASE),
            cgroup_version: 2,
            cgroups: Vec::new(),
        })
    }

    /// The jail of the VM named `vm` when Firecracker is `firecracker`.
    pub fn jail(&self, firecracker: &Path, vm: &str) -> Jail {
        let id = jail_id(vm);
        let exec_name = firecracker
            .file_name()
            .map_or_else(|| "firecracker".into(), |n| n.to_os_string());
        Jail {
            root: self.chroot_base.join(exec_name).join(&id).join("root"),
            id,
        }
    }

    /// The jailer's argument list for `jail`; Firecracker's own arguments
    /// follow `--`.
    pub fn args(&self, firecracker: &Path, jail: &Jail) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--id".into(),
            jail.id.clone().into(),
            "--exec-file".into(),
            firecracker.into(),
            "--uid".into(),
            self.uid.to_string().into(),
            "--gid".into(),
            self.gid.to_string().into(),
            "--chroot-base-dir".into(),
            self.chroot_base.clone().into(),
            "--cgroup-version".into(),
            self.cgroup_version.to_string().into(),
        ];
        for cgroup in &self.cgroups {
            args.push("--cgroup".into());
            args.push(cgroup.into());
        }
        args.extend([
            "--".into(),
            "--api-sock".into(),
            jail_files::API_SOCKET.into(),
        ]);
        args
    }
}

impl Jail {
    /// The host path of `inside`, a path as the jailed Firecracker sees it.
    pub fn host_path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// Create the root, link the VM's files in and hand them to `uid:gid`;
    /// returns the paths Firecracker is given.
    pub fn prepare(&self, spec: &VmSpec, uid: u32, gid: u32) -> Result<VmmPaths, JailerError> {
        std::fs::create_dir_all(&self.root).map_err(|source| JailerError::Dir {
            path: self.root.clone(),
            source,
        })?;
        for socket in [jail_files::API_SOCKET, jail_files::VSOCK] {
            let _ = std::fs::remove_file(self.host_path(socket));
        }
        self.link(&spec.boot.kernel_elf, jail_files::KERNEL, uid, gid)?;
        if let Some(initrd) = &spec.boot.initrd {
            self.link(initrd, jail_files::INITRD, uid, gid)?;
        }
        self.link(&spec.root_disk, jail_files::ROOT_DISK, uid, gid)?;
        for file in [jail_files::LOG, jail_files::METRICS] {
            let path = self.host_path(file);
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|_| std::os::unix::fs::chown(&path, Some(uid), Some(gid)))
                .map_err(|source| JailerError::Dir { path, source })?;
        }
        Ok(VmmPaths {
            kernel: jail_files::KERNEL.to_owned(),
            initrd: spec
                .boot
                .initrd
                .as_ref()
                .map(|_| jail_files::INITRD.to_owned()),
            root_disk: jail_files::ROOT_DISK.to_owned(),
            vsock: jail_files::VSOCK.to_owned(),
            log: jail_files::LOG.to_owned(),
            metrics: jail_files::METRICS.to_owned(),
        })
    }

    /// Remove the jail (its root's parent, `<base>/<exec>/<id>`).
    pub fn remove(&self) {
        if let Some(dir) = self.root.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    fn link(&self, from: &Path, inside: &str, uid: u32, gid: u32) -> Result<(), JailerError> {
        let to = self.host_path(inside);
        let err = |source| JailerError::Link {
            from: from.to_owned(),
            to: to.clone(),
            source,
        };
        let _ = std::fs::remove_file(&to);
        if std::fs::hard_link(from, &to).is_err() {
            std::fs::copy(from, &to).map_err(err)?;
        }
        std::os::unix::fs::chown(&to, Some(uid), Some(gid)).map_err(err)
    }
}

/// The jailer accepts ids of up to 64 alphanumerics and `-`.
fn jail_id(vm: &str) -> String {
    vm.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::test_utils::sample_spec;

    fn config() -> JailerConfig {
        JailerConfig {
            jailer: "/usr/bin/jailer".into(),
            uid: 123,
            gid: 456,
            chroot_base: "/srv/jailer".into(),
            cgroup_version: 2,
            cgroups: vec!["cpu.max=200000 100000".into()],
        }
    }

    #[test]
    fn argv_names_id_exec_file_identity_chroot_and_cgroups() {
        let config = config();
        let fc = Path::new("/usr/local/bin/firecracker");
        let jail = config.jail(fc, "web_1.prod");
        assert_eq!(jail.id, "web-1-prod");
        assert_eq!(
            jail.root,
            Path::new("/srv/jailer/firecracker/web-1-prod/root")
        );
        let args: Vec<String> = config
            .args(fc, &jail)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "--id",
                "web-1-prod",
                "--exec-file",
                "/usr/local/bin/firecracker",
                "--uid",
                "123",
                "--gid",
                "456",
                "--chroot-base-dir",
                "/srv/jailer",
                "--cgroup-version",
                "2",
                "--cgroup",
                "cpu.max=200000 100000",
                "--",
                "--api-sock",
                "/firecracker.sock",
            ]
        );
        assert_eq!(
            jail.host_path(jail_files::VSOCK),
            Path::new("/srv/jailer/firecracker/web-1-prod/root/vsock")
        );
    }

    #[test]
    fn find_needs_an_installed_jailer() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(JailerConfig::find(&[dir.path().to_owned()], 1, 1), None);
        std::fs::write(dir.path().join(JAILER_BINARY), b"").unwrap();
        let found = JailerConfig::find(&[dir.path().to_owned()], 1, 2).unwrap();
        assert_eq!(found.jailer, dir.path().join(JAILER_BINARY));
        assert_eq!((found.uid, found.gid, found.cgroup_version), (1, 2, 2));
    }

    #[test]
    fn prepare_links_the_vm_files_into_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = sample_spec(&dir.path().join("run"));
        for (name, path) in [
            ("vmlinux", &mut spec.boot.kernel_elf),
            ("disk", &mut spec.root_disk),
        ] {
            *path = dir.path().join(name);
            std::fs::write(&*path, name).unwrap();
        }
        spec.boot.initrd = None;
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let config = JailerConfig {
            chroot_base: dir.path().join("jails"),
            uid,
            gid,
            ..config()
        };
        let jail = config.jail(Path::new("/bin/firecracker"), &spec.name);
        let paths = jail.prepare(&spec, uid, gid).unwrap();
        assert_eq!(paths.kernel, "/vmlinux");
        assert_eq!(paths.initrd, None);
        assert_eq!(
            std::fs::read_to_string(jail.host_path(&paths.root_disk)).unwrap(),
            "disk"
        );
        assert!(jail.host_path(jail_files::LOG).exists());
        jail.remove();
        assert!(!jail.root.exists());
    }
}
