//! Telling how a VM's run ended from what its kernel printed last: a guest
//! that powered off, rebooted or panicked said so on the serial console; a
//! VMM that was killed or crashed left no such line.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::model::VmExit;

/// Kernel messages that end a guest's run on its own.
const GUEST_STOP_MARKERS: &[&str] = &[
    "reboot: Power down",
    "reboot: Restarting system",
    "reboot: System halted",
    "Kernel panic",
];

/// How much of the log tail is read.
const TAIL_BYTES: u64 = 64 * 1024;

/// Classify the end of the run whose console output starts at `offset` of
/// `console_log`.
pub fn classify(console_log: &Path, offset: u64) -> VmExit {
    let tail = read_tail(console_log, offset).unwrap_or_default();
    if GUEST_STOP_MARKERS.iter().any(|m| tail.contains(m)) {
        VmExit::GuestStopped
    } else {
        VmExit::ProcessDied
    }
}

fn read_tail(path: &Path, offset: u64) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    // A log shorter than the offset was truncated by the new run.
    let start = if offset > len { 0 } else { offset };
    let start = start.max(len.saturating_sub(TAIL_BYTES));
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_stops_are_told_from_deaths() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c.txt");
        std::fs::write(&log, "old run\n[ 1.0] reboot: Power down\n").unwrap();
        assert_eq!(classify(&log, 0), VmExit::GuestStopped);
        let offset = std::fs::metadata(&log).unwrap().len();
        std::fs::write(
            &log,
            format!(
                "{}new run booting\n",
                std::fs::read_to_string(&log).unwrap()
            ),
        )
        .unwrap();
        assert_eq!(
            classify(&log, offset),
            VmExit::ProcessDied,
            "only this run's output counts"
        );
        assert_eq!(classify(&dir.path().join("none"), 0), VmExit::ProcessDied);
    }
}
