//! One pass of the host-group controller.

use std::time::{Duration, Instant};

use super::GroupError;
use super::template::{apply_template, matches_template, template_for};
use crate::config::{HostGroupSpec, NetworkMode};
use crate::lifecycle::{Context, group_of};
use crate::model::{EventLog, HostGroupStatus, Vm, VmPhase, VmRole, hostname};
use crate::network::EgressStatus;
use crate::reconcile::Action;
use crate::store::{Object, StoreError};

/// How long a group delete waits for its VMs before it backs off.
const DELETE_WAIT: Duration = Duration::from_secs(120);

/// The VMs of `group`. Every VM is named `<group>-<n>` (services and
/// sandboxes alike), so this reads only that key range, and skips the VMs
/// of a group whose name merely extends this one (`web-2-1` of `web-2`
/// when listing `web`) without decoding them.
fn vms_of(ctx: &Context, group: &str) -> Result<Vec<Object<Vm>>, GroupError> {
    Ok(ctx
        .store
        .list_prefix::<Vm>(&format!("{group}-"), |name| group_of(name) == Some(group))
        .map_err(GroupError::store(group))?
        .into_iter()
        .filter(|vm| vm.spec.group == group)
        .collect())
}

fn describe(egress: &EgressStatus) -> String {
    match egress {
        EgressStatus::Masqueraded { via } => format!("masqueraded via {via}"),
        EgressStatus::ForwardingOnly { reason } => format!("forwarding only: {reason}"),
        EgressStatus::Unavailable { reason } => format!("unavailable: {reason}"),
    }
}

/// A service is settled when it acted on its spec and is not mid-launch.
fn settled(vm: &Object<Vm>) -> bool {
    vm.is_observed()
        && matches!(
            vm.status.phase,
            VmPhase::Running | VmPhase::Paused | VmPhase::Stopped
        )
}

/// Converge group `group`: network, service count, rolling changes.
pub(super) async fn converge(
    ctx: &Context,
    group: Object<HostGroupSpec>,
) -> Result<Action, GroupError> {
    let spec = &group.spec;
    let name = &spec.name;
    let events = &ctx.events;
    let object = format!("hostgroups/{name}");
    let mut status = HostGroupStatus {
        egress: group.status.egress.clone(),
        ..HostGroupStatus::default()
    };
    if let Some(network) = spec
        .network
        .as_ref()
        .filter(|n| n.mode == NetworkMode::Bridge)
        && let (Some(bridge), Some(gateway)) = (network.bridge.as_deref(), network.gateway)
    {
        ctx.network
            .ensure_bridge(bridge, gateway)
            .await
            .map_err(|source| GroupError::Network {
                group: name.clone(),
                source,
            })?;
        status.bridge_ready = true;
        let egress = describe(&ctx.network.ensure_egress(bridge, gateway.trunc()).await);
        if status.egress.as_deref() != Some(egress.as_str()) {
            events.record(
                &object,
                "Egress",
                format!("bridge {bridge}: egress {egress}"),
            );
            status.egress = Some(egress);
        }
    }

    let vms = vms_of(ctx, name)?;
    let existing: std::collections::HashSet<&str> =
        vms.iter().map(|vm| vm.meta.name.as_str()).collect();
    let count = u64::from(spec.count);
    for index in 1..=count {
        let hostname = hostname(name, index);
        if existing.contains(hostname.as_str()) {
            continue;
        }
        match ctx.store.create(&hostname, template_for(spec, index)) {
            Ok(_) => events.record(&object, "ServiceCreated", format!("created {hostname}")),
            Err(StoreError::AlreadyExists { .. }) => {}
            Err(err) => return Err(GroupError::store(name)(err)),
        }
    }
    let services: Vec<&Object<Vm>> = vms
        .iter()
        .filter(|vm| vm.spec.role == VmRole::Service && !vm.is_deleting())
        .collect();
    for vm in services.iter().filter(|vm| vm.spec.index > count) {
        events.record(&object, "ScaledDown", format!("removing {}", vm.meta.name));
        ctx.store
            .request_delete::<Vm>(&vm.meta.name)
            .map_err(GroupError::store(name))?;
    }
    let in_range: Vec<&&Object<Vm>> = services
        .iter()
        .filter(|vm| vm.spec.index <= count)
        .collect();
    let outdated: Vec<&&&Object<Vm>> = in_range
        .iter()
        .filter(|vm| !matches_template(&vm.spec, &template_for(spec, vm.spec.index)))
        .collect();
    let all_settled = in_range.iter().all(|vm| settled(vm));
    if let Some(next) = outdated.first().filter(|_| all_settled) {
        let vm_name = next.meta.name.clone();
        let template = template_for(spec, next.spec.index);
        events.record(
            &object,
            "Rolling",
            format!("applying the new spec to {vm_name}"),
        );
        ctx.store
            .modify::<Vm, std::convert::Infallible>(&vm_name, |vm| {
                apply_template(&mut vm.spec, &template);
                Ok(())
            })
            .map_err(GroupError::store(name))?
            .map_err(|never| match never {})?;
        status.rolling = Some(vm_name);
    } else if let Some(busy) = in_range.iter().find(|vm| !settled(vm)) {
        status.rolling = Some(busy.meta.name.clone()).filter(|_| !outdated.is_empty());
    }
    status.vms =
        u32::try_from(vms.iter().filter(|vm| !vm.is_deleting()).count()).unwrap_or(u32::MAX);
    status.ready_services = u32::try_from(
        in_range
            .iter()
            .filter(|vm| settled(vm) && vm.status.phase == VmPhase::Running)
            .count(),
    )
    .unwrap_or(u32::MAX);
    let generation = group.meta.generation;
    let converged = outdated.is_empty() && u64::from(status.ready_services) == count;
    ctx.store
        .update_status::<HostGroupSpec>(name, |g| {
            g.status = status.clone();
            if converged {
                g.meta.observed_generation = generation;
            }
        })
        .map_err(GroupError::store(name))?;
    Ok(if converged {
        Action::requeue(Duration::from_secs(60))
    } else {
        Action::requeue(Duration::from_secs(2))
    })
}

/// Delete group `group`: all its VMs, then its bridge.
pub(super) async fn cleanup(
    ctx: &Context,
    group: Object<HostGroupSpec>,
) -> Result<Action, GroupError> {
    let name = &group.spec.name;
    let object = format!("hostgroups/{name}");
    for vm in vms_of(ctx, name)? {
        if !vm.is_deleting() {
            ctx.store
                .request_delete::<Vm>(&vm.meta.name)
                .map_err(GroupError::store(name))?;
        }
    }
    let deadline = Instant::now() + DELETE_WAIT;
    loop {
        let remaining = vms_of(ctx, name)?.len();
        if remaining == 0 {
            break;
        }
        if Instant::now() >= deadline {
            return Err(GroupError::VmsRemain {
                group: name.clone(),
                remaining,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if let Some(bridge) = group
        .spec
        .network
        .as_ref()
        .and_then(|n| n.bridge.as_deref())
    {
        ctx.network
            .remove_bridge(bridge)
            .await
            .map_err(|source| GroupError::Network {
                group: name.clone(),
                source,
            })?;
    }
    EventLog::record(
        &ctx.events,
        &object,
        "Deleted",
        "every VM and the bridge removed",
    );
    Ok(Action::await_change())
}
