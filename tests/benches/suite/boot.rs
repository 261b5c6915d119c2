//! Boot figures: the `min` image to agent-ready and the `full` image to
//! systemd multi-user, each three ways: hand-written QEMU command lines
//! (min only), the driver directly (`QemuDriver::launch` + agent ready),
//! and an API create with `wait=agent` through the in-process daemon.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use slicer_api::types::ExecQuery;
use slicer_controller::agent_client::AgentClient;
use slicer_controller::hypervisor::qemu::{QEMU_BINARY, VHOST_VSOCK_BINARY, find_binary};
use slicer_controller::hypervisor::spec::GuestSettings;
use slicer_controller::hypervisor::tsc::host_tsc_khz;
use slicer_e2e::in_process::InProcessDaemon;
use slicer_e2e::{GuestOptions, Rig};

use crate::Plan;
use crate::exec::true_query;
use crate::figures::{Summary, Table, ratio, retries_note};
use crate::real::{create_retrying, delete};

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
        tokio::time::sleep(Duration::from_millis(1)).await;
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
    let _ = std::fs::remove_file(&disk);
    ready?;
    Ok(elapsed)
}

/// `systemctl is-system-running --wait`: returns once boot finished
/// (`running`, or `degraded` when a unit failed).
fn multi_user_query() -> ExecQuery {
    ExecQuery {
        cmd: "systemctl is-system-running --wait".into(),
        ..ExecQuery::default()
    }
}

/// How long one `full` boot attempt may take to reach agent-ready, and
/// how long systemd then gets to finish: ~10 s each on an idle host,
/// several times that on a loaded one.
const FULL_BOOT_TIMEOUT: Duration = Duration::from_secs(180);

/// Run the multi-user query, bounded by [`FULL_BOOT_TIMEOUT`]; returns the
/// state systemd reported and how long the wait took.
async fn wait_multi_user<F>(exec: F) -> anyhow::Result<(String, Duration)>
where
    F: std::future::Future<Output = anyhow::Result<String>>,
{
    let t = Instant::now();
    let state = tokio::time::timeout(FULL_BOOT_TIMEOUT, exec)
        .await
        .map_err(|_| anyhow::anyhow!("systemd not settled within {FULL_BOOT_TIMEOUT:?}"))??;
    Ok((state, t.elapsed()))
}

pub async fn run(
    rig: &Rig,
    daemon: &InProcessDaemon,
    plan: &Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let client = &daemon.client;
    let (mut raw, mut driver, mut api) = (Vec::new(), Vec::new(), Vec::new());
    let (mut first_direct, mut first_api) = (Vec::new(), Vec::new());
    let (mut driver_attempts, mut api_attempts) = (Vec::new(), Vec::new());
    for n in 0..plan.boot_runs {
        raw.push(raw_boot(rig, n).await?);

        let guest = rig.boot(GuestOptions::min(&format!("drv-{n}"))).await?;
        driver.push(guest.boot_time);
        driver_attempts.push(guest.boot_attempt);
        let t = Instant::now();
        guest.agent().exec_buffered(&true_query(), None).await?;
        first_direct.push(t.elapsed());
        guest.shutdown(Duration::from_secs(10)).await?;

        let (host, took, attempt) = create_retrying(client, "bmin").await?;
        api.push(took);
        api_attempts.push(attempt);
        let t = Instant::now();
        client.exec_buffered(&host, &true_query()).await?;
        first_api.push(t.elapsed());
        delete(client, "bmin", &host).await?;
    }
    let (raw, driver, api) = (
        Summary::of_ms(&raw),
        Summary::of_ms(&driver),
        Summary::of_ms(&api),
    );
    table.summary(
        "boot min",
        "hand-written QEMU start → agent answers",
        raw,
        "ms",
        "reference: no driver, console to null",
    );
    table.summary(
        "boot min",
        "driver launch → agent ready (baseline)",
        driver,
        "ms",
        format!(
            "vs hand-written {}; {}",
            ratio(driver, raw),
            retries_note(&driver_attempts)
        ),
    );
    table.summary(
        "boot min",
        "API create `wait=agent` (daemon)",
        api,
        "ms",
        format!(
            "vs driver {}; {}",
            ratio(api, driver),
            retries_note(&api_attempts)
        ),
    );
    let (fd, fa) = (Summary::of_ms(&first_direct), Summary::of_ms(&first_api));
    table.summary(
        "boot min",
        "first exec after ready, direct agent",
        fd,
        "ms",
        "`/bin/true` buffered",
    );
    table.summary(
        "boot min",
        "first exec after ready, through the API",
        fa,
        "ms",
        format!("vs direct {}", ratio(fa, fd)),
    );
    full(rig, daemon, plan, table).await
}

/// The `full` image to systemd multi-user: agent ready, then
/// `systemctl is-system-running --wait`, by the driver and through the API.
/// Multi-user times are the ready time of the attempt that booted plus the
/// wait, so a retried stall never inflates them silently.
async fn full(
    rig: &Rig,
    daemon: &InProcessDaemon,
    plan: &Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let client = &daemon.client;
    let (mut drv_ready, mut drv_mu, mut api_ready, mut api_mu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut driver_attempts, mut api_attempts) = (Vec::new(), Vec::new());
    let mut states = Vec::new();
    for n in 0..plan.full_runs {
        let guest = rig
            .boot(GuestOptions {
                boot_timeout: FULL_BOOT_TIMEOUT,
                ..GuestOptions::full(&format!("drvfull-{n}"))
            })
            .await?;
        drv_ready.push(guest.boot_time);
        driver_attempts.push(guest.boot_attempt);
        let agent = guest.agent();
        let (state, waited) = wait_multi_user(async {
            Ok(agent.exec_buffered(&multi_user_query(), None).await?.stdout)
        })
        .await?;
        drv_mu.push(guest.boot_time + waited);
        states.push(state.trim().to_owned());
        guest.shutdown(Duration::from_secs(20)).await?;

        let (host, took, attempt) = create_retrying(client, "bfull").await?;
        api_ready.push(took);
        api_attempts.push(attempt);
        let (state, waited) = wait_multi_user(async {
            Ok(client
                .exec_buffered(&host, &multi_user_query())
                .await?
                .stdout)
        })
        .await?;
        api_mu.push(took + waited);
        states.push(state.trim().to_owned());
        delete(client, "bfull", &host).await?;
    }
    states.sort();
    states.dedup();
    let states = states.join("/");
    let (dr, dm, ar, am) = (
        Summary::of_ms(&drv_ready),
        Summary::of_ms(&drv_mu),
        Summary::of_ms(&api_ready),
        Summary::of_ms(&api_mu),
    );
    table.summary(
        "boot full",
        "driver launch → agent ready",
        dr,
        "ms",
        format!(
            "systemd image, 1 GiB; {} s per attempt, {}",
            FULL_BOOT_TIMEOUT.as_secs(),
            retries_note(&driver_attempts)
        ),
    );
    table.summary(
        "boot full",
        "API create `wait=agent`",
        ar,
        "ms",
        format!(
            "vs driver {}; {}",
            ratio(ar, dr),
            retries_note(&api_attempts)
        ),
    );
    table.summary(
        "boot full",
        "driver launch → multi-user (baseline)",
        dm,
        "ms",
        format!("`systemctl is-system-running --wait` said {states}"),
    );
    table.summary(
        "boot full",
        "API create → multi-user",
        am,
        "ms",
        format!("vs driver {}", ratio(am, dm)),
    );
    Ok(())
}
