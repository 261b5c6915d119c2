//! Typed client for the guest agent's HTTP API, spoken over hybrid vsock.
//!
//! One connection per request: a vsock connection through the VMM socket
//! costs well under a millisecond, and it keeps a stuck stream from blocking
//! unrelated calls. Shell and forward upgrade their connection to a raw
//! stream. The protocol is documented in `docs/agent-protocol.md`.

mod background;
mod body;
mod client;
mod error;
mod exec_stream;
mod fs;
mod lines;
mod shell_codec;
mod upgrade;
mod watch_stream;

pub use body::{RequestBody, empty_body, full_body, reader_body};
pub use client::{AgentClient, Download};
pub use error::AgentClientError;
pub use exec_stream::ExecStream;
pub use shell_codec::{ShellCodec, ShellCodecError};
pub use upgrade::{AgentStream, ShellSession};
pub use watch_stream::WatchStream;
