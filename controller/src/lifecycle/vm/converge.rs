//! The converge pass of one VM: observe (saved handle, process, status),
//! act (adopt, launch, restart with a new spec, pause, resume, stop), and
//! record what was seen. Safe to run at any time: every step checks before
//! it acts.

use std::time::SystemTime;

use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use super::VmError;
use super::decide::{AfterRun, after_run};
use super::exit::classify;
use super::launch::launch;
use crate::config::HostGroupSpec;
use crate::hypervisor::VmHandle;
use crate::lifecycle::Context;
use crate::model::{PowerState, Vm, VmExit, VmPhase};
use crate::reconcile::Action;
use crate::store::Object;
use slicer_api::types::ProvisionRequest;

pub(crate) fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Drive VM `object` toward its spec.
pub(super) async fn converge(ctx: &Context, object: Object<Vm>) -> Result<Action, VmError> {
    let name = object.meta.name.clone();
    let store_err = VmError::store(&name);
    let Some(group) = ctx
        .store
        .get::<HostGroupSpec>(&object.spec.group)
        .map_err(&store_err)?
    else {
        ctx.events.record(
            &format!("vms/{name}"),
            "GroupGone",
            format!(
                "host group {} no longer exists; deleting",
                object.spec.group
            ),
        );
        ctx.store.request_delete::<Vm>(&name).map_err(&store_err)?;
        return Ok(Action::await_change());
    };
    let run_dir = ctx.data.run_dir(&name);
    let handle = VmHandle::load(&run_dir).map_err(|source| VmError::Handle {
        vm: name.clone(),
        source,
    })?;
    match handle {
        Some(handle) if handle.is_running() => running(ctx, &object, &handle).await,
        Some(handle) => {
            // The VMM is gone: collect it and whatever it left behind.
            reap(handle.vmm.pid);
            ctx.hypervisor
                .kill(&handle)
                .await
                .map_err(VmError::hypervisor(&name, "clean up after"))?;
            let handle_file = run_dir.join(crate::hypervisor::HANDLE_FILE);
            std::fs::remove_file(&handle_file).map_err(|source| VmError::Files {
                vm: name.clone(),
                operation: "remove",
                path: handle_file,
                source,
            })?;
            not_running(ctx, &object, &group).await
        }
        None => not_running(ctx, &object, &group).await,
    }
}

/// The VMM runs: adopt it, apply spec changes, wait for the agent.
async fn running(ctx: &Context, object: &Object<Vm>, handle: &VmHandle) -> Result<Action, VmError> {
    let name = &object.meta.name;
    let spec = &object.spec;
    let store_err = VmError::store(name);
    let mut status = object.status.clone();
    if status.pid != Some(handle.vmm.pid) {
        ctx.events.record(
            &format!("vms/{name}"),
            "Adopted",
            format!(
                "found its {} process running as pid {}",
                handle.vmm.program, handle.vmm.pid
            ),
        );
        status.pid = Some(handle.vmm.pid);
        status.launched.get_or_insert_with(|| spec.launch_config());
        if status.phase == VmPhase::Pending || status.phase == VmPhase::Stopped {
            status.phase = VmPhase::Starting;
        }
    }
    let outdated = status.launched.as_ref() != Some(&spec.launch_config());
    if spec.power == PowerState::Stopped || outdated {
        let why = if outdated {
            "restarting to apply the new spec"
        } else {
            "stopping as requested"
        };
        ctx.events.record(&format!("vms/{name}"), "Stopping", why);
        ctx.hypervisor
            .shutdown(handle, ctx.timing.stop_grace)
            .await
            .map_err(VmError::hypervisor(name, "stop"))?;
        reap(handle.vmm.pid);
        if !outdated && spec.is_ephemeral() {
            // A stopped ephemeral sandbox has nothing to come back to
            // (`reference/slicer.md` §3.3): it goes, with its disk.
            ctx.events.record(
                &format!("vms/{name}"),
                "Reaped",
                "ephemeral sandbox stopped; deleting it and its disk",
            );
            ctx.store.request_delete::<Vm>(name).map_err(&store_err)?;
            return Ok(Action::await_change());
        }
        ctx.store
            .update_status::<Vm>(name, |vm| {
                vm.status.pid = None;
                vm.status.ready_at = None;
                vm.status.provisioned = false;
                if outdated {
                    vm.status.phase = VmPhase::Pending;
                    vm.status.last_exit = None;
                } else {
                    vm.status.phase = VmPhase::Stopped;
                    vm.status.last_exit = Some(VmExit::Requested);
                    vm.status.launched_nonce = vm.spec.launch_nonce;
                    vm.meta.observed_generation = vm.meta.generation;
                }
            })
            .map_err(&store_err)?;
        return Ok(Action::requeue(std::time::Duration::ZERO));
    }
    if status.ready_at.is_none() {
        ctx.store
            .update_status::<Vm>(name, |vm| vm.status = status.clone())
            .map_err(&store_err)?;
        let agent = handle.agent();
        if let Err(source) = agent.wait_ready(ctx.timing.agent_ready).await {
            return Err(VmError::AgentNotReady {
                vm: name.clone(),
                waited: ctx.timing.agent_ready,
                console_tail: crate::hypervisor::process::log_tail(&handle.console_log),
                source,
            });
        }
        status.ready_at = Some(now());
        if status.phase != VmPhase::Paused {
            status.phase = VmPhase::Running;
        }
        status.message.clear();
        ctx.events
            .record(&format!("vms/{name}"), "Ready", "the guest agent answers");
    }
    if !status.provisioned && status.phase != VmPhase::Paused {
        let request = ProvisionRequest {
            secrets: crate::secrets::SecretStore::new(ctx.data.secrets_dir())
                .deliverable(spec.secrets.as_deref()),
            userdata: spec.userdata.clone(),
        };
        handle
            .agent()
            .provision(&request)
            .await
            .map_err(|source| VmError::Provision {
                vm: name.clone(),
                source,
            })?;
        status.provisioned = true;
    }
    match (spec.power, status.phase) {
        (PowerState::Paused, VmPhase::Running) => {
            ctx.hypervisor
                .pause(handle)
                .await
                .map_err(VmError::hypervisor(name, "pause"))?;
            status.phase = VmPhase::Paused;
        }
        (PowerState::Running, VmPhase::Paused) => {
            ctx.hypervisor
                .resume(handle)
                .await
                .map_err(VmError::hypervisor(name, "resume"))?;
            status.phase = VmPhase::Running;
        }
        _ => {}
    }
    let generation = object.meta.generation;
    ctx.store
        .update_status::<Vm>(name, |vm| {
            vm.status = status.clone();
            vm.meta.observed_generation = generation;
        })
        .map_err(&store_err)?;
    Ok(Action::requeue(ctx.timing.watch_running))
}

/// No VMM runs: decide from how the last run ended, then launch or stay.
async fn not_running(
    ctx: &Context,
    object: &Object<Vm>,
    group: &Object<HostGroupSpec>,
) -> Result<Action, VmError> {
    let name = &object.meta.name;
    let spec = &object.spec;
    let status = &object.status;
    let store_err = VmError::store(name);
    let ended = status.pid.is_some();
    let exit = if !ended {
        status.last_exit
    } else if status.last_exit == Some(VmExit::DaemonShutdown) {
        Some(VmExit::DaemonShutdown)
    } else {
        Some(classify(&ctx.data.console_log(name), status.console_offset))
    };
    let next = after_run(spec, status, ended, exit);
    if ended {
        ctx.events.record(
            &format!("vms/{name}"),
            "Exited",
            format!(
                "pid {} ended: {:?}",
                status.pid.unwrap_or_default(),
                exit.unwrap_or(VmExit::ProcessDied)
            ),
        );
    }
    match next {
        AfterRun::Delete => {
            ctx.events.record(
                &format!("vms/{name}"),
                "Reaped",
                "ephemeral sandbox ended; deleting it and its disk",
            );
            ctx.store.request_delete::<Vm>(name).map_err(&store_err)?;
            return Ok(Action::await_change());
        }
        AfterRun::StayStopped => {
            let generation = object.meta.generation;
            ctx.store
                .update_status::<Vm>(name, |vm| {
                    vm.status.phase = VmPhase::Stopped;
                    vm.status.pid = None;
                    vm.status.ready_at = None;
                    vm.status.provisioned = false;
                    if let Some(exit) = exit {
                        vm.status.last_exit = Some(exit);
                    }
                    vm.status.launched_nonce = vm.spec.launch_nonce;
                    vm.meta.observed_generation = generation;
                })
                .map_err(&store_err)?;
            return Ok(Action::await_change());
        }
        AfterRun::Launch { after_death: true } => {
            ctx.events.record(
                &format!("vms/{name}"),
                "Relaunching",
                "its VMM process died without the guest stopping",
            );
            ctx.store
                .update_status::<Vm>(name, |vm| vm.status.restarts += 1)
                .map_err(&store_err)?;
        }
        AfterRun::Launch { after_death: false } => {}
    }
    launch(ctx, object, group).await?;
    Ok(Action::requeue(std::time::Duration::ZERO))
}

/// Collect the exit status of `pid` if it is our child, so no zombie stays.
pub(super) fn reap(pid: i32) {
    // Not our child (adopted after a restart) or already reaped: fine.
    let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
}
