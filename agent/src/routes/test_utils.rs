//! Test-only helpers: the real router served on a unix socket.

use std::path::Path;
use std::time::Duration;

use tokio::net::UnixStream;

use crate::config::AgentConfig;
use crate::listen::{ListenAddr, serve};
use crate::routes::router;

/// Serve the agent's router on `socket` and wait until it accepts.
pub async fn agent_on(socket: &Path) {
    let addr = ListenAddr::Unix(socket.to_owned());
    tokio::spawn(async move { serve(&addr, router(AgentConfig::default())).await });
    for _ in 0..100 {
        if UnixStream::connect(socket).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("agent did not listen on {}", socket.display());
}
