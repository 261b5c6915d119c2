//! A real guest on a TAP made by `LinuxNetwork`, inside a private network
//! namespace: the guest reaches its gateway, the host reaches the guest,
//! and the bridge and TAP go away afterwards. Nothing touches the host's
//! own links.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::tests_outside_test_module
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use ipnet::Ipv4Net;
use slicer_controller::hypervisor::spec::{GuestNetwork, NicSpec};
use slicer_controller::network::{HostNetwork, LinuxNetwork, mac_for};
use slicer_e2e::exec::check_output;
use slicer_e2e::netns::{current_netns, in_private_netns, netns_of_process};
use slicer_e2e::{GuestOptions, Rig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BRIDGE: &str = "slnet0";
const TAP: &str = "slnet0-tap0";
const GUEST_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const HTTP_PORT: u16 = 8080;
const TOKEN: &str = "slicer-guest-network-ok";

#[test]
fn guest_on_a_tap_reaches_the_gateway_and_the_host_reaches_the_guest() {
    assert!(
        Path::new("/dev/net/tun").exists(),
        "/dev/net/tun is missing: load the tun module (modprobe tun) to run this test"
    );
    let host_ns = current_netns().unwrap();
    in_private_netns(move || async move {
        let ns = current_netns()?;
        ensure!(ns != host_ns, "the scenario must run in its own namespace");
        let net = LinuxNetwork::new()?;
        let gateway: Ipv4Net = "10.77.0.1/24".parse()?;
        net.ensure_bridge(BRIDGE, gateway).await?;
        net.ensure_tap(TAP, BRIDGE).await?;

        let result = guest_scenario(ns, gateway).await;

        net.remove_tap(TAP).await?;
        net.remove_bridge(BRIDGE).await?;
        ensure!(net.taps_with_prefix("slnet").await?.is_empty());
        ensure!(net.addresses(BRIDGE).await?.is_empty());
        result
    })
    .unwrap();
}

async fn guest_scenario(ns: u64, gateway: Ipv4Net) -> anyhow::Result<()> {
    let rig = Rig::new()?;
    let mut options = GuestOptions::min("net-1");
    options.nic = Some((
        NicSpec {
            tap: TAP.to_owned(),
            mac: mac_for("net-1"),
        },
        GuestNetwork {
            address: GUEST_IP,
            prefix_len: gateway.prefix_len(),
            gateway: gateway.addr(),
            dns: vec![],
        },
    ));
    let guest = rig.boot(options).await?;
    // QEMU forked from this thread, so it shares its namespace and opened
    // our TAP, not a same-named one on the host.
    ensure!(
        netns_of_process(guest.handle().vmm.pid)? == ns,
        "QEMU (pid {}) is not in the test's network namespace",
        guest.handle().vmm.pid
    );
    let agent = guest.agent();
    ensure!(check_output(&agent, "echo ready").await? == "ready");

    let addresses = check_output(&agent, "ip -4 -o addr show").await?;
    if !addresses.contains(&format!("{GUEST_IP}/24")) {
        let all = check_output(&agent, "ip addr show; ip route show").await?;
        anyhow::bail!(
            "guest has no {GUEST_IP}/24:\n{all}\nconsole:\n{}",
            guest.console()
        );
    }
    check_output(&agent, &format!("ping -c 1 -W 10 {}", gateway.addr()))
        .await
        .context("guest cannot ping its gateway")?;

    // A guest listener the host connects to over the bridge.
    check_output(
        &agent,
        &format!(
            "mkdir -p /tmp/www && echo {TOKEN} > /tmp/www/index.html && \
             httpd -p {HTTP_PORT} -h /tmp/www </dev/null >/dev/null 2>&1"
        ),
    )
    .await?;
    let page = fetch_with_retries(SocketAddr::from((GUEST_IP, HTTP_PORT))).await?;
    ensure!(
        page.contains(TOKEN),
        "unexpected reply from the guest: {page}"
    );

    guest.shutdown(Duration::from_secs(20)).await?;
    Ok(())
}

/// `GET /` from `addr`, retried while the guest's server starts.
async fn fetch_with_retries(addr: SocketAddr) -> anyhow::Result<String> {
    let mut last_error = None;
    for _ in 0..10 {
        match tokio::time::timeout(Duration::from_secs(10), fetch(addr)).await {
            Ok(Ok(page)) => return Ok(page),
            Ok(Err(error)) => last_error = Some(error),
            Err(_) => last_error = Some(anyhow::anyhow!("timed out")),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last_error
        .unwrap_or_else(|| anyhow::anyhow!("no attempt"))
        .context(format!("host cannot fetch http://{addr}/ from the guest")))
}

async fn fetch(addr: SocketAddr) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    Ok(reply)
}
