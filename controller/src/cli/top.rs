//! `slicer vm top [VM]`: a live table of guest metrics from
//! `/nodes/stats`, refreshed every interval. Rates (network, disk) are the
//! difference of two samples' counters over the time between them, so
//! they appear from the second sample on; a paused or unreachable VM
//! shows `-`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::HumanBytes;
use slicer_api::types::{GuestSnapshot, NodeStats};

use super::connect::ConnectArgs;
use super::table::Table;

/// The columns, as Slicer's `vm top` prints them.
const COLUMNS: [&str; 15] = [
    "HOST",
    "IP",
    "CPU",
    "L1",
    "L5",
    "L15",
    "MEM_USED",
    "MEM_FREE",
    "DISK_USED%",
    "DISK_FREE",
    "NET_RX/s",
    "NET_TX/s",
    "DR/s",
    "DW/s",
    "UP",
];

/// Flags of `slicer vm top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Only this VM.
    pub vm: Option<String>,
    /// Time between refreshes, such as `2s` or `500ms`.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Print one table (after two samples, so rates are filled) and exit.
    #[arg(long)]
    pub once: bool,
    /// Print each sample as JSON (`NodeStats` list) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// One VM's counters at one moment, to compute rates from.
#[derive(Debug, Clone, Copy)]
struct Counters {
    at: Instant,
    net_rx: f64,
    net_tx: f64,
    disk_read: f64,
    disk_write: f64,
}

impl Counters {
    fn of(snapshot: &GuestSnapshot, at: Instant) -> Self {
        Self {
            at,
            net_rx: snapshot.network_read_total,
            net_tx: snapshot.network_write_total,
            disk_read: snapshot.disk_read_total,
            disk_write: snapshot.disk_write_total,
        }
    }
}

/// Per-second rates between two samples of one VM.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rates {
    net_rx: f64,
    net_tx: f64,
    disk_read: f64,
    disk_write: f64,
}

impl Rates {
    /// The rates from `before` to `now`; `None` when no time passed. A
    /// counter that went down (the guest rebooted) counts as 0.
    fn between(before: &Counters, now: &Counters) -> Option<Self> {
        let seconds = now.at.checked_duration_since(before.at)?.as_secs_f64();
        if seconds <= 0.0 {
            return None;
        }
        let rate = |a: f64, b: f64| ((b - a).max(0.0)) / seconds;
        Some(Self {
            net_rx: rate(before.net_rx, now.net_rx),
            net_tx: rate(before.net_tx, now.net_tx),
            disk_read: rate(before.disk_read, now.disk_read),
            disk_write: rate(before.disk_write, now.disk_write),
        })
    }
}

impl TopArgs {
    /// Sample and print until Ctrl+C (or once with `--once`).
    pub async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let mut previous: HashMap<String, Counters> = HashMap::new();
        let clear = !self.once && !self.json && std::io::stdout().is_terminal();
        let mut samples = 0u32;
        loop {
            let stats = client.node_stats(self.vm.as_deref()).await?;
            let now = Instant::now();
            samples += 1;
            let ready = !self.once || samples >= 2;
            if ready {
                let mut out = std::io::stdout().lock();
                if self.json {
                    writeln!(out, "{}", serde_json::to_string(&stats)?)?;
                } else {
                    if clear {
                        write!(out, "\x1b[H\x1b[2J")?;
                    }
                    write!(out, "{}", render(&stats, &previous, now))?;
                }
                out.flush()?;
                if self.once {
                    return Ok(0);
                }
            }
            previous = stats
                .iter()
                .filter_map(|s| {
                    Some((
                        s.node.hostname.clone(),
                        Counters::of(s.snapshot.as_ref()?, now),
                    ))
                })
                .collect();
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                _ = tokio::signal::ctrl_c() => return Ok(0),
            }
        }
    }
}

/// The table of one sample, with rates against `previous`.
fn render(stats: &[NodeStats], previous: &HashMap<String, Counters>, now: Instant) -> Table {
    let mut table = Table::new(COLUMNS);
    for stat in stats {
        table.row(row(stat, previous.get(&stat.node.hostname), now));
    }
    table
}

/// Bytes with a binary unit and no space (`30.62MiB`), so every cell is
/// one word for scripts that split on white space.
fn size(bytes: u64) -> String {
    HumanBytes(bytes).to_string().replace(' ', "")
}

/// A rate in bytes per second, rounded down. Rates are never negative
/// (see [`Rates::between`]) and far below `u64::MAX`; the cast saturates
/// anyway.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole_bytes(rate: f64) -> u64 {
    rate.max(0.0) as u64
}

/// An empty value (a VM without a network has no IP) as `-`.
fn or_dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value.to_owned()
    }
}

/// One VM's row: metrics, or `-` where the VM is paused or has no sample.
fn row(stat: &NodeStats, previous: Option<&Counters>, now: Instant) -> [String; 15] {
    let dash = || "-".to_owned();
    let snapshot = stat
        .snapshot
        .as_ref()
        .filter(|_| !stat.node.status.eq_ignore_ascii_case("paused"));
    let Some(s) = snapshot else {
        let mut cells: [String; 15] = std::array::from_fn(|_| dash());
        cells[0] = stat.node.hostname.clone();
        cells[1] = or_dash(&stat.node.ip);
        return cells;
    };
    let rates = previous.and_then(|before| Rates::between(before, &Counters::of(s, now)));
    let rate = |pick: fn(&Rates) -> f64| rates.map_or_else(dash, |r| size(whole_bytes(pick(&r))));
    [
        stat.node.hostname.clone(),
        or_dash(&stat.node.ip),
        s.total_cpus.to_string(),
        format!("{:.2}", s.load_avg1),
        format!("{:.2}", s.load_avg5),
        format!("{:.2}", s.load_avg15),
        size(s.memory_used),
        size(s.memory_available),
        format!("{:.1}", s.disk_space_used_percent),
        size(s.disk_space_free),
        rate(|r| r.net_rx),
        rate(|r| r.net_tx),
        rate(|r| r.disk_read),
        rate(|r| r.disk_write),
        s.uptime.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use slicer_api::types::NodeInfo;

    fn stat(status: &str, snapshot: Option<GuestSnapshot>) -> NodeStats {
        NodeStats {
            node: NodeInfo {
                hostname: "sbox-1".into(),
                hostgroup: "sbox".into(),
                ip: "192.168.137.2".into(),
                ram_bytes: 256 << 20,
                cpus: 2,
                created_at: "2026-12-01T00:00:00Z".into(),
                tags: Vec::new(),
                arch: "amd64".into(),
                status: status.into(),
                persistent: false,
            },
            snapshot,
            error: None,
        }
    }

    fn snapshot(net_rx: f64) -> GuestSnapshot {
        GuestSnapshot {
            total_cpus: 2,
            load_avg1: 0.5,
            memory_used: 64 << 20,
            memory_available: 192 << 20,
            disk_space_used_percent: 12.34,
            disk_space_free: 1 << 30,
            network_read_total: net_rx,
            uptime: "1m2s".into(),
            ..GuestSnapshot::default()
        }
    }

    #[test]
    fn rates_are_counter_deltas_over_time_and_never_negative() {
        let start = Instant::now();
        let before = Counters::of(&snapshot(1000.0), start);
        let after = Counters::of(&snapshot(3000.0), start + Duration::from_secs(2));
        let rates = Rates::between(&before, &after).unwrap();
        assert_eq!(rates.net_rx, 1000.0);
        let rebooted = Counters::of(&snapshot(10.0), start + Duration::from_secs(4));
        assert_eq!(Rates::between(&after, &rebooted).unwrap().net_rx, 0.0);
        assert!(Rates::between(&after, &after).is_none());
    }

    #[test]
    fn a_running_vm_shows_metrics_and_rates_from_the_second_sample() {
        let now = Instant::now();
        let first = row(&stat("Running", Some(snapshot(0.0))), None, now);
        assert_eq!(first[0], "sbox-1");
        assert_eq!(first[2], "2");
        assert_eq!(first[3], "0.50");
        assert_eq!(first[8], "12.3");
        assert_eq!(first[9], "1.00GiB");
        assert_eq!(first[10], "-", "no rate without a previous sample");
        assert_eq!(first[14], "1m2s");
        let before = Counters::of(&snapshot(0.0), now - Duration::from_secs(1));
        let second = row(&stat("Running", Some(snapshot(2048.0))), Some(&before), now);
        assert_eq!(second[10], "2.00KiB");
    }

    #[test]
    fn a_paused_or_unsampled_vm_shows_dashes() {
        let now = Instant::now();
        for s in [stat("Paused", Some(snapshot(0.0))), stat("Running", None)] {
            let cells = row(&s, None, now);
            assert_eq!(cells[1], "192.168.137.2");
            assert!(cells[2..].iter().all(|c| c == "-"), "{cells:?}");
        }
    }
}
