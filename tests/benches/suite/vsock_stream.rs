//! The raw vsock baseline of the copy figures: a plain byte stream over
//! the VM's hybrid-vsock path (vhost-device-vsock's Unix socket), with no
//! HTTP, no agent and no daemon in it. The guest end is a few lines of
//! `perl` (in the `full` image; `min` has nothing that opens `AF_VSOCK`
//! but the agent) using the raw socket calls, reading or writing 256 KiB
//! at a time:
//!
//! - host → guest: the guest listens on a vsock port and counts what it
//!   reads; the host sends `CONNECT <port>` on the VM's socket and writes.
//! - guest → host: the host listens on `<socket>_<port>`, where
//!   vhost-device-vsock delivers guest connections to host port `<port>`;
//!   the guest connects to CID 2 and writes.

use std::path::Path;
use std::time::{Duration, Instant};

use slicer_api::client::SlicerClient;
use slicer_api::types::ExecQuery;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Guest port of the host → guest listener and host port of the
/// guest → host connection; the agent uses 1024 (`AGENT_VSOCK_PORT`).
const PORT: u32 = 5201;

/// `AF_VSOCK` and a `sockaddr_vm` for `perl`'s raw `socket`/`bind`/
/// `connect`: family, reserved, port, cid, 4 zero bytes.
const PERL_VSOCK: &str =
    r#"sub vm { pack("SSLLx4", 40, 0, $_[0], $_[1]) } socket(S, 40, 1, 0) or die "socket: $!";"#;

const CHUNK: usize = 256 * 1024;

/// How long the guest end may take to appear (perl start-up under TCG).
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

fn perl(script: &str) -> ExecQuery {
    ExecQuery {
        cmd: format!("perl -e '{PERL_VSOCK} {script}'"),
        ..ExecQuery::default()
    }
}

/// Host → guest: MB/s of `bytes` written into a guest vsock listener,
/// from `CONNECT` until the guest reports it read them all.
pub async fn host_to_guest(
    client: &SlicerClient,
    host: &str,
    vsock_socket: &Path,
    bytes: usize,
) -> anyhow::Result<f64> {
    let listener = perl(&format!(
        r#"bind(S, vm({PORT}, 0xFFFFFFFF)) or die "bind: $!"; listen(S, 1) or die; accept(C, S) or die "accept: $!"; $t = 0; while (($r = sysread(C, $b, {CHUNK})) > 0) {{ $t += $r }} print "$t\n";"#
    ));
    let guest = client.exec_buffered(host, &listener);
    let feed = async {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let (mut stream, start) = loop {
            let start = Instant::now();
            match slicer_controller::vsock::connect(vsock_socket, PORT, SETUP_TIMEOUT).await {
                Ok(stream) => break (stream, start),
                Err(err) if err.is_transient() && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => return Err(anyhow::Error::from(err)),
            }
        };
        let chunk = vec![b'y'; CHUNK];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(CHUNK);
            stream.write_all(&chunk[..n]).await?;
            left -= n;
        }
        stream.shutdown().await?;
        Ok(start)
    };
    let (guest, start) = tokio::join!(guest, feed);
    let (guest, start) = (guest?, start?);
    let elapsed = start.elapsed();
    let read: usize = guest.stdout.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "guest listener said {:?} / {:?} (exit {})",
            guest.stdout,
            guest.stderr,
            guest.exit_code
        )
    })?;
    anyhow::ensure!(read == bytes, "guest read {read} bytes, expected {bytes}");
    Ok(bytes as f64 / elapsed.as_secs_f64() / 1e6)
}

/// Guest → host: MB/s of `bytes` a guest process writes to host port
/// [`PORT`], from the host's accept until end of stream.
pub async fn guest_to_host(
    client: &SlicerClient,
    host: &str,
    vsock_socket: &Path,
    bytes: usize,
) -> anyhow::Result<f64> {
    let mut path = vsock_socket.as_os_str().to_owned();
    path.push(format!("_{PORT}"));
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    let writer = perl(&format!(
        r#"connect(S, vm({PORT}, 2)) or die "connect: $!"; $b = "y" x {CHUNK}; $n = {bytes}; while ($n > 0) {{ $w = syswrite(S, $b, $n < {CHUNK} ? $n : {CHUNK}); die "write: $!" unless defined $w; $n -= $w }}"#
    ));
    let guest = client.exec_buffered(host, &writer);
    let drain = async {
        let (mut stream, _) = tokio::time::timeout(SETUP_TIMEOUT, listener.accept())
            .await
            .map_err(|_| anyhow::anyhow!("the guest never connected to host port {PORT}"))??;
        let start = Instant::now();
        let mut buf = vec![0u8; CHUNK];
        let mut read = 0usize;
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            read += n;
        }
        anyhow::Ok((read, start.elapsed()))
    };
    let (guest, drained) = tokio::join!(guest, drain);
    let _ = std::fs::remove_file(&path);
    let guest = guest?;
    anyhow::ensure!(
        guest.exit_code == 0,
        "guest writer ended with {}: {}",
        guest.exit_code,
        guest.stderr
    );
    let (read, elapsed) = drained?;
    anyhow::ensure!(read == bytes, "host read {read} bytes, expected {bytes}");
    Ok(bytes as f64 / elapsed.as_secs_f64() / 1e6)
}
