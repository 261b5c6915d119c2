//! Start-up garbage collection: whatever the host holds that no stored VM
//! owns (run directories and their processes, disks, leases, TAP devices)
//! is removed, and each removal is recorded as an event. It runs before
//! the controllers start, so it never races a launch.

use std::collections::HashSet;

use super::{Context, tap_name};
use crate::config::HostGroupSpec;
use crate::hypervisor::VmHandle;
use crate::model::Vm;
use crate::store::StoreError;

/// What the collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Orphaned VMM processes killed.
    pub processes: usize,
    /// Run directories removed.
    pub run_dirs: usize,
    /// Disks removed.
    pub disks: usize,
    /// Leases released.
    pub leases: usize,
    /// TAP devices removed.
    pub taps: usize,
}

impl GcReport {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn entries(dir: &std::path::Path) -> Vec<(String, std::path::PathBuf)> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .collect()
        })
        .unwrap_or_default()
}

/// Remove what belongs to no stored VM.
pub async fn collect_orphans(ctx: &Context) -> Result<GcReport, StoreError> {
    let vms = ctx.store.list::<Vm>()?;
    let groups = ctx.store.list::<HostGroupSpec>()?;
    let owners: HashSet<String> = vms.iter().map(|vm| vm.meta.name.clone()).collect();
    let mut report = GcReport::default();

    for (name, path) in entries(&ctx.data.run_root()) {
        if owners.contains(&name) {
            continue;
        }
        if let Ok(Some(handle)) = VmHandle::load(&path) {
            if handle.is_running() {
                report.processes += 1;
            }
            if let Err(err) = ctx.hypervisor.kill(&handle).await {
                tracing::warn!(vm = %name, error = %err, "cannot stop orphaned vm");
                continue;
            }
        }
        report.processes += crate::hypervisor::sweep::kill_processes_using(&path);
        if std::fs::remove_dir_all(&path).is_ok() {
            report.run_dirs += 1;
            ctx.events.record(
                &format!("vms/{name}"),
                "OrphanRemoved",
                format!("run directory {}", path.display()),
            );
        }
    }

    for (file, path) in entries(&ctx.data.disks_dir()) {
        let owner = file
            .strip_suffix(".img.partial")
            .or_else(|| file.strip_suffix(".img"))
            .unwrap_or(&file);
        if !owners.contains(owner) && ctx.disks.remove(&path).unwrap_or(false) {
            report.disks += 1;
            ctx.events.record(
                &format!("vms/{owner}"),
                "OrphanRemoved",
                format!("disk {}", path.display()),
            );
        }
    }

    if let Ok(lease_owners) = ctx.ipam.owners() {
        for owner in lease_owners.iter().filter(|o| !owners.contains(*o)) {
            if let Ok(n) = ctx.ipam.release_owner(owner) {
                report.leases += n;
                ctx.events.record(
                    &format!("vms/{owner}"),
                    "OrphanRemoved",
                    "address lease released",
                );
            }
        }
    }

    // TAPs: the ones we recorded, and any with a group's prefix that no VM
    // is meant to have.
    let expected: HashSet<String> = vms
        .iter()
        .filter_map(|vm| {
            let group = groups.iter().find(|g| g.spec.name == vm.spec.group)?;
            let network = group.spec.network.as_ref()?;
            Some(tap_name(&network.tap_prefix, vm.spec.index))
        })
        .collect();
    let mut stray: Vec<String> = ctx
        .taps
        .list()?
        .into_iter()
        .filter(|(tap, owner)| !owners.contains(owner) || !expected.contains(tap))
        .map(|(tap, _)| tap)
        .collect();
    for group in &groups {
        if let Some(network) = &group.spec.network
            && let Ok(found) = ctx.network.taps_with_prefix(&network.tap_prefix).await
        {
            stray.extend(found.into_iter().filter(|tap| !expected.contains(tap)));
        }
    }
    stray.sort();
    stray.dedup();
    for tap in stray {
        match ctx.network.remove_tap(&tap).await {
            Ok(()) => {
                ctx.taps.forget(&tap)?;
                report.taps += 1;
                ctx.events.record(
                    &format!("taps/{tap}"),
                    "OrphanRemoved",
                    "tap device removed",
                );
            }
            Err(err) => tracing::warn!(tap, error = %err, "cannot remove orphaned tap"),
        }
    }
    Ok(report)
}
