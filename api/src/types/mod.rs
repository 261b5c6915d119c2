//! Every type that crosses a process boundary, grouped by resource.

pub mod agent;
pub mod copy;
pub mod error;
pub mod exec;
pub mod health;
pub mod query;

pub use agent::{
    AGENT_VSOCK_PORT, ProvisionRequest, ProvisionResponse, SecretFile, ShutdownAction,
    ShutdownQuery, UserdataState,
};
pub use copy::{CopyMode, CopyQuery, FILE_MODE_HEADER};
pub use error::ErrorBody;
pub use exec::{BufferedExecResult, ExecFrame, ExecFrameKind, ExecQuery, OutputEncoding};
pub use health::AgentHealth;
