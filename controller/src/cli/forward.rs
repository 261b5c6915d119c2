//! `slicer vm forward VM -L SPEC`: local ports (or sockets) forwarded to
//! targets inside the guest, one API WebSocket per accepted connection
//! (`reference/slicer.md` §7.9, §8.2). Runs until interrupted.

use clap::Args;
use futures_util::{SinkExt, StreamExt};
use slicer_api::client::SlicerClient;
use slicer_api::types::ForwardTarget;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use super::connect::ConnectArgs;

/// Flags of `slicer vm forward`.
#[derive(Debug, Args)]
pub struct ForwardArgs {
    /// The VM.
    pub vm: String,
    /// Specs such as `8080:127.0.0.1:80`, `127.0.0.1:3000`,
    /// `0.0.0.0:8080:127.0.0.1:80` or `/local.sock:/remote.sock`.
    pub specs: Vec<String>,
    /// More specs, repeatable.
    #[arg(long = "local", short = 'L')]
    pub local: Vec<String>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Where a forward listens on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Listen {
    Tcp(String),
    Unix(String),
}

/// Parse one spec into the local listener and the guest target.
fn parse_spec(spec: &str) -> anyhow::Result<(Listen, ForwardTarget)> {
    let bad = || {
        anyhow::anyhow!(
            "bad forward spec {spec:?}: use [BIND:]LPORT:HOST:PORT, HOST:PORT, or LOCAL:/remote.sock"
        )
    };
    // A remote unix socket is everything from the first ":/" on.
    if let Some(at) = spec.find(":/") {
        let local = &spec[..at];
        let remote: ForwardTarget = format!("unix:{}", &spec[at + 1..])
            .parse()
            .map_err(|_| bad())?;
        let listen = if local.starts_with('/') || local.starts_with("./") {
            Listen::Unix(local.to_owned())
        } else if local.contains(':') {
            Listen::Tcp(local.to_owned())
        } else {
            Listen::Tcp(format!("127.0.0.1:{local}"))
        };
        return Ok((listen, remote));
    }
    let parts: Vec<&str> = spec.split(':').collect();
    let (bind, lport, host, rport) = match parts.as_slice() {
        [host, port] => ("127.0.0.1", *port, *host, *port),
        [lport, host, rport] => ("127.0.0.1", *lport, *host, *rport),
        [bind, lport, host, rport] => (*bind, *lport, *host, *rport),
        _ => return Err(bad()),
    };
    lport.parse::<u16>().map_err(|_| bad())?;
    let target: ForwardTarget = format!("{host}:{rport}").parse().map_err(|_| bad())?;
    Ok((Listen::Tcp(format!("{bind}:{lport}")), target))
}

impl ForwardArgs {
    /// Listen and forward until Ctrl-C.
    pub async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let specs: Vec<&String> = self.specs.iter().chain(&self.local).collect();
        if specs.is_empty() {
            anyhow::bail!("give at least one forward spec (-L 8080:127.0.0.1:80)");
        }
        for spec in specs {
            let (listen, target) = parse_spec(spec)?;
            match listen {
                Listen::Tcp(addr) => {
                    let listener = tokio::net::TcpListener::bind(&addr)
                        .await
                        .map_err(|err| anyhow::anyhow!("cannot listen on {addr}: {err}"))?;
                    eprintln!(
                        "forwarding {} -> {}:{target}",
                        listener.local_addr()?,
                        self.vm
                    );
                    let (client, vm) = (client.clone(), self.vm.clone());
                    tokio::spawn(async move {
                        while let Ok((stream, _)) = listener.accept().await {
                            tokio::spawn(tunnel(
                                client.clone(),
                                vm.clone(),
                                target.clone(),
                                stream,
                            ));
                        }
                    });
                }
                Listen::Unix(path) => {
                    let _ = std::fs::remove_file(&path);
                    let listener = tokio::net::UnixListener::bind(&path)
                        .map_err(|err| anyhow::anyhow!("cannot listen on {path}: {err}"))?;
                    eprintln!("forwarding {path} -> {}:{target}", self.vm);
                    let (client, vm) = (client.clone(), self.vm.clone());
                    tokio::spawn(async move {
                        while let Ok((stream, _)) = listener.accept().await {
                            tokio::spawn(tunnel(
                                client.clone(),
                                vm.clone(),
                                target.clone(),
                                stream,
                            ));
                        }
                    });
                }
            }
        }
        tokio::signal::ctrl_c().await?;
        Ok(0)
    }
}

/// One local connection bridged to one WebSocket.
async fn tunnel<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
    client: SlicerClient,
    vm: String,
    target: ForwardTarget,
    stream: S,
) {
    let socket = match client.forward(&vm, &target).await {
        Ok(socket) => socket,
        Err(err) => {
            eprintln!("slicer: forward to {vm}:{target}: {err}");
            return;
        }
    };
    let (mut local_rx, mut local_tx) = tokio::io::split(stream);
    let (mut ws_tx, mut ws_rx) = socket.split();
    let upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match local_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if ws_tx
                        .send(Message::Binary(buf[..n].to_vec().into()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        // A WebSocket cannot half-close; keep reading the guest's answer
        // until it closes the tunnel.
        std::future::pending::<()>().await;
    };
    let downstream = async {
        while let Some(Ok(message)) = ws_rx.next().await {
            let open = match message {
                Message::Binary(bytes) => local_tx.write_all(&bytes).await.is_ok(),
                Message::Close(_) => false,
                _ => true,
            };
            if !open {
                break;
            }
        }
        let _ = local_tx.shutdown().await;
    };
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_like_slicer() {
        assert_eq!(
            parse_spec("8080:127.0.0.1:80").unwrap(),
            (
                Listen::Tcp("127.0.0.1:8080".into()),
                ForwardTarget::Tcp("127.0.0.1:80".into())
            )
        );
        assert_eq!(
            parse_spec("127.0.0.1:3000").unwrap(),
            (
                Listen::Tcp("127.0.0.1:3000".into()),
                ForwardTarget::Tcp("127.0.0.1:3000".into())
            )
        );
        assert_eq!(
            parse_spec("0.0.0.0:8080:10.0.0.1:80").unwrap().0,
            Listen::Tcp("0.0.0.0:8080".into())
        );
        assert_eq!(
            parse_spec("2375:/var/run/docker.sock").unwrap(),
            (
                Listen::Tcp("127.0.0.1:2375".into()),
                ForwardTarget::Unix("/var/run/docker.sock".into())
            )
        );
        assert!(parse_spec("nonsense").is_err());
    }
}
