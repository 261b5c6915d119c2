//! Launching one VM: its disk, its lease and TAP, then the VMM. Each step
//! is idempotent, and the status is written before the VMM starts, so a
//! crash at any point is repaired by the next pass.

use crate::config::{HostGroupSpec, NetworkMode};
use crate::hypervisor::VmSpec;
use crate::hypervisor::spec::{GuestNetwork, GuestSettings, NicSpec};
use crate::image::GuestImage;
use crate::lifecycle::{Context, tap_name};
use crate::model::{Vm, VmPhase};
use crate::network::{Pool, mac_for};
use crate::store::Object;

use super::VmError;

/// Prepare and start VM `object` of `group`.
pub(super) async fn launch(
    ctx: &Context,
    object: &Object<Vm>,
    group: &Object<HostGroupSpec>,
) -> Result<(), VmError> {
    let name = &object.meta.name;
    let spec = &object.spec;
    let image = GuestImage::open(&ctx.data, &spec.image).map_err(|source| VmError::Image {
        vm: name.clone(),
        image: spec.image.clone(),
        source,
    })?;
    let disk = ctx.data.disk(name);
    ctx.disks
        .prepare(&image.rootfs(), &disk, spec.storage_size_bytes)
        .map_err(|source| VmError::Disk {
            vm: name.clone(),
            source,
        })?;

    let mut nic = None;
    let mut guest_network = None;
    if let Some(network) = group
        .spec
        .network
        .as_ref()
        .filter(|n| n.mode == NetworkMode::Bridge)
        && let (Some(bridge), Some(gateway), Some(pool)) = (
            network.bridge.as_deref(),
            network.gateway,
            Pool::for_group(&group.spec.name, network),
        )
    {
        let lease = ctx
            .ipam
            .allocate(&pool, name)
            .map_err(|source| VmError::Lease {
                vm: name.clone(),
                source,
            })?;
        let net_err = |source| VmError::Network {
            vm: name.clone(),
            source,
        };
        ctx.network
            .ensure_bridge(bridge, gateway)
            .await
            .map_err(net_err)?;
        let tap = tap_name(&network.tap_prefix, spec.index);
        ctx.taps.record(&tap, name).map_err(VmError::store(name))?;
        ctx.network
            .ensure_tap(&tap, bridge)
            .await
            .map_err(net_err)?;
        nic = Some(NicSpec {
            tap,
            mac: mac_for(name),
        });
        guest_network = Some(GuestNetwork {
            address: lease.address,
            prefix_len: lease.prefix_len,
            gateway: lease.gateway,
            dns: group.spec.dns_servers.clone(),
        });
    }

    let console_log = ctx.data.console_log(name);
    let logs_dir = ctx.data.logs_dir();
    std::fs::create_dir_all(&logs_dir).map_err(|source| VmError::Files {
        vm: name.clone(),
        operation: "create",
        path: logs_dir,
        source,
    })?;
    let console_offset = std::fs::metadata(&console_log).map_or(0, |m| m.len());
    let memory_mib = u32::try_from(spec.ram_bytes >> 20).unwrap_or(u32::MAX);
    let vm_spec = VmSpec {
        name: name.clone(),
        vcpus: spec.vcpus,
        memory_mib,
        boot: image.boot_source(GuestSettings {
            hostname: name.clone(),
            network: guest_network.clone(),
        }),
        root_disk: disk.clone(),
        nic: nic.clone(),
        run_dir: ctx.data.run_dir(name),
        console_log,
    };
    let ip = guest_network
        .as_ref()
        .map(|n| format!("{}/{}", n.address, n.prefix_len));
    let launched = spec.launch_config();
    let nonce = spec.launch_nonce;
    ctx.store
        .update_status::<Vm>(name, |vm| {
            vm.status.phase = VmPhase::Starting;
            vm.status.ip = ip.clone();
            vm.status.mac = nic.as_ref().map(|n| n.mac.to_string());
            vm.status.tap = nic.as_ref().map(|n| n.tap.clone());
            vm.status.disk = Some(disk.clone());
            vm.status.pid = None;
            vm.status.launched = Some(launched.clone());
            vm.status.launched_nonce = nonce;
            vm.status.console_offset = console_offset;
            vm.status.ready_at = None;
            vm.status.provisioned = false;
            vm.status.last_exit = None;
        })
        .map_err(VmError::store(name))?;
    // A run directory without a live handle is a leftover of a crash
    // mid-launch; anything still using it is known to nobody.
    let swept = if vm_spec.run_dir.exists() {
        crate::hypervisor::sweep::kill_processes_using(&vm_spec.run_dir)
    } else {
        0
    };
    if swept > 0 {
        ctx.events.record(
            &format!("vms/{name}"),
            "OrphanRemoved",
            format!("killed {swept} unrecorded process(es) of an interrupted launch"),
        );
    }
    let handle = ctx
        .hypervisor
        .launch(&vm_spec)
        .await
        .map_err(VmError::hypervisor(name, "launch"))?;
    ctx.events.record(
        &format!("vms/{name}"),
        "Launched",
        format!(
            "{} pid {} with {} vCPU, {} MiB{}",
            handle.vmm.program,
            handle.vmm.pid,
            spec.vcpus,
            memory_mib,
            ip.as_deref()
                .map(|ip| format!(", ip {ip}"))
                .unwrap_or_default()
        ),
    );
    ctx.store
        .update_status::<Vm>(name, |vm| vm.status.pid = Some(handle.vmm.pid))
        .map_err(VmError::store(name))?;
    Ok(())
}
