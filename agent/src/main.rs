//! `slicer-agent`: the guest agent. Serves the daemon's HTTP API over
//! vsock; in the `min` image it is also the guest's init.

mod config;
mod error;
mod exec;
mod files;
mod init;
mod listen;
mod routes;
mod secrets;
mod stats;
mod upload;
mod userdata;

use std::time::Duration;

use listen::ListenAddr;
use slicer_api::types::AGENT_VSOCK_PORT;

fn parse_listen() -> Result<ListenAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut listen = ListenAddr::Vsock(AGENT_VSOCK_PORT);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs a value")?.parse()?,
            "--version" => {
                println!("slicer-agent {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (usage: slicer-agent [--listen vsock:PORT|unix:PATH|tcp:ADDR] | slicer-agent upload check|finalise|abort …)"
                ));
            }
        }
    }
    Ok(listen)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("upload") {
        std::process::exit(upload::run(&args[1..]));
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLICER_AGENT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let listen = match parse_listen() {
        Ok(listen) => listen,
        Err(err) => {
            eprintln!("slicer-agent: {err}");
            if !init::is_pid1() {
                std::process::exit(2);
            }
            ListenAddr::Vsock(AGENT_VSOCK_PORT)
        }
    };
    init::boot().await;
    println!(
        "slicer-agent (version: {}) listening on {listen:?}",
        env!("CARGO_PKG_VERSION")
    );
    loop {
        if let Err(err) =
            listen::serve(&listen, routes::router(config::AgentConfig::default())).await
        {
            // As PID 1 the agent must never exit (the kernel would panic):
            // report and try again.
            println!("slicer-agent: listener on {listen:?} failed: {err}");
            if !init::is_pid1() {
                std::process::exit(1);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
