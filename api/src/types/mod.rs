//! Every type that crosses a process boundary, grouped by resource.

pub mod agent;
pub mod apply;
pub mod copy;
pub mod error;
pub mod exec;
pub mod health;
pub mod hostgroup;
pub mod query;
pub mod secret;
pub mod stats;
pub mod vm;

pub use agent::{
    AGENT_VSOCK_PORT, ProvisionRequest, ProvisionResponse, SecretFile, ShutdownAction,
    ShutdownQuery, UserdataState,
};
pub use apply::{ApplyAction, ApplyChange, ApplyRequest, ApplyResponse};
pub use copy::{CopyMode, CopyQuery, FILE_MODE_HEADER};
pub use error::ErrorBody;
pub use exec::{BufferedExecResult, ExecFrame, ExecFrameKind, ExecQuery, OutputEncoding};
pub use health::AgentHealth;
pub use hostgroup::{
    CreateNodeQuery, CreateNodeRequest, CreateNodeResponse, DeleteResponse, HostGroupInfo,
    InfoResponse, NodeInfo, TagFilter, WaitFor, host_arch,
};
pub use secret::{CreateSecretRequest, SecretInfo, UpdateSecretRequest};
pub use stats::{GuestSnapshot, NodeStats};
pub use vm::{
    EgressRules, LogsQuery, LogsResponse, RestoreQuery, TagPatch, VmDescription, VmNetwork,
    VmShutdownQuery, VmTags,
};
