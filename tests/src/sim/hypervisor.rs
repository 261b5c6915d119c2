//! [`SimulatedHypervisor`]: a [`Hypervisor`] that starts no process. Every
//! VM it "launches" gets a handle whose VMM is the benchmark process itself
//! (a pid plus start time that stays alive for the whole run, so
//! `is_running()` is true) and whose vsock socket is the shared
//! [`super::SimulatedAgent`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use slicer_controller::hypervisor::process::ProcessRecord;
use slicer_controller::hypervisor::{
    Capabilities, Hypervisor, HypervisorError, HypervisorKind, StopOutcome, VmHandle, VmSpec,
};

/// A hypervisor that only writes handles.
#[derive(Debug)]
pub struct SimulatedHypervisor {
    agent_socket: PathBuf,
    vmm: ProcessRecord,
    launches: AtomicU64,
    stops: AtomicU64,
}

/// This process's identity as `/proc/self/stat` gives it.
fn own_process() -> std::io::Result<ProcessRecord> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Field 2 (comm) may hold spaces: count from the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let start_ticks = rest
        .split_whitespace()
        .nth(22 - 3)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| std::io::Error::other("no start time in /proc/self/stat"))?;
    Ok(ProcessRecord {
        program: "simulated-vmm".to_owned(),
        pid: i32::try_from(std::process::id()).unwrap_or(i32::MAX),
        start_ticks,
    })
}

impl SimulatedHypervisor {
    /// A hypervisor whose VMs' agents answer on `agent_socket`.
    pub fn new(agent_socket: PathBuf) -> std::io::Result<Self> {
        let vmm = own_process()?;
        debug_assert!(vmm.is_alive(), "the process record must name this process");
        Ok(Self {
            agent_socket,
            vmm,
            launches: AtomicU64::new(0),
            stops: AtomicU64::new(0),
        })
    }

    /// VMs launched so far.
    pub fn launches(&self) -> u64 {
        self.launches.load(Ordering::Relaxed)
    }

    /// VMs stopped or killed so far.
    pub fn stops(&self) -> u64 {
        self.stops.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Hypervisor for SimulatedHypervisor {
    fn kind(&self) -> HypervisorKind {
        // The trait has no simulated kind; nothing branches on it here.
        HypervisorKind::Qemu
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exits_on_guest_poweroff: true,
            pause: true,
            snapshot: false,
        }
    }

    fn describe(&self) -> String {
        "simulated hypervisor (no processes; benchmark only)".to_owned()
    }

    async fn launch(&self, spec: &VmSpec) -> Result<VmHandle, HypervisorError> {
        std::fs::create_dir_all(&spec.run_dir).map_err(|source| HypervisorError::RunDir {
            path: spec.run_dir.clone(),
            source,
        })?;
        let handle = VmHandle {
            name: spec.name.clone(),
            kind: self.kind(),
            vmm: self.vmm.clone(),
            sidecars: Vec::new(),
            vsock_socket: self.agent_socket.clone(),
            control_socket: self.agent_socket.clone(),
            console_log: spec.console_log.clone(),
            run_dir: spec.run_dir.clone(),
        };
        handle.save()?;
        self.launches.fetch_add(1, Ordering::Relaxed);
        Ok(handle)
    }

    async fn kill(&self, _handle: &VmHandle) -> Result<(), HypervisorError> {
        // Never signal: the "VMM" is this process.
        self.stops.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn pause(&self, _handle: &VmHandle) -> Result<(), HypervisorError> {
        Ok(())
    }

    async fn resume(&self, _handle: &VmHandle) -> Result<(), HypervisorError> {
        Ok(())
    }

    async fn shutdown(
        &self,
        handle: &VmHandle,
        _grace: Duration,
    ) -> Result<StopOutcome, HypervisorError> {
        // The shared process never exits, so the default (ask the agent,
        // wait for the exit) would always run into the grace period.
        self.kill(handle).await?;
        Ok(StopOutcome::Graceful)
    }
}
