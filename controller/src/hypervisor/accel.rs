//! Choosing CPU acceleration: hardware KVM where it can run ordinary
//! guests, otherwise software emulation (TCG), always with the reason.

use std::fmt;
use std::path::Path;

/// How guest code is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation through `/dev/kvm`.
    Kvm,
    /// QEMU's software emulation: slow, but runs anywhere.
    Tcg,
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        })
    }
}

/// The outcome of probing the host, with a sentence saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccelChoice {
    /// What to use.
    pub accel: Accel,
    /// Why, for `slicer info` and the daemon log.
    pub reason: String,
}

/// Where to look; a parameter so tests can fake a host.
#[derive(Debug, Clone)]
pub struct HostProbe<'a> {
    /// The KVM device (`/dev/kvm`).
    pub kvm_device: &'a Path,
    /// Loaded-module directory (`/sys/module`).
    pub sys_module: &'a Path,
}

impl Default for HostProbe<'static> {
    fn default() -> Self {
        Self {
            kvm_device: Path::new("/dev/kvm"),
            sys_module: Path::new("/sys/module"),
        }
    }
}

impl HostProbe<'_> {
    /// Decide between KVM and TCG.
    ///
    /// `/dev/kvm` alone is not enough: the PVM module (`kvm_pvm`) also
    /// provides it, yet ordinary guests die on it with emulation failures.
    /// KVM is chosen only when a hardware module (`kvm_intel`/`kvm_amd`) is
    /// loaded and the device opens read-write.
    pub fn choose(&self) -> AccelChoice {
        let tcg = |reason: String| AccelChoice {
            accel: Accel::Tcg,
            reason,
        };
        if !self.kvm_device.exists() {
            return tcg(format!("{} does not exist", self.kvm_device.display()));
        }
        let loaded = |module: &str| self.sys_module.join(module).exists();
        let hardware = ["kvm_intel", "kvm_amd"].into_iter().find(|m| loaded(m));
        let Some(module) = hardware else {
            let why = if loaded("kvm_pvm") {
                "only the kvm_pvm module provides it, which cannot run ordinary guests"
            } else {
                "neither kvm_intel nor kvm_amd is loaded"
            };
            return tcg(format!("{} exists but {why}", self.kvm_device.display()));
        };
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.kvm_device)
        {
            Ok(_) => AccelChoice {
                accel: Accel::Kvm,
                reason: format!("{} is usable ({module} loaded)", self.kvm_device.display()),
            },
            Err(err) => tcg(format!("cannot open {}: {err}", self.kvm_device.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(modules: &[&str], with_device: bool) -> (tempfile::TempDir, AccelChoice) {
        let dir = tempfile::tempdir().unwrap();
        let sys_module = dir.path().join("module");
        std::fs::create_dir(&sys_module).unwrap();
        for m in modules {
            std::fs::create_dir(sys_module.join(m)).unwrap();
        }
        let dev = dir.path().join("kvm");
        if with_device {
            std::fs::write(&dev, b"").unwrap();
        }
        let choice = HostProbe {
            kvm_device: &dev,
            sys_module: &sys_module,
        }
        .choose();
        (dir, choice)
    }

    #[test]
    fn pvm_only_host_falls_back_to_tcg_and_says_why() {
        let (_dir, choice) = host(&["kvm", "kvm_pvm"], true);
        assert_eq!(choice.accel, Accel::Tcg);
        assert!(choice.reason.contains("kvm_pvm"), "{}", choice.reason);
    }

    #[test]
    fn missing_device_is_tcg() {
        let (_dir, choice) = host(&["kvm_intel"], false);
        assert_eq!(choice.accel, Accel::Tcg);
        assert!(choice.reason.contains("does not exist"));
    }

    #[test]
    fn hardware_module_with_device_is_kvm() {
        let (_dir, choice) = host(&["kvm", "kvm_amd"], true);
        assert_eq!(choice.accel, Accel::Kvm);
        assert!(choice.reason.contains("kvm_amd"));
    }
}
