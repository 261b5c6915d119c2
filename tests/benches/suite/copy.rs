//! Copy figures: host → guest and guest → host throughput of one file
//! through the agent's copy endpoint, against a plain stream over the
//! same vsock path (exec stdin into `cat > /dev/null`, and exec stdout of
//! a generator). The daemon's REST API has no cp route yet, so both run
//! through the agent client over the VM's hybrid-vsock socket.

use std::time::Instant;

use futures_util::StreamExt;
use http_body_util::BodyDataStream;
use slicer_api::types::{CopyMode, CopyQuery, ExecQuery};
use slicer_controller::agent_client::{AgentClient, empty_body, reader_body};
use slicer_controller::hypervisor::VmHandle;
use slicer_e2e::Rig;
use slicer_e2e::in_process::InProcessDaemon;

use crate::Plan;
use crate::figures::{Summary, Table, ratio};
use crate::real::{create, delete};

fn mb_per_s(bytes: usize, start: Instant) -> f64 {
    bytes as f64 / start.elapsed().as_secs_f64() / 1e6
}

async fn upload(agent: &AgentClient, local: &std::path::Path, bytes: usize) -> anyhow::Result<f64> {
    let query = CopyQuery {
        path: "/root/copy.bin".into(),
        mode: CopyMode::Binary,
        ..Default::default()
    };
    let start = Instant::now();
    agent
        .upload(&query, reader_body(tokio::fs::File::open(local).await?))
        .await?;
    Ok(mb_per_s(bytes, start))
}

async fn download(agent: &AgentClient, bytes: usize) -> anyhow::Result<f64> {
    let query = CopyQuery {
        path: "/root/copy.bin".into(),
        mode: CopyMode::Binary,
        ..Default::default()
    };
    let start = Instant::now();
    let download = agent.download(&query).await?;
    let mut body = BodyDataStream::new(download.body);
    let mut len = 0usize;
    while let Some(chunk) = body.next().await {
        len += chunk?.len();
    }
    anyhow::ensure!(len == bytes, "downloaded {len} bytes, expected {bytes}");
    Ok(mb_per_s(bytes, start))
}

/// Host → guest plain stream: the file as exec stdin, discarded.
async fn stream_in(
    agent: &AgentClient,
    local: &std::path::Path,
    bytes: usize,
) -> anyhow::Result<f64> {
    let query = ExecQuery {
        cmd: "cat > /dev/null".into(),
        stdin: Some(true),
        ..ExecQuery::default()
    };
    let start = Instant::now();
    let mut frames = agent
        .exec(&query, reader_body(tokio::fs::File::open(local).await?))
        .await?;
    let mut exit = None;
    while let Some(frame) = frames.next_frame().await {
        let frame = frame?;
        if frame.exit_code.is_some() {
            exit = frame.exit_code;
        }
    }
    anyhow::ensure!(exit == Some(0), "cat > /dev/null ended with {exit:?}");
    Ok(mb_per_s(bytes, start))
}

/// Guest → host plain stream: a generator's stdout as exec frames.
async fn stream_out(agent: &AgentClient, bytes: usize) -> anyhow::Result<f64> {
    let query = ExecQuery {
        cmd: format!("head -c {bytes} /dev/zero | tr '\\0' y"),
        ..ExecQuery::default()
    };
    let start = Instant::now();
    let mut frames = agent.exec(&query, empty_body()).await?;
    let mut len = 0usize;
    while let Some(frame) = frames.next_frame().await {
        if let Some((_, data)) = frame?.output_payload() {
            len += data.len();
        }
    }
    anyhow::ensure!(len == bytes, "streamed {len} bytes, expected {bytes}");
    Ok(mb_per_s(bytes, start))
}

pub async fn run(
    rig: &Rig,
    daemon: &InProcessDaemon,
    plan: &Plan,
    table: &mut Table,
) -> anyhow::Result<()> {
    let bytes = plan.copy_bytes;
    let local = rig.scratch().join("copy.bin");
    let data: Vec<u8> = (0..bytes)
        .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[1])
        .collect();
    std::fs::write(&local, &data)?;
    drop(data);
    let (host, _) = create(&daemon.client, "bmin").await?;
    let handle = VmHandle::load(&daemon.data().run_dir(&host))?
        .ok_or_else(|| anyhow::anyhow!("{host} has no handle"))?;
    let agent = handle.agent();
    let rounds = if plan.quick { 1 } else { 2 };
    let (mut up, mut down, mut s_in, mut s_out) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        s_in.push(stream_in(&agent, &local, bytes).await?);
        up.push(upload(&agent, &local, bytes).await?);
        down.push(download(&agent, bytes).await?);
        s_out.push(stream_out(&agent, bytes).await?);
    }
    delete(&daemon.client, "bmin", &host).await?;
    let _ = std::fs::remove_file(&local);
    let mib = bytes >> 20;
    let (up, down, s_in, s_out) = (
        Summary::of(&up),
        Summary::of(&down),
        Summary::of(&s_in),
        Summary::of(&s_out),
    );
    table.summary(
        "copy",
        "host → guest stream: exec stdin → `cat > /dev/null` (baseline)",
        s_in,
        "MB/s",
        format!("{mib} MiB"),
    );
    table.summary(
        "copy",
        "cp host → guest (agent `POST /v1/cp`)",
        up,
        "MB/s",
        format!("{mib} MiB to /root; vs stream {}", ratio(up, s_in)),
    );
    table.summary(
        "copy",
        "guest → host stream: exec stdout frames (baseline)",
        s_out,
        "MB/s",
        format!("{mib} MiB of text in NDJSON frames"),
    );
    table.summary(
        "copy",
        "cp guest → host (agent `GET /v1/cp`)",
        down,
        "MB/s",
        format!("{mib} MiB; vs stream {}", ratio(down, s_out)),
    );
    Ok(())
}
