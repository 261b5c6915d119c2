//! Choosing the hypervisor driver at daemon start, with a sentence saying
//! why, so `slicer info` and the log explain what runs the VMs.
//!
//! With no hypervisor configured the order is: Firecracker when its binary
//! is installed and KVM really works, else QEMU with KVM, else QEMU with
//! TCG. A configured hypervisor that cannot run is an error naming it and
//! the reason; nothing here waits on anything.

use std::path::PathBuf;
use std::sync::Arc;

use super::Hypervisor;
use super::accel::{Accel, AccelChoice, HostProbe};
use super::binary::{find_in, search_dirs_from_env};
use super::cloud_hypervisor::CloudHypervisorDriver;
use super::firecracker::{FIRECRACKER_BINARY, FirecrackerDriver};
use super::qemu::QemuDriver;
use crate::config::HypervisorName;

/// Errors choosing a hypervisor.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum ChoiceError {
    /// hypervisor {hypervisor} is configured but cannot run here: {reason}
    Unavailable {
        /// The configured hypervisor.
        hypervisor: &'static str,
        /// Why it cannot run.
        reason: String,
    },
    /// no hypervisor can run here: {reason}
    NoneAvailable {
        /// Why each candidate was ruled out.
        reason: String,
    },
}

/// The chosen driver and why it was chosen.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The driver every VM of this daemon uses.
    pub driver: Arc<dyn Hypervisor>,
    /// One sentence for `slicer info` and the daemon log.
    pub reason: String,
}

/// What the choice depends on, gathered once; tests build their own.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// Directories searched for VMM binaries, in order.
    pub search_dirs: Vec<PathBuf>,
    /// Whether KVM can run ordinary guests, and why.
    pub kvm: AccelChoice,
}

impl HostFacts {
    /// The facts of this host: `PATH` (plus the usual install
    /// directories) and the KVM probe of [`HostProbe`].
    pub fn probe() -> Self {
        Self {
            search_dirs: search_dirs_from_env(),
            kvm: HostProbe::default().choose(),
        }
    }

    fn kvm_works(&self) -> bool {
        self.kvm.accel == Accel::Kvm
    }
}

/// Choose the driver for `configured` (from the daemon config), or the
/// best one this host can run when it is `None`.
pub fn choose(configured: Option<HypervisorName>) -> Result<Chosen, ChoiceError> {
    choose_with(configured, &HostFacts::probe())
}

/// [`choose`] on the given host facts.
pub fn choose_with(
    configured: Option<HypervisorName>,
    host: &HostFacts,
) -> Result<Chosen, ChoiceError> {
    match configured {
        Some(HypervisorName::Firecracker) => {
            let driver =
                FirecrackerDriver::detect_with(&host.search_dirs, &host.kvm).map_err(|err| {
                    ChoiceError::Unavailable {
                        hypervisor: "firecracker",
                        reason: err.to_string(),
                    }
                })?;
            Ok(chosen(
                driver,
                format!("firecracker as configured; {}", host.kvm.reason),
            ))
        }
        Some(HypervisorName::CloudHypervisor) => {
            let driver = CloudHypervisorDriver::detect_with(&host.search_dirs, &host.kvm).map_err(
                |err| ChoiceError::Unavailable {
                    hypervisor: "cloud-hypervisor",
                    reason: err.to_string(),
                },
            )?;
            Ok(chosen(
                driver,
                format!("cloud-hypervisor as configured; {}", host.kvm.reason),
            ))
        }
        Some(HypervisorName::Qemu) => {
            let driver =
                QemuDriver::detect_with(&host.search_dirs, host.kvm.clone()).map_err(|err| {
                    ChoiceError::Unavailable {
                        hypervisor: "qemu",
                        reason: err.to_string(),
                    }
                })?;
            Ok(chosen(
                driver,
                format!(
                    "qemu as configured, with {}: {}",
                    host.kvm.accel, host.kvm.reason
                ),
            ))
        }
        None => choose_automatically(host),
    }
}

fn choose_automatically(host: &HostFacts) -> Result<Chosen, ChoiceError> {
    let firecracker = find_in(FIRECRACKER_BINARY, &host.search_dirs);
    let skipped = match (&firecracker, host.kvm_works()) {
        (Some(binary), true) => {
            let driver = FirecrackerDriver::new(binary.clone(), &host.kvm).map_err(|err| {
                ChoiceError::Unavailable {
                    hypervisor: "firecracker",
                    reason: err.to_string(),
                }
            })?;
            return Ok(chosen(
                driver,
                format!(
                    "firecracker ({}) because KVM works: {}",
                    binary.display(),
                    host.kvm.reason
                ),
            ));
        }
        (Some(binary), false) => format!(
            "firecracker ({}) skipped because KVM is unusable: {}",
            binary.display(),
            host.kvm.reason
        ),
        (None, _) => format!("firecracker skipped because {FIRECRACKER_BINARY} is not installed"),
    };
    match QemuDriver::detect_with(&host.search_dirs, host.kvm.clone()) {
        Ok(driver) => Ok(chosen(
            driver,
            format!(
                "qemu with {}: {}; {skipped}",
                host.kvm.accel, host.kvm.reason
            ),
        )),
        Err(err) => Err(ChoiceError::NoneAvailable {
            reason: format!("{skipped}; qemu: {err}"),
        }),
    }
}

fn chosen(driver: impl Hypervisor + 'static, reason: String) -> Chosen {
    Chosen {
        driver: Arc::new(driver),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::hypervisor::HypervisorKind;

    fn unusable_kvm() -> AccelChoice {
        AccelChoice {
            accel: Accel::Tcg,
            reason: "/dev/kvm exists but only the kvm_pvm module provides it, which cannot run ordinary guests".into(),
        }
    }

    fn working_kvm() -> AccelChoice {
        AccelChoice {
            accel: Accel::Kvm,
            reason: "/dev/kvm is usable (kvm_intel loaded)".into(),
        }
    }

    /// A directory holding executable scripts called `names`.
    fn fake_bins(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let path = dir.path().join(name);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    fn facts(bins: &tempfile::TempDir, kvm: AccelChoice) -> HostFacts {
        HostFacts {
            search_dirs: vec![bins.path().to_owned()],
            kvm,
        }
    }

    #[test]
    fn this_host_gets_qemu_with_tcg_and_the_pvm_reason() {
        // This machine's /dev/kvm comes from kvm_pvm, and QEMU is installed.
        if !std::path::Path::new("/sys/module/kvm_pvm").exists() {
            return;
        }
        let chosen = choose(None).unwrap();
        assert_eq!(chosen.driver.kind(), HypervisorKind::Qemu);
        assert!(
            chosen.reason.starts_with("qemu with tcg"),
            "{}",
            chosen.reason
        );
        assert!(chosen.reason.contains("kvm_pvm"), "{}", chosen.reason);
    }

    #[test]
    fn firecracker_on_path_without_kvm_falls_back_to_qemu_and_says_why() {
        let bins = fake_bins(&["firecracker", "qemu-system-x86_64", "vhost-device-vsock"]);
        let chosen = choose_with(None, &facts(&bins, unusable_kvm())).unwrap();
        assert_eq!(chosen.driver.kind(), HypervisorKind::Qemu);
        assert!(
            chosen.reason.contains("firecracker (")
                && chosen.reason.contains("skipped because KVM is unusable"),
            "{}",
            chosen.reason
        );
        assert!(chosen.reason.contains("kvm_pvm"), "{}", chosen.reason);
    }

    #[test]
    fn firecracker_with_kvm_is_preferred() {
        let bins = fake_bins(&["firecracker", "qemu-system-x86_64", "vhost-device-vsock"]);
        let chosen = choose_with(None, &facts(&bins, working_kvm())).unwrap();
        assert_eq!(chosen.driver.kind(), HypervisorKind::Firecracker);
        assert!(
            chosen.reason.contains("because KVM works"),
            "{}",
            chosen.reason
        );
    }

    #[test]
    fn qemu_uses_kvm_when_firecracker_is_missing() {
        let bins = fake_bins(&["qemu-system-x86_64", "vhost-device-vsock"]);
        let chosen = choose_with(None, &facts(&bins, working_kvm())).unwrap();
        assert_eq!(chosen.driver.kind(), HypervisorKind::Qemu);
        assert!(
            chosen.reason.starts_with("qemu with kvm"),
            "{}",
            chosen.reason
        );
        assert!(chosen.reason.contains("not installed"), "{}", chosen.reason);
    }

    #[test]
    fn configured_firecracker_without_kvm_is_a_clear_error() {
        let bins = fake_bins(&["firecracker"]);
        let err = choose_with(
            Some(HypervisorName::Firecracker),
            &facts(&bins, unusable_kvm()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("hypervisor firecracker is configured but cannot run here"),
            "{err}"
        );
        assert!(err.contains("kvm_pvm"), "{err}");
    }

    #[test]
    fn configured_but_missing_binaries_are_named() {
        let bins = fake_bins(&[]);
        let err = choose_with(
            Some(HypervisorName::CloudHypervisor),
            &facts(&bins, working_kvm()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cloud-hypervisor") && err.contains("cannot find"),
            "{err}"
        );
        let err = choose_with(Some(HypervisorName::Qemu), &facts(&bins, working_kvm()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("qemu-system-x86_64"), "{err}");
        let err = choose_with(None, &facts(&bins, unusable_kvm()))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("no hypervisor can run here"), "{err}");
    }
}
