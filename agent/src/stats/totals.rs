//! Counters since boot summed over the guest's whole disks and network
//! interfaces, the inputs of the rates `slicer vm top` shows.

use std::path::Path;

/// Bytes moved by the guest's whole disks since boot, and requests in
/// flight now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DiskTotals {
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub written_bytes: u64,
    /// Requests in flight.
    pub in_flight: u64,
}

/// Bytes through every interface but loopback since boot.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NetTotals {
    /// Bytes received.
    pub received_bytes: u64,
    /// Bytes sent.
    pub sent_bytes: u64,
}

/// `/proc/diskstats` counts 512-byte sectors whatever the device's block size.
const SECTOR_BYTES: u64 = 512;

/// Whether a `/proc/diskstats` device counts: a whole disk (it has a
/// `/sys/block` entry, so partitions are not counted twice) that is not
/// a loop or RAM device.
fn is_whole_disk(name: &str, sys_block: &Path) -> bool {
    !name.starts_with("loop") && !name.starts_with("ram") && sys_block.join(name).exists()
}

/// Disk totals now.
pub fn disk_totals() -> DiskTotals {
    let sys_block = Path::new("/sys/block");
    procfs::diskstats()
        .unwrap_or_default()
        .iter()
        .filter(|d| is_whole_disk(&d.name, sys_block))
        .fold(DiskTotals::default(), |sum, d| DiskTotals {
            read_bytes: sum.read_bytes + d.sectors_read * SECTOR_BYTES,
            written_bytes: sum.written_bytes + d.sectors_written * SECTOR_BYTES,
            in_flight: sum.in_flight + d.in_progress,
        })
}

/// Network totals now.
pub fn net_totals() -> NetTotals {
    procfs::net::dev_status()
        .unwrap_or_default()
        .values()
        .filter(|d| d.name != "lo")
        .fold(NetTotals::default(), |sum, d| NetTotals {
            received_bytes: sum.received_bytes + d.recv_bytes,
            sent_bytes: sum.sent_bytes + d.sent_bytes,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_real_disks_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("vda")).unwrap();
        std::fs::create_dir(dir.path().join("loop0")).unwrap();
        assert!(is_whole_disk("vda", dir.path()));
        assert!(!is_whole_disk("vda1", dir.path()), "a partition");
        assert!(!is_whole_disk("loop0", dir.path()));
        assert!(!is_whole_disk("ram0", dir.path()));
    }
}
