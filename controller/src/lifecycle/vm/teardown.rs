//! Tearing one VM down: its VMM, TAP, lease, disk, run directory and
//! console log. Idempotent and complete even if the launch never ran or
//! stopped half-way; it is the finalizer's Cleanup.

use crate::hypervisor::VmHandle;
use crate::lifecycle::Context;
use crate::model::{Vm, VmPhase, VmStatus};

use super::VmError;
use super::converge::reap;

/// Remove everything VM `name` holds on the host; returns whether a disk
/// was removed.
pub async fn teardown(ctx: &Context, name: &str, status: &VmStatus) -> Result<bool, VmError> {
    let _ = ctx
        .store
        .update_status::<Vm>(name, |vm| vm.status.phase = VmPhase::Deleting);
    let run_dir = ctx.data.run_dir(name);
    if let Some(handle) = VmHandle::load(&run_dir).map_err(|source| VmError::Handle {
        vm: name.to_owned(),
        source,
    })? {
        ctx.hypervisor
            .shutdown(&handle, ctx.timing.stop_grace)
            .await
            .map_err(VmError::hypervisor(name, "stop"))?;
        reap(handle.vmm.pid);
    }
    if run_dir.exists() {
        crate::hypervisor::sweep::kill_processes_using(&run_dir);
    }
    let mut taps = ctx.taps.owned_by(name).map_err(VmError::store(name))?;
    taps.extend(status.tap.clone());
    taps.sort();
    taps.dedup();
    for tap in taps {
        ctx.network
            .remove_tap(&tap)
            .await
            .map_err(|source| VmError::Network {
                vm: name.to_owned(),
                source,
            })?;
        ctx.taps.forget(&tap).map_err(VmError::store(name))?;
    }
    ctx.ipam
        .release_owner(name)
        .map_err(|source| VmError::Lease {
            vm: name.to_owned(),
            source,
        })?;
    let disk_removed = ctx
        .disks
        .remove(&ctx.data.disk(name))
        .map_err(|source| VmError::Disk {
            vm: name.to_owned(),
            source,
        })?;
    for (path, is_dir) in [(run_dir, true), (ctx.data.console_log(name), false)] {
        let removed = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(VmError::Files {
                    vm: name.to_owned(),
                    operation: "remove",
                    path,
                    source,
                });
            }
        }
    }
    ctx.events.record(
        &format!("vms/{name}"),
        "Deleted",
        format!("process, network, lease and disk removed (disk_removed={disk_removed})"),
    );
    Ok(disk_removed)
}
