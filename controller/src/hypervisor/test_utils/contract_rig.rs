//! [`ContractRig`]: what every driver contract test sets up. The driver
//! runs a stand-in for its VMM binary on a sample VM, and the fake VMM
//! that checks each request against the upstream spec is served on the
//! driver's API socket as soon as the stand-in has started.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::{ApiSpec, FakeVmm, sample_spec, script, wait_for_file};
use crate::hypervisor::{Hypervisor, HypervisorError, VmHandle, VmProbe, VmSpec};

/// How one VMM is started and which contract it follows.
#[derive(Debug)]
pub(crate) struct ContractVmm {
    /// The binary the driver runs; the rig replaces it with a stand-in.
    pub(crate) binary: &'static str,
    /// The flag that hands the VMM its API socket.
    pub(crate) api_flag: &'static str,
    /// What comes before the socket path in the flag's value.
    pub(crate) socket_prefix: &'static str,
    /// The API socket's file name in the run directory.
    pub(crate) socket: &'static str,
    /// The spec in `shared/contracts/` every request is checked against.
    pub(crate) contract: &'static str,
}

impl ContractVmm {
    /// A stand-in VMM: checks how it was called, notes that it started
    /// (so the rig can serve the API on the socket it was given) and then
    /// idles like a VMM.
    fn stand_in(&self) -> String {
        format!(
            r#"[ "$1" = "{flag}" ] || exit 2
socket="${{2#{prefix}}}"
: > "$socket.spawned"
exec sleep 30"#,
            flag = self.api_flag,
            prefix = self.socket_prefix,
        )
    }
}

/// A driver under contract test, its temporary directory and its VM.
#[derive(Debug)]
pub(crate) struct ContractRig<D> {
    /// Holds the stand-in binary, the run directory and snapshots.
    pub(crate) dir: tempfile::TempDir,
    /// The VM the tests launch.
    pub(crate) spec: VmSpec,
    /// The driver, running the stand-in binary.
    pub(crate) driver: D,
    vmm: &'static ContractVmm,
}

impl<D: Hypervisor + Clone + 'static> ContractRig<D> {
    /// A rig for `vmm` whose driver `driver` builds around the stand-in
    /// binary it is given.
    pub(crate) fn new(vmm: &'static ContractVmm, driver: impl FnOnce(PathBuf) -> D) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let binary = script(dir.path(), vmm.binary, &vmm.stand_in());
        let spec = sample_spec(&dir.path().join("run"));
        Self {
            driver: driver(binary),
            spec,
            dir,
            vmm,
        }
    }

    /// The VM's API socket.
    pub(crate) fn socket(&self) -> PathBuf {
        self.spec.run_dir.join(self.vmm.socket)
    }

    /// The directory snapshots are written to and restored from.
    pub(crate) fn snapshots(&self) -> PathBuf {
        self.dir.path().join("snap")
    }

    /// A fake VMM following the contract, serving on `socket` now.
    pub(crate) fn fake_vmm(&self, socket: &Path) -> FakeVmm {
        FakeVmm::serve(socket, Arc::new(ApiSpec::load(self.vmm.contract)))
    }

    /// Launch the VM against the fake VMM.
    pub(crate) async fn launch(&self) -> (FakeVmm, VmHandle) {
        let (driver, spec) = (self.driver.clone(), self.spec.clone());
        self.serve_when_spawned(tokio::spawn(async move { driver.launch(&spec).await }))
            .await
    }

    /// Restore the VM from [`Self::snapshots`] against the fake VMM.
    pub(crate) async fn restore(&self) -> (FakeVmm, VmHandle) {
        let (driver, spec, dir) = (self.driver.clone(), self.spec.clone(), self.snapshots());
        self.serve_when_spawned(tokio::spawn(
            async move { driver.restore(&spec, &dir).await },
        ))
        .await
    }

    /// Take the running VM of `handle` through probe, pause, resume,
    /// snapshot (into [`Self::snapshots`]) and kill; after the kill the
    /// VMM is gone.
    pub(crate) async fn pause_snapshot_and_kill(&self, handle: &VmHandle) {
        let driver = &self.driver;
        assert_eq!(driver.probe(handle).await, VmProbe::Running);
        driver.pause(handle).await.unwrap();
        driver.resume(handle).await.unwrap();
        driver.snapshot(handle, &self.snapshots()).await.unwrap();
        driver.kill(handle).await.unwrap();
        assert!(!handle.is_running(), "kill must end the vmm");
        assert_eq!(driver.probe(handle).await, VmProbe::Gone);
    }

    /// Await `start` (a launch or restore), serving the fake VMM as soon
    /// as the stand-in has started. The fake cannot bind earlier: the
    /// driver clears stale sockets from the run directory before it spawns
    /// the VMM.
    async fn serve_when_spawned(
        &self,
        start: JoinHandle<Result<VmHandle, HypervisorError>>,
    ) -> (FakeVmm, VmHandle) {
        let socket = self.socket();
        let mut marker = socket.clone().into_os_string();
        marker.push(".spawned");
        wait_for_file(Path::new(&marker)).await;
        let fake = self.fake_vmm(&socket);
        (fake, start.await.unwrap().unwrap())
    }
}
