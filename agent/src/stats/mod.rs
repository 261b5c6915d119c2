//! Guest metrics for `/nodes/stats` and `slicer vm top`: one
//! [`GuestSnapshot`] read from `/proc`, `/sys` and `statvfs(/)` (what
//! Slicer's `slicer-vmmeter` reports). Every source is optional: a field
//! whose file cannot be read is 0 rather than failing the whole sample.

mod totals;

use std::time::{Duration, SystemTime};

use procfs::Current;
use slicer_api::types::GuestSnapshot;

use totals::{disk_totals, net_totals};

/// A sample of the guest's metrics now.
pub fn snapshot() -> GuestSnapshot {
    let memory = procfs::Meminfo::current().ok();
    let total_memory = memory.as_ref().map_or(0, |m| m.mem_total);
    let memory_available = memory
        .as_ref()
        .map_or(0, |m| m.mem_available.unwrap_or(m.mem_free));
    let memory_used = total_memory.saturating_sub(memory_available);
    let load = procfs::LoadAverage::current().ok();
    let uptime = procfs::Uptime::current().map_or(0.0, |u| u.uptime);
    let disks = disk_totals();
    let net = net_totals();
    let space = RootSpace::now();
    GuestSnapshot {
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        arch: go_arch().to_owned(),
        timestamp: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        uptime: go_duration(Duration::from_secs_f64(uptime.max(0.0))),
        total_cpus: std::thread::available_parallelism()
            .map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX)),
        total_memory,
        memory_used,
        memory_available,
        memory_used_percent: percent(memory_used, total_memory),
        load_avg1: load.as_ref().map_or(0.0, |l| f64::from(l.one)),
        load_avg5: load.as_ref().map_or(0.0, |l| f64::from(l.five)),
        load_avg15: load.as_ref().map_or(0.0, |l| f64::from(l.fifteen)),
        disk_read_total: disks.read_bytes as f64,
        disk_write_total: disks.written_bytes as f64,
        network_read_total: net.received_bytes as f64,
        network_write_total: net.sent_bytes as f64,
        disk_io_inflight: i64::try_from(disks.in_flight).unwrap_or(i64::MAX),
        open_connections: open_tcp_connections(),
        open_files: procfs::sys::fs::file_nr()
            .map_or(0, |f| i64::try_from(f.allocated).unwrap_or(i64::MAX)),
        entropy: procfs::sys::kernel::random::entropy_avail().map_or(0, i64::from),
        disk_space_total: space.total,
        disk_space_used: space.used,
        disk_space_free: space.free,
        disk_space_used_percent: percent(space.used, space.total),
    }
}

/// `part` of `whole` in percent (0 for an empty whole).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// The architecture as Go names it, as upstream reports it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// A whole-second duration as Go prints it, such as `6m53s` or `1h2m3s`.
fn go_duration(duration: Duration) -> String {
    let whole = Duration::from_secs(duration.as_secs());
    humantime::format_duration(whole)
        .to_string()
        .replace(' ', "")
}

/// TCP connections in the ESTABLISHED state, IPv4 and IPv6.
fn open_tcp_connections() -> i64 {
    let established = |entries: procfs::ProcResult<Vec<procfs::net::TcpNetEntry>>| {
        entries.map_or(0, |entries| {
            entries
                .iter()
                .filter(|e| e.state == procfs::net::TcpState::Established)
                .count()
        })
    };
    let count = established(procfs::net::tcp()) + established(procfs::net::tcp6());
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Size, use and free space of the root filesystem, in bytes.
#[derive(Debug, Default)]
struct RootSpace {
    total: u64,
    used: u64,
    free: u64,
}

impl RootSpace {
    fn now() -> Self {
        let Ok(stat) = nix::sys::statvfs::statvfs("/") else {
            return Self::default();
        };
        let fragment = stat.fragment_size();
        let total = stat.blocks() * fragment;
        let free = stat.blocks_available() * fragment;
        let used = (stat.blocks() - stat.blocks_free()) * fragment;
        Self { total, used, free }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(Duration::from_secs(413)), "6m53s");
        assert_eq!(go_duration(Duration::from_millis(3_723_400)), "1h2m3s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn percent_of_nothing_is_zero() {
        assert_eq!(percent(5, 0), 0.0);
        assert_eq!(percent(1, 4), 25.0);
    }

    #[test]
    fn a_sample_of_this_host_is_consistent() {
        let s = snapshot();
        assert!(s.total_memory > 0);
        assert!(s.memory_used <= s.total_memory);
        assert!(s.total_cpus >= 1);
        assert!(s.disk_space_total >= s.disk_space_free);
        assert!(!s.uptime.is_empty());
        assert!(s.timestamp.ends_with('Z'));
    }
}
