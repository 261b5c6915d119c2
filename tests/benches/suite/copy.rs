//! Copy figures: host → guest and guest → host throughput of one file
//! through the daemon's REST API (`SlicerClient::upload` / `download`,
//! `POST`/`GET /vm/{h}/cp`, binary mode: client → daemon → agent over
//! hybrid vsock → the guest's disk), against a raw byte stream over the
//! same hybrid-vsock path ([`crate::vsock_stream`]). Runs on a `full`
//! guest, the image whose `perl` can open a vsock socket.

use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use http_body_util::BodyDataStream;
use slicer_api::client::{SlicerClient, reader_body};
use slicer_api::types::{CopyMode, CopyQuery};
use slicer_controller::hypervisor::VmHandle;
use slicer_e2e::Rig;
use slicer_e2e::in_process::InProcessDaemon;

use crate::Plan;
use crate::figures::{Summary, Table, ratio, retries_note};
use crate::real::{create_retrying, delete};
use crate::vsock_stream;

const GUEST_PATH: &str = "/root/copy.bin";

fn mb_per_s(bytes: usize, start: Instant) -> f64 {
    bytes as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn query() -> CopyQuery {
    CopyQuery {
        path: GUEST_PATH.into(),
        mode: CopyMode::Binary,
        ..Default::default()
    }
}

async fn upload(
    client: &SlicerClient,
    host: &str,
    local: &Path,
    bytes: usize,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    client
        .upload(
            host,
            &query(),
            reader_body(tokio::fs::File::open(local).await?),
        )
        .await?;
    Ok(mb_per_s(bytes, start))
}

async fn download(client: &SlicerClient, host: &str, bytes: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    let (_, body) = client.download(host, &query()).await?;
    let mut body = BodyDataStream::new(body);
    let mut len = 0usize;
    while let Some(chunk) = body.next().await {
        len += chunk?.len();
    }
    anyhow::ensure!(len == bytes, "downloaded {len} bytes, expected {bytes}");
    Ok(mb_per_s(bytes, start))
}

pub async fn run(
    rig: &Rig,
    daemon: &InProcessDaemon,
    plan: &Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let client = &daemon.client;
    let bytes = plan.copy_bytes;
    let local = rig.scratch().join("copy.bin");
    let data: Vec<u8> = (0..bytes)
        .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[1])
        .collect();
    std::fs::write(&local, &data)?;
    drop(data);
    let (host, _, attempt) = create_retrying(client, "bfull").await?;
    let handle = VmHandle::load(&daemon.data().run_dir(&host))?
        .ok_or_else(|| anyhow::anyhow!("{host} has no handle"))?;
    let socket = handle.vsock_socket.clone();
    let (mut up, mut down, mut raw_in, mut raw_out) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..plan.copy_rounds {
        raw_in.push(vsock_stream::host_to_guest(client, &host, &socket, bytes).await?);
        up.push(upload(client, &host, &local, bytes).await?);
        down.push(download(client, &host, bytes).await?);
        raw_out.push(vsock_stream::guest_to_host(client, &host, &socket, bytes).await?);
    }
    delete(client, "bfull", &host).await?;
    let _ = std::fs::remove_file(&local);
    let mib = bytes >> 20;
    let (up, down, raw_in, raw_out) = (
        Summary::of(&up),
        Summary::of(&down),
        Summary::of(&raw_in),
        Summary::of(&raw_out),
    );
    let guest = format!(
        "`full` guest ({})",
        retries_note(&[attempt]).replace("no retries", "booted first time")
    );
    table.summary(
        "copy",
        "host → guest raw vsock stream (baseline)",
        raw_in,
        "MB/s",
        format!(
            "{mib} MiB: CONNECT on the VM socket → guest perl AF_VSOCK listener, discarded; {guest}"
        ),
    );
    table.summary(
        "copy",
        "cp host → guest through the API (`POST /vm/{h}/cp`)",
        up,
        "MB/s",
        format!(
            "{mib} MiB file to {GUEST_PATH}; vs raw {}",
            ratio(up, raw_in)
        ),
    );
    table.summary(
        "copy",
        "guest → host raw vsock stream (baseline)",
        raw_out,
        "MB/s",
        format!(
            "{mib} MiB: guest perl AF_VSOCK connect to CID 2 → host listener on `<socket>_<port>`"
        ),
    );
    table.summary(
        "copy",
        "cp guest → host through the API (`GET /vm/{h}/cp`)",
        down,
        "MB/s",
        format!(
            "{mib} MiB file from {GUEST_PATH}; vs raw {}",
            ratio(down, raw_out)
        ),
    );
    Ok(())
}
