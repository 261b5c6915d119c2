//! The one route table: every method and path the daemon serves, with the
//! handler and what the OpenAPI document and the contract test need to
//! know about it. [`super::router`] is built from it, so the published
//! document and the served routes cannot drift apart.

use axum::routing::{MethodRouter, any, delete, get, head, patch, post};
use http::Method;
use schemars::generate::SchemaGenerator;
use schemars::{JsonSchema, Schema};

use super::guest::{self, Guest};
use super::{Shared, apply, exec, nodes, secrets, stats, system, vm};
use crate::types::{
    AgentHealth, ApplyRequest, ApplyResponse, BufferedExecResult, CopyQuery, CreateNodeQuery,
    CreateNodeRequest, CreateNodeResponse, CreateSecretRequest, DeleteResponse, ExecBackgroundInfo,
    ExecFrame, ExecKillRequest, ExecKillResponse, ExecLogsQuery, ExecQuery, ExecReapResponse,
    ExecStarted, ExecWaitQuery, ExecWaitResult, FsEntry, FsMkdirRequest, FsPathQuery,
    FsPathResponse, FsRemoveQuery, FsWatchEvent, FsWatchQuery, HostGroupInfo, InfoResponse,
    LogsQuery, LogsResponse, NodeInfo, NodeStats, RestoreQuery, SecretInfo, ShellQuery, TagFilter,
    TagPatch, UpdateSecretRequest, VmDescription, VmShutdownQuery, VmTags,
};

/// A schema of a type, taken from (and registered in) a generator.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// What a successful answer carries.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// `application/json` of this schema.
    Json(SchemaFn),
    /// `text/plain`.
    Text,
    /// `application/yaml` text.
    Yaml,
    /// `application/x-ndjson`: one JSON object of this schema per line.
    Frames(SchemaFn),
    /// Raw bytes in one of these content types (a file, a tar stream).
    Bytes(&'static [&'static str]),
    /// `text/event-stream` whose events carry JSON of this schema.
    Events(SchemaFn),
    /// `101 Switching Protocols` to a WebSocket.
    Upgrade,
    /// `application/x-ndjson` lines of `frames`, or one JSON object of
    /// `buffered` when asked to buffer.
    Stream {
        /// One line of the stream.
        frames: SchemaFn,
        /// The buffered answer.
        buffered: SchemaFn,
    },
    /// No body.
    Empty,
}

/// What a request carries in its body.
#[derive(Debug, Clone, Copy)]
pub enum RequestBody {
    /// `application/json` of this schema.
    Json(SchemaFn),
    /// Raw bytes in one of these content types (a file, a tar stream).
    Bytes(&'static [&'static str]),
}

/// How long a route may take before it answers 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// A quick read or write of local state.
    Quick,
    /// Waits for the controllers (create with `wait`, delete, lifecycle).
    Waits,
    /// Streams for as long as the guest process runs; no limit.
    Streaming,
}

/// One served method and path.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// axum path template, e.g. `/vm/{hostname}/logs`.
    pub path: &'static str,
    /// One line for the API reference.
    pub summary: &'static str,
    /// Query parameters, as the schema of the query struct.
    pub query: Option<SchemaFn>,
    /// Request body.
    pub body: Option<RequestBody>,
    /// Status of a success.
    pub status: u16,
    /// What a success carries.
    pub answer: Answer,
    /// A second kind of success, with its status (background exec's 201
    /// on the exec route).
    pub also: Option<(u16, Answer)>,
    /// Whether a TCP client needs the bearer token.
    pub auth: bool,
    /// Time budget.
    pub budget: Budget,
    /// Served beyond upstream's `slicer-api.yaml` (a † item of the
    /// reference, or our own).
    pub extension: bool,
}

impl RouteSpec {
    fn new(method: Method, path: &'static str, summary: &'static str) -> Self {
        Self {
            method,
            path,
            summary,
            query: None,
            body: None,
            status: 200,
            answer: Answer::Empty,
            also: None,
            auth: true,
            budget: Budget::Quick,
            extension: false,
        }
    }

    fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema::<T>);
        self
    }

    fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(RequestBody::Json(schema::<T>));
        self
    }

    fn raw_body(mut self, content_types: &'static [&'static str]) -> Self {
        self.body = Some(RequestBody::Bytes(content_types));
        self
    }

    fn also(mut self, status: u16, answer: Answer) -> Self {
        self.also = Some((status, answer));
        self
    }

    fn json<T: JsonSchema>(mut self) -> Self {
        self.answer = Answer::Json(schema::<T>);
        self
    }

    fn answer(mut self, answer: Answer) -> Self {
        self.answer = answer;
        self
    }

    fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    fn open(mut self) -> Self {
        self.auth = false;
        self
    }

    fn waits(mut self) -> Self {
        self.budget = Budget::Waits;
        self
    }

    fn streaming(mut self) -> Self {
        self.budget = Budget::Streaming;
        self
    }

    fn extension(mut self) -> Self {
        self.extension = true;
        self
    }
}

/// A route and its handler, over the handler state `S`.
pub(super) struct Entry<S> {
    pub(super) spec: RouteSpec,
    pub(super) handler: MethodRouter<S>,
}

fn entry<S>(spec: RouteSpec, handler: MethodRouter<S>) -> Entry<S> {
    Entry { spec, handler }
}

/// Every route the daemon answers itself, with its handler.
pub(super) fn entries() -> Vec<Entry<Shared>> {
    use Method as M;
    vec![
        entry(
            RouteSpec::new(M::GET, "/healthz", "daemon liveness: text/plain OK")
                .answer(Answer::Text)
                .open(),
            get(system::healthz),
        ),
        entry(
            RouteSpec::new(M::HEAD, "/healthz", "daemon liveness, no body").open(),
            head(system::healthz),
        ),
        entry(
            RouteSpec::new(M::GET, "/info", "daemon version, platform and hypervisor")
                .json::<InfoResponse>(),
            get(system::info),
        ),
        entry(
            RouteSpec::new(M::GET, "/metrics", "Prometheus text metrics").answer(Answer::Text),
            get(system::metrics),
        ),
        entry(
            RouteSpec::new(M::GET, "/hostgroup", "list host groups").json::<Vec<HostGroupInfo>>(),
            get(nodes::host_groups),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/hostgroup/{name}/nodes",
                "list the VMs of one host group",
            )
            .query::<TagFilter>()
            .json::<Vec<NodeInfo>>(),
            get(nodes::group_nodes),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/hostgroup/{name}/nodes",
                "create a VM in a host group",
            )
            .query::<CreateNodeQuery>()
            .body::<CreateNodeRequest>()
            .status(201)
            .json::<CreateNodeResponse>()
            .waits(),
            post(nodes::create),
        ),
        entry(
            RouteSpec::new(M::DELETE, "/hostgroup/{name}/nodes/{node}", "delete a VM")
                .json::<DeleteResponse>()
                .waits(),
            delete(nodes::delete),
        ),
        entry(
            RouteSpec::new(M::GET, "/nodes", "list every VM")
                .query::<TagFilter>()
                .json::<Vec<NodeInfo>>(),
            get(nodes::all_nodes),
        ),
        entry(
            RouteSpec::new(M::GET, "/nodes/stats", "guest metrics of every VM")
                .json::<Vec<NodeStats>>(),
            get(stats::all),
        ),
        entry(
            RouteSpec::new(M::GET, "/node/{hostname}/stats", "guest metrics of one VM")
                .json::<NodeStats>(),
            get(stats::one),
        ),
        entry(
            RouteSpec::new(M::GET, "/vm/{hostname}", "describe a VM")
                .json::<VmDescription>()
                .extension(),
            get(vm::describe),
        ),
        entry(
            RouteSpec::new(M::GET, "/vm/{hostname}/tags", "a VM's tags")
                .json::<VmTags>()
                .extension(),
            get(vm::tags),
        ),
        entry(
            RouteSpec::new(
                M::PATCH,
                "/vm/{hostname}/tags",
                "edit a VM's tags atomically",
            )
            .body::<TagPatch>()
            .json::<VmTags>()
            .extension(),
            patch(vm::patch_tags),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/logs",
                "tail of the serial console log",
            )
            .query::<LogsQuery>()
            .json::<LogsResponse>(),
            get(vm::logs),
        ),
        entry(
            RouteSpec::new(M::GET, "/vm/{hostname}/health", "guest agent health")
                .json::<AgentHealth>(),
            get(vm::health),
        ),
        entry(
            RouteSpec::new(M::HEAD, "/vm/{hostname}/health", "readiness probe, no body"),
            head(vm::health_probe),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/vm/{hostname}/shutdown",
                "stop a VM; answers once stopped",
            )
            .query::<VmShutdownQuery>()
            .answer(Answer::Text)
            .waits(),
            post(vm::shutdown),
        ),
        entry(
            RouteSpec::new(M::POST, "/vm/{hostname}/pause", "freeze a VM's vCPUs")
                .answer(Answer::Text)
                .waits(),
            post(vm::pause),
        ),
        entry(
            RouteSpec::new(M::POST, "/vm/{hostname}/resume", "continue a paused VM")
                .answer(Answer::Text)
                .waits(),
            post(vm::resume),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/vm/{hostname}/suspend",
                "snapshot a VM to disk (501 here)",
            )
            .answer(Answer::Text),
            post(vm::suspend),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/vm/{hostname}/restore",
                "restore a suspended VM (501 here)",
            )
            .query::<RestoreQuery>()
            .answer(Answer::Text),
            post(vm::restore),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/vm/{hostname}/relaunch",
                "start a stopped VM on its disk",
            )
            .json::<CreateNodeResponse>()
            .waits(),
            post(vm::relaunch),
        ),
        entry(
            RouteSpec::new(M::POST, "/vm/{hostname}/exec", "run a command in a VM")
                .query::<ExecQuery>()
                .answer(Answer::Stream {
                    frames: schema::<ExecFrame>,
                    buffered: schema::<BufferedExecResult>,
                })
                // `background=true` is answered by the guest router's
                // background exec layer.
                .also(201, Answer::Json(schema::<ExecStarted>))
                .streaming(),
            post(exec::exec),
        ),
        entry(
            RouteSpec::new(M::GET, "/secrets", "list secrets (metadata only)")
                .json::<Vec<SecretInfo>>(),
            get(secrets::list),
        ),
        entry(
            RouteSpec::new(M::POST, "/secrets", "create a secret")
                .body::<CreateSecretRequest>()
                .status(201)
                .json::<SecretInfo>(),
            post(secrets::create),
        ),
        entry(
            RouteSpec::new(
                M::PATCH,
                "/secrets/{name}",
                "update a secret's data or metadata",
            )
            .body::<UpdateSecretRequest>()
            .json::<SecretInfo>(),
            patch(secrets::update),
        ),
        entry(
            RouteSpec::new(M::DELETE, "/secrets/{name}", "delete a secret"),
            delete(secrets::remove),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/apply",
                "create or change host groups from a config file",
            )
            .body::<ApplyRequest>()
            .json::<ApplyResponse>()
            .extension(),
            post(apply::apply),
        ),
        entry(
            RouteSpec::new(M::GET, "/apply", "the stored host groups as a config file")
                .answer(Answer::Yaml)
                .extension(),
            get(apply::stored),
        ),
    ]
}

/// Every route relayed to a guest agent, with its handler. Start of a
/// background exec shares `POST /vm/{hostname}/exec` with the exec route
/// above and is answered by [`guest::background_exec_layer`].
pub(super) fn guest_entries() -> Vec<Entry<Guest>> {
    use Method as M;
    const FILE_OR_TAR: &[&str] = &["application/octet-stream", "application/x-tar"];
    vec![
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/exec",
                "background execs not yet reaped",
            )
            .json::<Vec<ExecBackgroundInfo>>(),
            get(guest::background::list),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/exec/{exec_id}",
                "one background exec (410 once reaped)",
            )
            .json::<ExecBackgroundInfo>(),
            get(guest::background::info),
        ),
        entry(
            RouteSpec::new(
                M::DELETE,
                "/vm/{hostname}/exec/{exec_id}",
                "free a background exec's ring, no signal",
            )
            .json::<ExecReapResponse>(),
            delete(guest::background::reap),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/exec/{exec_id}/logs",
                "a background exec's output frames, replayed or followed",
            )
            .query::<ExecLogsQuery>()
            .answer(Answer::Frames(schema::<ExecFrame>))
            .streaming(),
            get(guest::background::logs),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/vm/{hostname}/exec/{exec_id}/kill",
                "signal a background exec's process group",
            )
            .body::<ExecKillRequest>()
            .json::<ExecKillResponse>(),
            post(guest::background::kill),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/exec/{exec_id}/wait-exit",
                "wait for a background exec to exit",
            )
            .query::<ExecWaitQuery>()
            .json::<ExecWaitResult>()
            .streaming(),
            get(guest::background::wait_exit),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/cp",
                "download a file (X-Slicer-File-Mode) or a tar",
            )
            .query::<CopyQuery>()
            .answer(Answer::Bytes(FILE_OR_TAR))
            .streaming(),
            get(guest::copy::download),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/vm/{hostname}/cp",
                "upload a file, or a tar to unpack",
            )
            .query::<CopyQuery>()
            .raw_body(FILE_OR_TAR)
            .json::<FsPathResponse>()
            .streaming(),
            post(guest::copy::upload),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/fs/readdir",
                "list a guest directory",
            )
            .query::<FsPathQuery>()
            .json::<Vec<FsEntry>>(),
            get(guest::fs::readdir),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/fs/stat",
                "stat a guest path (404: absent)",
            )
            .query::<FsPathQuery>()
            .json::<FsEntry>(),
            get(guest::fs::stat),
        ),
        entry(
            RouteSpec::new(
                M::POST,
                "/vm/{hostname}/fs/mkdir",
                "create a guest directory",
            )
            .body::<FsMkdirRequest>()
            .json::<FsPathResponse>(),
            post(guest::fs::mkdir),
        ),
        entry(
            RouteSpec::new(M::DELETE, "/vm/{hostname}/fs/remove", "remove a guest path")
                .query::<FsRemoveQuery>()
                .json::<FsPathResponse>(),
            delete(guest::fs::remove),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/fs/watch",
                "server-sent events of changes under guest paths",
            )
            .query::<FsWatchQuery>()
            .answer(Answer::Events(schema::<FsWatchEvent>))
            .streaming(),
            get(guest::fs::watch),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/shell",
                "interactive PTY over a WebSocket",
            )
            .query::<ShellQuery>()
            .status(101)
            .answer(Answer::Upgrade)
            .streaming(),
            get(guest::shell::shell),
        ),
        entry(
            RouteSpec::new(
                M::GET,
                "/vm/{hostname}/forward",
                "TCP or Unix socket forward over a WebSocket (X-Inlets-Upstream)",
            )
            .status(101)
            .answer(Answer::Upgrade)
            .streaming(),
            // Slicer's forward route does not restrict the method (§7.9).
            any(guest::forward::forward),
        ),
    ]
}

/// Every route the daemon serves, in table order: its own, then the
/// guest relays.
pub fn route_table() -> Vec<RouteSpec> {
    let own = entries().into_iter().map(|entry| entry.spec);
    own.chain(guest_route_table()).collect()
}

/// The routes relayed to a guest agent, in table order.
pub fn guest_route_table() -> Vec<RouteSpec> {
    guest_entries()
        .into_iter()
        .map(|entry| entry.spec)
        .collect()
}
