//! What happens to a VM whose VMM is not running, from its role, its
//! desired power state and how its last run ended (`reference/slicer.md`
//! §3.2, §3.3 and §11 item 12). A pure function, so the whole table is
//! tested without a VM.

use crate::model::{PowerState, Vm, VmExit, VmPhase, VmRole, VmStatus};

/// The next step for a VM without a running VMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterRun {
    /// Delete the VM with its disk (an ephemeral sandbox whose run ended).
    Delete,
    /// Keep it stopped, disk kept.
    StayStopped,
    /// Launch it; `after_death` when its VMM died under it (counted as a
    /// restart).
    Launch {
        /// The previous VMM died without the guest stopping.
        after_death: bool,
    },
}

/// Decide for `spec`/`status`; `ended` says a run was in progress (a pid
/// was recorded) and `exit` how it (or the last run) ended.
pub(super) fn after_run(
    spec: &Vm,
    status: &VmStatus,
    ended: bool,
    exit: Option<VmExit>,
) -> AfterRun {
    if ended
        && spec.is_ephemeral()
        && matches!(exit, Some(VmExit::GuestStopped | VmExit::ProcessDied))
    {
        return AfterRun::Delete;
    }
    let relaunch_requested = status.launched_nonce < spec.launch_nonce;
    let stay_stopped = match exit {
        _ if spec.power == PowerState::Stopped => true,
        _ if relaunch_requested => false,
        None | Some(VmExit::DaemonShutdown) => false,
        Some(VmExit::ProcessDied) if spec.role == VmRole::Service => false,
        Some(VmExit::Requested) => status.phase == VmPhase::Stopped || ended,
        Some(VmExit::GuestStopped | VmExit::ProcessDied) => true,
    };
    if stay_stopped {
        AfterRun::StayStopped
    } else {
        AfterRun::Launch {
            after_death: ended && exit == Some(VmExit::ProcessDied),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(role: VmRole, persistent: bool) -> Vm {
        Vm {
            group: "g".into(),
            index: 1,
            role,
            persistent,
            vcpus: 1,
            ram_bytes: 256 << 20,
            image: "min".into(),
            storage_size_bytes: None,
            userdata: None,
            tags: vec![],
            secrets: None,
            power: PowerState::Running,
            launch_nonce: 0,
        }
    }

    const SERVICE: (VmRole, bool) = (VmRole::Service, true);
    const EPHEMERAL: (VmRole, bool) = (VmRole::Sandbox, false);
    const PERSISTENT: (VmRole, bool) = (VmRole::Sandbox, true);

    fn decide((role, persistent): (VmRole, bool), ended: bool, exit: Option<VmExit>) -> AfterRun {
        after_run(&vm(role, persistent), &VmStatus::default(), ended, exit)
    }

    #[test]
    fn a_new_vm_is_launched() {
        for kind in [SERVICE, EPHEMERAL, PERSISTENT] {
            assert_eq!(
                decide(kind, false, None),
                AfterRun::Launch { after_death: false }
            );
        }
    }

    #[test]
    fn a_dead_vmm_relaunches_services_only() {
        let died = Some(VmExit::ProcessDied);
        assert_eq!(
            decide(SERVICE, true, died),
            AfterRun::Launch { after_death: true }
        );
        assert_eq!(decide(EPHEMERAL, true, died), AfterRun::Delete);
        assert_eq!(decide(PERSISTENT, true, died), AfterRun::StayStopped);
    }

    #[test]
    fn a_guest_that_stopped_stays_stopped_unless_ephemeral() {
        let stopped = Some(VmExit::GuestStopped);
        assert_eq!(
            decide(SERVICE, true, stopped),
            AfterRun::StayStopped,
            "no automatic restart loop"
        );
        assert_eq!(decide(EPHEMERAL, true, stopped), AfterRun::Delete);
        assert_eq!(decide(PERSISTENT, true, stopped), AfterRun::StayStopped);
    }

    #[test]
    fn a_daemon_shutdown_relaunches_at_the_next_start() {
        for kind in [SERVICE, PERSISTENT] {
            assert_eq!(
                decide(kind, true, Some(VmExit::DaemonShutdown)),
                AfterRun::Launch { after_death: false }
            );
        }
    }

    #[test]
    fn a_relaunch_request_starts_a_stopped_vm_and_a_stop_request_wins() {
        let mut spec = vm(VmRole::Sandbox, true);
        spec.launch_nonce = 1;
        let status = VmStatus {
            phase: VmPhase::Stopped,
            last_exit: Some(VmExit::GuestStopped),
            ..VmStatus::default()
        };
        assert_eq!(
            after_run(&spec, &status, false, status.last_exit),
            AfterRun::Launch { after_death: false }
        );
        spec.power = PowerState::Stopped;
        assert_eq!(
            after_run(&spec, &status, false, status.last_exit),
            AfterRun::StayStopped
        );
    }
}
