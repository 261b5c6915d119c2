//! Every type that crosses a process boundary, grouped by resource.

pub mod agent;
pub mod apply;
pub mod background;
pub mod copy;
pub mod copy_target;
pub mod duration;
pub mod error;
pub mod exec;
pub mod forward;
pub mod fs;
pub mod health;
pub mod hostgroup;
pub mod query;
pub mod secret;
pub mod shell;
pub mod stats;
pub mod upload;
pub mod vm;

pub use agent::{
    AGENT_VSOCK_PORT, ProvisionRequest, ProvisionResponse, SecretFile, ShutdownAction,
    ShutdownQuery, UserdataState,
};
pub use apply::{ApplyAction, ApplyChange, ApplyRequest, ApplyResponse};
pub use background::{
    ExecBackgroundInfo, ExecKillRequest, ExecKillResponse, ExecLogsQuery, ExecReapResponse,
    ExecStarted, ExecWaitQuery, ExecWaitResult,
};
pub use copy::{
    CopyMode, CopyQuery, CopySemantics, CopySource, CopySourceType, DownloadHeaders,
    FILE_MODE_HEADER, SOURCE_NAME_HEADER, SOURCE_TYPE_HEADER, UNPACKED_SIZE_HEADER,
    valid_source_name,
};
pub use copy_target::{CopyTarget, CopyTargetError, PathKind, resolve_target};
pub use error::ErrorBody;
pub use exec::{BufferedExecResult, ExecFrame, ExecFrameKind, ExecQuery, OutputEncoding};
pub use forward::{FORWARD_UPGRADE_PROTOCOL, FORWARD_UPSTREAM_HEADER, ForwardTarget};
pub use fs::{
    FsEntry, FsEntryType, FsMkdirRequest, FsPathQuery, FsPathResponse, FsRemoveQuery, FsWatchEvent,
    FsWatchEventType, FsWatchQuery,
};
pub use health::AgentHealth;
pub use hostgroup::{
    CreateNodeQuery, CreateNodeRequest, CreateNodeResponse, DeleteResponse, HostGroupInfo,
    InfoResponse, NodeInfo, TagFilter, WaitFor, host_arch,
};
pub use secret::{CreateSecretRequest, SecretInfo, UpdateSecretRequest};
pub use shell::{SHELL_UPGRADE_PROTOCOL, ShellFrame, ShellFrameError, ShellQuery};
pub use stats::{GuestSnapshot, NodeStats};
pub use upload::{ManifestChunk, ManifestError, UploadManifest};
pub use vm::{
    EgressRules, LogsQuery, LogsResponse, RestoreQuery, TagPatch, VmDescription, VmNetwork,
    VmShutdownQuery, VmTags,
};
