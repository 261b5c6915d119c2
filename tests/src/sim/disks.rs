//! [`SimulatedDisks`]: a [`DiskBackend`] that remembers which disks it
//! "made" and writes nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use slicer_controller::storage::{CloneMethod, DiskBackend, DiskError, DiskOutcome};

/// Disks that exist only in memory.
#[derive(Debug, Default)]
pub struct SimulatedDisks {
    disks: Mutex<HashSet<PathBuf>>,
}

impl SimulatedDisks {
    /// How many disks exist now (leftovers after a delete).
    pub fn count(&self) -> usize {
        self.disks.lock().map_or(0, |d| d.len())
    }
}

impl DiskBackend for SimulatedDisks {
    fn prepare(
        &self,
        _base: &Path,
        disk: &Path,
        _size_bytes: Option<u64>,
    ) -> Result<DiskOutcome, DiskError> {
        let mut disks = self.disks.lock().unwrap_or_else(|p| p.into_inner());
        Ok(if disks.insert(disk.to_owned()) {
            DiskOutcome::Created(CloneMethod::Reflink)
        } else {
            DiskOutcome::Kept
        })
    }

    fn remove(&self, disk: &Path) -> Result<bool, DiskError> {
        let mut disks = self.disks.lock().unwrap_or_else(|p| p.into_inner());
        Ok(disks.remove(disk))
    }
}
