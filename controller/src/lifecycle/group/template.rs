//! The VM spec a group's services get, and whether a service matches it.

use crate::config::HostGroupSpec;
use crate::model::{PowerState, Vm, VmRole};

/// Image used when neither the group nor the daemon names one.
pub const DEFAULT_IMAGE: &str = "min";

/// The spec of service `index` of `group`.
pub fn template_for(group: &HostGroupSpec, index: u64) -> Vm {
    Vm {
        group: group.name.clone(),
        index,
        role: VmRole::Service,
        persistent: true,
        vcpus: group.vcpus,
        ram_bytes: group.ram_bytes,
        image: group
            .image
            .clone()
            .unwrap_or_else(|| DEFAULT_IMAGE.to_owned()),
        storage_size_bytes: group.storage_size_bytes,
        userdata: group.userdata.clone(),
        tags: Vec::new(),
        secrets: None,
        power: PowerState::Running,
        launch_nonce: 0,
    }
}

/// Whether `vm` already has the settings the group template gives it.
pub(super) fn matches_template(vm: &Vm, template: &Vm) -> bool {
    vm.vcpus == template.vcpus
        && vm.ram_bytes == template.ram_bytes
        && vm.image == template.image
        && vm.storage_size_bytes == template.storage_size_bytes
        && vm.userdata == template.userdata
}

/// Give `vm` the template's settings, keeping its identity and state.
pub(super) fn apply_template(vm: &mut Vm, template: &Vm) {
    vm.vcpus = template.vcpus;
    vm.ram_bytes = template.ram_bytes;
    vm.image = template.image.clone();
    vm.storage_size_bytes = template.storage_size_bytes;
    vm.userdata = template.userdata.clone();
}
