//! Guest benchmarks (issue "Real guests"): launch → agent ready through the
//! driver against a raw QEMU baseline, exec round trips, and copy
//! throughput. Prints a table; asserts nothing about speed.
//!
//! Run: `sudo cargo bench -p slicer-e2e --bench guest` (images must exist).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http_body_util::BodyDataStream;
use slicer_api::types::{CopyMode, CopyQuery, ExecQuery};
use slicer_controller::agent_client::{AgentClient, reader_body};
use slicer_controller::hypervisor::qemu::{QEMU_BINARY, VHOST_VSOCK_BINARY, find_binary};
use slicer_controller::hypervisor::spec::GuestSettings;
use slicer_controller::hypervisor::tsc::host_tsc_khz;
use slicer_e2e::{GuestOptions, Rig};

const BOOT_RUNS: usize = 5;
const EXEC_CALLS: usize = 200;
const COPY_BYTES: usize = 128 * 1024 * 1024;

#[derive(Debug)]
struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats {
        median: samples[samples.len() / 2],
        min: samples[0],
        max: samples[samples.len() - 1],
    }
}

/// Nearest-rank percentile `p` (0..=100) of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * (sorted.len() - 1) + 50) / 100;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Boot with hand-written QEMU and vhost-device-vsock command lines (no
/// driver, no run-dir bookkeeping), and time process start → agent health.
async fn raw_boot(rig: &Rig, n: usize) -> anyhow::Result<Duration> {
    let dir = rig.scratch().join(format!("raw-{n}"));
    std::fs::create_dir_all(&dir)?;
    let disk = rig.new_disk("min", &format!("raw-{n}"))?;
    let boot = rig.image("min")?.boot_source(GuestSettings {
        hostname: format!("raw-{n}"),
        network: None,
    });
    let (kernel, initrd) = (boot.kernel_bzimage, boot.initrd.unwrap_or_default());
    let tsc = host_tsc_khz()
        .map(|k| format!(" tsc_early_khz={k}"))
        .unwrap_or_default();
    let start = Instant::now();
    let mut vhost: Child = Command::new(find_binary(VHOST_VSOCK_BINARY)?)
        .args(["--guest-cid", "3", "--socket"])
        .arg(dir.join("vhost.sock"))
        .arg("--uds-path")
        .arg(dir.join("vsock"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    while !dir.join("vhost.sock").exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut qemu = Command::new(find_binary(QEMU_BINARY)?)
        .args(["-M", "microvm,memory-backend=mem", "-accel", "tcg", "-cpu", "max", "-m", "256", "-smp", "1"])
        .args(["-object", "memory-backend-memfd,id=mem,size=256M,share=on"])
        .args(["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-serial", "null"])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .arg("-append")
        .arg(format!(
            "console=ttyS0 quiet panic=-1 cryptomgr.notests root=/dev/vda rw slicer.hostname=raw-{n}{tsc}"
        ))
        .arg("-drive")
        .arg(format!("id=root,file={},format=raw,if=none,cache=unsafe", disk.display()))
        .args(["-device", "virtio-blk-device,drive=root"])
        .arg("-chardev")
        .arg(format!("socket,id=vsock0,path={}", dir.join("vhost.sock").display()))
        .args(["-device", "vhost-user-vsock-device,chardev=vsock0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let ready = AgentClient::new(dir.join("vsock"))
        .wait_ready(Duration::from_secs(60))
        .await;
    let elapsed = start.elapsed();
    let _ = qemu.kill();
    let _ = qemu.wait();
    let _ = vhost.kill();
    let _ = vhost.wait();
    ready?;
    Ok(elapsed)
}

async fn copy_throughput(rig: &Rig, agent: &AgentClient) -> anyhow::Result<(f64, f64)> {
    let local = rig.scratch().join("copy.bin");
    let data: Vec<u8> = (0..COPY_BYTES)
        .map(|i| i.wrapping_mul(2654435761).to_le_bytes()[1])
        .collect();
    std::fs::write(&local, &data)?;
    drop(data);
    let query = CopyQuery {
        path: "/root/copy.bin".into(),
        mode: CopyMode::Binary,
        ..Default::default()
    };
    let start = Instant::now();
    agent
        .upload(&query, reader_body(tokio::fs::File::open(&local).await?))
        .await?;
    let up = COPY_BYTES as f64 / start.elapsed().as_secs_f64() / 1e6;
    let start = Instant::now();
    let download = agent.download(&query).await?;
    let mut body = BodyDataStream::new(download.body);
    let mut len = 0usize;
    while let Some(chunk) = body.next().await {
        len += chunk?.len();
    }
    let down = len as f64 / start.elapsed().as_secs_f64() / 1e6;
    anyhow::ensure!(
        len == COPY_BYTES,
        "downloaded {len} bytes, expected {COPY_BYTES}"
    );
    Ok((up, down))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let rig = Rig::new()?;
    println!(
        "slicer guest benchmarks ({})",
        slicer_controller::hypervisor::Hypervisor::describe(rig.driver().as_ref())
    );

    let mut driver_boots = Vec::new();
    let mut raw_boots = Vec::new();
    for n in 0..BOOT_RUNS {
        raw_boots.push(raw_boot(&rig, n).await?);
        let guest = rig.boot(GuestOptions::min(&format!("bench-{n}"))).await?;
        driver_boots.push(guest.boot_time);
        guest.shutdown(Duration::from_secs(10)).await?;
    }
    let (raw, ours) = (stats(raw_boots), stats(driver_boots));

    let guest = rig.boot(GuestOptions::min("bench-exec")).await?;
    let agent = guest.agent();
    let query = ExecQuery {
        cmd: "/bin/true".into(),
        shell: Some(String::new()),
        ..ExecQuery::default()
    };
    let first = Instant::now();
    agent.exec_buffered(&query, None).await?;
    let first = first.elapsed();
    let mut rtts = Vec::with_capacity(EXEC_CALLS);
    for _ in 0..EXEC_CALLS {
        let start = Instant::now();
        let result = agent.exec_buffered(&query, None).await?;
        rtts.push(start.elapsed());
        anyhow::ensure!(result.exit_code == 0, "exec failed: {result:?}");
    }
    rtts.sort();
    let (up, down) = copy_throughput(&rig, &agent).await?;
    guest.shutdown(Duration::from_secs(10)).await?;

    println!();
    println!("| measure | median | min | max | note |");
    println!("|---|---|---|---|---|");
    println!(
        "| raw QEMU start → agent answers (baseline) | {} | {} | {} | {BOOT_RUNS} runs |",
        ms(raw.median),
        ms(raw.min),
        ms(raw.max)
    );
    println!(
        "| driver launch → agent ready | {} | {} | {} | ratio to baseline {:.2} |",
        ms(ours.median),
        ms(ours.min),
        ms(ours.max),
        ours.median.as_secs_f64() / raw.median.as_secs_f64()
    );
    println!("| first exec after ready | {} | | | |", ms(first));
    println!(
        "| exec round trip (`/bin/true`, buffered) | p50 {} | p99 {} | max {} | {EXEC_CALLS} calls |",
        ms(percentile(&rtts, 50)),
        ms(percentile(&rtts, 99)),
        ms(rtts[rtts.len() - 1])
    );
    println!(
        "| cp host → guest | {up:.1} MB/s | | | {} MiB file |",
        COPY_BYTES >> 20
    );
    println!(
        "| cp guest → host | {down:.1} MB/s | | | {} MiB file |",
        COPY_BYTES >> 20
    );
    Ok(())
}
