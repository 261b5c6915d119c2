//! What a clean daemon stop does to VMs (`graceful_shutdown`,
//! `reference/slicer.md` §3.9): every running VM is stopped (asked first
//! when graceful, killed at once otherwise); ephemeral sandboxes are then
//! deleted; services and persistent VMs keep their disks and are launched
//! again at the next start.

use crate::hypervisor::VmHandle;
use crate::lifecycle::Context;
use crate::model::{VM_FINALIZER, Vm, VmExit};

use super::converge::reap;
use super::{VmError, teardown};

/// Stop every VM for a daemon shutdown; returns how many were stopped and
/// how many ephemeral sandboxes were deleted.
pub async fn stop_for_daemon_shutdown(
    ctx: &Context,
    graceful: bool,
) -> Result<(usize, usize), VmError> {
    let vms = ctx.store.list::<Vm>().map_err(VmError::store("*"))?;
    let stops = vms.into_iter().map(|vm| async move {
        let name = vm.meta.name.clone();
        let mut stopped = false;
        if let Some(handle) =
            VmHandle::load(&ctx.data.run_dir(&name)).map_err(|source| VmError::Handle {
                vm: name.clone(),
                source,
            })?
            && handle.is_running()
        {
            // Recorded first, so a crash mid-way still relaunches it later;
            // only running VMs are marked, a stopped one stays stopped.
            ctx.store
                .update_status::<Vm>(&name, |v| v.status.last_exit = Some(VmExit::DaemonShutdown))
                .map_err(VmError::store(&name))?;
            if graceful {
                ctx.hypervisor
                    .shutdown(&handle, ctx.timing.stop_grace)
                    .await
                    .map_err(VmError::hypervisor(&name, "stop"))?;
            } else {
                ctx.hypervisor
                    .kill(&handle)
                    .await
                    .map_err(VmError::hypervisor(&name, "kill"))?;
            }
            reap(handle.vmm.pid);
            stopped = true;
        }
        let mut deleted = false;
        if vm.spec.is_ephemeral() {
            ctx.store
                .request_delete::<Vm>(&name)
                .map_err(VmError::store(&name))?;
            teardown(ctx, &name, &vm.status).await?;
            ctx.store
                .remove_finalizer::<Vm>(&name, VM_FINALIZER)
                .map_err(VmError::store(&name))?;
            deleted = true;
        }
        Ok::<_, VmError>((stopped, deleted))
    });
    let results = futures_util::future::join_all(stops).await;
    let mut counts = (0, 0);
    for result in results {
        let (stopped, deleted) = result?;
        counts.0 += usize::from(stopped);
        counts.1 += usize::from(deleted);
    }
    Ok(counts)
}
