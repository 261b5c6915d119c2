//! The host's TSC frequency, passed to TCG guests as `tsc_early_khz`.
//!
//! Under TCG on `microvm`, a guest that calibrates its TSC itself fails at
//! random and hangs before init (see `notes/guest-rig.md`), so the rate is
//! handed over on the kernel command line. A slightly wrong value only
//! skews the guest clock.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

/// The host TSC rate in kHz, from the most precise source available.
pub fn host_tsc_khz() -> Option<u64> {
    sysfs_tsc_khz()
        .or_else(kernel_log_tsc_khz)
        .or_else(cpuinfo_khz)
}

fn sysfs_tsc_khz() -> Option<u64> {
    std::fs::read_to_string("/sys/devices/system/cpu/cpu0/tsc_freq_khz")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Read the kernel's own calibration from the kernel log, which keeps it
/// while the ring buffer has not wrapped.
fn kernel_log_tsc_khz() -> Option<u64> {
    let mut kmsg = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .ok()?;
    let mut best = None;
    let mut record = vec![0u8; 8192];
    // /dev/kmsg returns one record per read and EAGAIN at the end.
    while let Ok(n) = kmsg.read(&mut record) {
        if n == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&record[..n]);
        if let Some(khz) = parse_tsc_line(&line) {
            best = Some(khz);
        }
    }
    best
}

/// `tsc: Refined TSC clocksource calibration: 2596.100 MHz` (preferred,
/// it comes later) or `tsc: Detected 2596.124 MHz processor`.
fn parse_tsc_line(line: &str) -> Option<u64> {
    let rest = line
        .split_once("tsc: Refined TSC clocksource calibration: ")
        .or_else(|| line.split_once("tsc: Detected "))?
        .1;
    mhz_to_khz(rest.split_whitespace().next()?)
}

fn cpuinfo_khz() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("cpu MHz"))?;
    mhz_to_khz(line.split(':').nth(1)?.trim())
}

fn mhz_to_khz(mhz: &str) -> Option<u64> {
    let (whole, frac) = mhz.split_once('.').unwrap_or((mhz, "0"));
    let frac3: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
    Some(whole.parse::<u64>().ok()? * 1000 + frac3.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_lines_parse_to_khz() {
        assert_eq!(
            parse_tsc_line("6,58,0,-;tsc: Detected 2596.124 MHz processor"),
            Some(2_596_124)
        );
        assert_eq!(
            parse_tsc_line("6,9,1,-;tsc: Refined TSC clocksource calibration: 3000.5 MHz"),
            Some(3_000_500)
        );
        assert_eq!(
            parse_tsc_line("clocksource: Switched to clocksource tsc"),
            None
        );
    }

    #[test]
    fn this_host_reports_a_plausible_rate() {
        let khz = host_tsc_khz().expect("some TSC source on an x86 host");
        assert!((100_000..10_000_000).contains(&khz), "{khz}");
    }
}
