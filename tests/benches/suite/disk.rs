//! Disk figures: time for `ImageFiles::prepare` to make a per-VM disk
//! from the 2 GiB `full` root filesystem, as a reflink on an XFS loop
//! mount (`mkfs.xfs -m reflink=1`) against a sparse copy on ext4.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use slicer_controller::storage::{DiskBackend, DiskOutcome, ImageFiles};
use slicer_e2e::Rig;

use crate::Plan;
use crate::figures::{Summary, Table, ratio};

/// An XFS filesystem with reflinks on a loop mount, unmounted on drop.
struct XfsMount {
    mnt: PathBuf,
}

impl XfsMount {
    fn new(dir: &Path, size_bytes: u64) -> anyhow::Result<Self> {
        let image = dir.join("xfs.img");
        std::fs::File::create(&image)?.set_len(size_bytes)?;
        let mkfs = Command::new("mkfs.xfs")
            .args(["-q", "-m", "reflink=1"])
            .arg(&image)
            .status()
            .context("mkfs.xfs (xfsprogs) is needed for the reflink figure")?;
        anyhow::ensure!(mkfs.success(), "mkfs.xfs failed");
        let mnt = dir.join("xfs");
        std::fs::create_dir_all(&mnt)?;
        let mount = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&mnt)
            .status()?;
        anyhow::ensure!(mount.success(), "loop-mounting XFS failed");
        Ok(Self { mnt })
    }
}

impl Drop for XfsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
    }
}

/// Time `runs` prepares of `base` into `dir`; returns times, the method
/// and the blocks one disk allocated.
fn clones(base: &Path, dir: &Path, runs: usize) -> anyhow::Result<(Vec<Duration>, String, u64)> {
    let mut times = Vec::new();
    let mut method = String::new();
    let mut allocated = 0;
    for n in 0..runs {
        let disk = dir.join(format!("vm-{n}.img"));
        let start = Instant::now();
        let outcome = ImageFiles.prepare(base, &disk, None)?;
        times.push(start.elapsed());
        if let DiskOutcome::Created(m) = outcome {
            method = format!("{m:?}");
        }
        allocated = std::fs::metadata(&disk)?.blocks() * 512;
        ImageFiles.remove(&disk)?;
    }
    Ok((times, method, allocated))
}

pub fn run(rig: &Rig, plan: &Plan, table: &mut Table) -> anyhow::Result<()> {
    let base = rig.image("full")?.rootfs();
    let meta = std::fs::metadata(&base)?;
    let (size, used) = (meta.len(), meta.blocks() * 512);
    let dir = rig.scratch().join("disk");
    std::fs::create_dir_all(&dir)?;

    let ext4_dir = dir.join("ext4");
    std::fs::create_dir_all(&ext4_dir)?;
    let (ext4, ext4_method, ext4_alloc) = clones(&base, &ext4_dir, plan.disk_runs)?;

    let xfs = XfsMount::new(&dir, size * 2)?;
    let xfs_base = xfs.mnt.join("base.ext4");
    // Across filesystems a reflink cannot apply and `clone_file` refuses
    // (EXDEV); a sparse `cp` puts the base there untimed.
    let cp = Command::new("cp")
        .arg("--sparse=always")
        .arg(&base)
        .arg(&xfs_base)
        .status()?;
    anyhow::ensure!(cp.success(), "cannot copy the base onto the XFS mount");
    let (reflink, xfs_method, xfs_alloc) = clones(&xfs_base, &xfs.mnt, plan.disk_runs)?;
    drop(xfs);

    let (ext4, reflink) = (Summary::of_ms(&ext4), Summary::of_ms(&reflink));
    let base_note = format!(
        "{} GiB base ({} MiB allocated), page cache warm",
        size >> 30,
        used >> 20
    );
    table.summary(
        "disk",
        format!("sparse copy on ext4 ({ext4_method}) (baseline)"),
        ext4,
        "ms",
        format!("{base_note}; clone allocates {} MiB", ext4_alloc >> 20),
    );
    table.summary(
        "disk",
        format!("reflink on XFS loop mount ({xfs_method})"),
        reflink,
        "ms",
        format!(
            "clone shares extents ({} MiB reported allocated); vs sparse copy {}",
            xfs_alloc >> 20,
            ratio(reflink, ext4)
        ),
    );
    Ok(())
}
