//! [`Guest`]: one booted VM under test. Dropping it kills the VM, so a
//! failing test never leaves processes behind.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use slicer_controller::agent_client::AgentClient;
use slicer_controller::hypervisor::qemu::QemuDriver;
use slicer_controller::hypervisor::{Hypervisor, StopOutcome, VmHandle, VmSpec};

/// A booted guest whose agent answered.
#[derive(Debug)]
pub struct Guest {
    spec: VmSpec,
    handle: VmHandle,
    driver: Arc<QemuDriver>,
    /// Launch to agent-ready (of the attempt that booted).
    pub boot_time: Duration,
    /// Which boot attempt this guest came from: 1, or 2 after a stall.
    pub boot_attempt: u32,
    stopped: bool,
}

impl Guest {
    pub(crate) fn new(
        spec: VmSpec,
        handle: VmHandle,
        driver: Arc<QemuDriver>,
        boot_time: Duration,
    ) -> Self {
        Self {
            spec,
            handle,
            driver,
            boot_time,
            boot_attempt: 1,
            stopped: false,
        }
    }

    /// The guest's agent.
    pub fn agent(&self) -> AgentClient {
        self.handle.agent()
    }

    /// The running VM's handle.
    pub fn handle(&self) -> &VmHandle {
        &self.handle
    }

    /// What was launched.
    pub fn spec(&self) -> &VmSpec {
        &self.spec
    }

    /// Everything the guest wrote to its serial console so far.
    pub fn console(&self) -> String {
        std::fs::read_to_string(&self.spec.console_log).unwrap_or_default()
    }

    /// Graceful stop through the agent, with a hard kill after `grace`.
    pub async fn shutdown(mut self, grace: Duration) -> anyhow::Result<StopOutcome> {
        self.stopped = true;
        Ok(self.driver.shutdown(&self.handle, grace).await?)
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let _ = self.handle.vmm.signal(Signal::SIGKILL);
        for sidecar in &self.handle.sidecars {
            let _ = sidecar.signal(Signal::SIGKILL);
        }
    }
}
