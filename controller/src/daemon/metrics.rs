//! `/metrics`: the daemon's Prometheus metrics with upstream's names
//! (`reference/slicer.md` §7.11). Counters are kept as requests come;
//! VM and host gauges are read from the store and `/proc` at each scrape.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::config::HostGroupSpec;
use crate::model::{Vm, VmRole};
use crate::store::{Store, StoreError};

/// Env var naming the NIC whose traffic is `slicer_system_egress_*`.
pub const EGRESS_ADAPTER_ENV: &str = "SLICER_EGRESS_ADAPTER";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaunchLabels {
    host_group: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunningLabels {
    host_group: String,
    api: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabels {
    host_group: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    method: String,
    code: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 4.0, 10))
}

/// The registry and every metric in it.
pub struct DaemonMetrics {
    registry: Registry,
    launches: Family<LaunchLabels, Counter>,
    running: Family<RunningLabels, Gauge>,
    gpus: Family<GroupLabels, Gauge>,
    requests: Family<ApiLabels, Counter>,
    durations: Family<ApiLabels, Histogram, fn() -> Histogram>,
    load: [FloatGauge; 3],
    memory_total: Gauge,
    memory_available: Gauge,
    egress_tx: Gauge,
    egress_rx: Gauge,
    open_files: Gauge,
    open_connections: Gauge,
}

impl std::fmt::Debug for DaemonMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DaemonMetrics")
    }
}

impl Default for DaemonMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl DaemonMetrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let metrics = Self {
            launches: Family::default(),
            running: Family::default(),
            gpus: Family::default(),
            requests: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            load: Default::default(),
            memory_total: Gauge::default(),
            memory_available: Gauge::default(),
            egress_tx: Gauge::default(),
            egress_rx: Gauge::default(),
            open_files: Gauge::default(),
            open_connections: Gauge::default(),
            registry: Registry::default(),
        };
        // prometheus-client appends `_total` to counter names.
        registry.register(
            "slicer_vm_launch",
            "VM launches through the API, by host group and answer code",
            metrics.launches.clone(),
        );
        registry.register(
            "slicer_vm_running",
            "VMs by host group, origin (api=true for API-created) and state",
            metrics.running.clone(),
        );
        registry.register(
            "slicer_vm_gpu_count",
            "GPUs per VM of each host group",
            metrics.gpus.clone(),
        );
        registry.register(
            "slicer_api_requests",
            "API requests by method and answer code",
            metrics.requests.clone(),
        );
        registry.register(
            "slicer_api_request_duration_seconds",
            "time to answer API requests",
            metrics.durations.clone(),
        );
        for (gauge, minutes) in metrics.load.iter().zip([1, 5, 15]) {
            registry.register(
                format!("slicer_system_load_avg_{minutes}"),
                format!("host load average over {minutes} minutes"),
                gauge.clone(),
            );
        }
        for (name, help, gauge) in [
            (
                "slicer_system_memory_total_bytes",
                "host memory",
                &metrics.memory_total,
            ),
            (
                "slicer_system_memory_available_bytes",
                "host memory available",
                &metrics.memory_available,
            ),
            (
                "slicer_system_egress_tx",
                "bytes sent by the egress NIC (SLICER_EGRESS_ADAPTER, else the default route's)",
                &metrics.egress_tx,
            ),
            (
                "slicer_system_egress_rx",
                "bytes received by the egress NIC",
                &metrics.egress_rx,
            ),
            (
                "slicer_system_open_files",
                "open file handles on the host",
                &metrics.open_files,
            ),
            (
                "slicer_system_open_connections",
                "established TCP connections on the host",
                &metrics.open_connections,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        Self {
            registry,
            ..metrics
        }
    }

    /// Count one API launch (create or relaunch) answered with `code`.
    pub fn count_launch(&self, host_group: &str, code: u16) {
        self.launches
            .get_or_create(&LaunchLabels {
                host_group: host_group.to_owned(),
                code: code.to_string(),
            })
            .inc();
    }

    /// Count one answered API request.
    pub fn observe_request(&self, method: &str, code: u16, seconds: f64) {
        let labels = ApiLabels {
            method: method.to_owned(),
            code: code.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(seconds);
    }

    /// Refresh the gauges and render everything as Prometheus text.
    pub fn render(&self, store: &Store) -> Result<String, StoreError> {
        self.running.clear();
        for vm in store.list::<Vm>()? {
            self.running
                .get_or_create(&RunningLabels {
                    host_group: vm.spec.group.clone(),
                    api: (vm.spec.role == VmRole::Sandbox).to_string(),
                    state: vm.status.phase.api_status().to_owned(),
                })
                .inc();
        }
        self.gpus.clear();
        for group in store.list::<HostGroupSpec>()? {
            self.gpus
                .get_or_create(&GroupLabels {
                    host_group: group.spec.name.clone(),
                })
                .set(i64::from(group.spec.gpu_count));
        }
        self.read_host();
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        Ok(text)
    }

    fn read_host(&self) {
        if let Ok(loadavg) = std::fs::read_to_string("/proc/loadavg") {
            for (gauge, value) in self.load.iter().zip(loadavg.split_whitespace()) {
                gauge.set(value.parse().unwrap_or(0.0));
            }
        }
        if let Ok(meminfo) = std::fs::read_to_string("/proc/meminfo") {
            self.memory_total.set(meminfo_bytes(&meminfo, "MemTotal:"));
            self.memory_available
                .set(meminfo_bytes(&meminfo, "MemAvailable:"));
        }
        if let Some(nic) = egress_adapter() {
            let read = |name: &str| {
                std::fs::read_to_string(format!("/sys/class/net/{nic}/statistics/{name}"))
                    .ok()
                    .and_then(|text| text.trim().parse().ok())
                    .unwrap_or(0)
            };
            self.egress_tx.set(read("tx_bytes"));
            self.egress_rx.set(read("rx_bytes"));
        }
        if let Ok(file_nr) = std::fs::read_to_string("/proc/sys/fs/file-nr") {
            self.open_files.set(
                file_nr
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            );
        }
        let established: usize = ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .map(|table| {
                table
                    .lines()
                    .skip(1)
                    .filter(|line| line.split_whitespace().nth(3) == Some("01"))
                    .count()
            })
            .sum();
        self.open_connections
            .set(i64::try_from(established).unwrap_or(i64::MAX));
    }
}

fn meminfo_bytes(meminfo: &str, key: &str) -> i64 {
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<i64>().ok())
        .map_or(0, |kib| kib.saturating_mul(1024))
}

/// `SLICER_EGRESS_ADAPTER`, else the interface of the IPv4 default route.
fn egress_adapter() -> Option<String> {
    if let Ok(nic) = std::env::var(EGRESS_ADAPTER_ENV)
        && !nic.is_empty()
    {
        return Some(nic);
    }
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    routes.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        let nic = fields.next()?;
        (fields.next()? == "00000000").then(|| nic.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_upstream_names() {
        let store = Store::temporary().unwrap();
        let metrics = DaemonMetrics::new();
        metrics.count_launch("sbox", 201);
        metrics.observe_request("GET", 200, 0.01);
        let text = metrics.render(&store).unwrap();
        for name in [
            "slicer_vm_launch_total{host_group=\"sbox\",code=\"201\"} 1",
            "slicer_api_requests_total{method=\"GET\",code=\"200\"} 1",
            "slicer_api_request_duration_seconds_count{method=\"GET\",code=\"200\"} 1",
            "slicer_system_load_avg_1 ",
            "slicer_system_memory_total_bytes ",
            "slicer_system_open_files ",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
