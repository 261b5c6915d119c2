//! [`DaemonBackend`]: the REST API over the store. Writes only touch
//! desired state (create a VM object, request a delete, apply groups); the
//! controllers do the rest, and waits watch the observed status.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use slicer_api::server::{ApiError, Backend, ExecOutput};
use slicer_api::types::{
    AgentHealth, ApplyRequest, ApplyResponse, CreateNodeQuery, CreateNodeRequest,
    CreateNodeResponse, CreateSecretRequest, DeleteResponse, ExecQuery, HostGroupInfo,
    InfoResponse, LogsQuery, LogsResponse, NodeInfo, NodeStats, RestoreQuery, SecretInfo,
    TagFilter, TagPatch, UpdateSecretRequest, VmDescription, VmShutdownQuery, VmTags, WaitFor,
    host_arch,
};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::apply::{apply_groups, plan_groups};
use super::metrics::DaemonMetrics;
use crate::config::{HostGroupSpec, parse, render};
use crate::hypervisor::VmHandle;
use crate::lifecycle::Context;
use crate::model::{PowerState, Vm, VmPhase, VmRole};
use crate::secrets::{SecretError, SecretStore};
use crate::store::{Kind, Object, StoreError, StoreEvent};

/// Default wait of a create with `wait=` (`reference/slicer.md` §3.3).
const DEFAULT_CREATE_WAIT: Duration = Duration::from_secs(300);
/// How long a delete waits for the teardown before answering.
const DELETE_WAIT: Duration = Duration::from_secs(60);

/// The daemon side of the REST API.
#[derive(Debug, Clone)]
pub struct DaemonBackend {
    pub(super) ctx: Context,
    hypervisor: String,
    base_dir: PathBuf,
    default_image: Option<String>,
    secrets: SecretStore,
    metrics: Arc<DaemonMetrics>,
}

pub(super) fn store_err(err: StoreError) -> ApiError {
    ApiError::internal(crate::lifecycle::error_chain(&err))
}

fn secret_err(err: SecretError) -> ApiError {
    let message = crate::lifecycle::error_chain(&err);
    match err {
        SecretError::InvalidName { .. }
        | SecretError::InvalidData { .. }
        | SecretError::InvalidPermissions { .. } => ApiError::bad_request(message),
        SecretError::Exists { .. } => ApiError::conflict(message),
        SecretError::NotFound { .. } => ApiError::not_found(message),
        SecretError::Io { .. } => ApiError::internal(message),
    }
}

pub(super) fn node(vm: &Object<Vm>) -> NodeInfo {
    NodeInfo {
        hostname: vm.meta.name.clone(),
        hostgroup: vm.spec.group.clone(),
        ip: vm.status.ip.clone().unwrap_or_default(),
        ram_bytes: vm.spec.ram_bytes,
        cpus: vm.spec.vcpus,
        created_at: vm.meta.created_at.clone(),
        tags: vm.spec.tags.clone(),
        arch: host_arch().to_owned(),
        status: vm.status.phase.api_status().to_owned(),
        persistent: vm.spec.persistent || vm.spec.role == VmRole::Service,
    }
}

impl DaemonBackend {
    /// A backend over `ctx`; `hypervisor` describes the driver for
    /// `/info`; relative `userdata_file`s of applied files resolve from
    /// `base_dir`; groups without an image get `default_image`.
    pub fn new(
        ctx: Context,
        hypervisor: String,
        base_dir: PathBuf,
        default_image: Option<String>,
    ) -> Self {
        Self {
            secrets: SecretStore::new(ctx.data.secrets_dir()),
            ctx,
            hypervisor,
            base_dir,
            default_image,
            metrics: Arc::new(DaemonMetrics::new()),
        }
    }

    /// The shared controller context.
    pub(super) fn ctx(&self) -> &Context {
        &self.ctx
    }

    /// The daemon's metrics.
    pub(super) fn metrics(&self) -> &DaemonMetrics {
        &self.metrics
    }

    fn group(&self, name: &str) -> Result<Object<HostGroupSpec>, ApiError> {
        match self
            .ctx
            .store
            .get::<HostGroupSpec>(name)
            .map_err(store_err)?
        {
            Some(group) if !group.is_deleting() => Ok(group),
            _ => Err(ApiError::not_found(format!("host group {name} not found"))),
        }
    }

    /// The `name=` tag must be a unique lowercase DNS label that cannot be
    /// mistaken for a hostname (`reference/slicer.md` §3.4).
    fn check_name_tag(&self, tags: &[String]) -> Result<(), ApiError> {
        let names: Vec<&str> = tags
            .iter()
            .filter_map(|t| t.strip_prefix("name="))
            .collect();
        let name = match names.as_slice() {
            [] => return Ok(()),
            [one] => *one,
            _ => return Err(ApiError::bad_request("tags: give at most one name= tag")),
        };
        let label = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !label {
            return Err(ApiError::bad_request(format!(
                "tags: name={name} must be a lowercase DNS label of at most 63 characters"
            )));
        }
        let groups = self.ctx.store.names::<HostGroupSpec>().map_err(store_err)?;
        let generated = groups.iter().any(|group| {
            name.strip_prefix(group.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if generated {
            return Err(ApiError::bad_request(format!(
                "tags: name={name} looks like a generated hostname (<group>-<n>)"
            )));
        }
        let vms = self.ctx.store.list::<Vm>().map_err(store_err)?;
        let tag = format!("name={name}");
        if vms
            .iter()
            .any(|vm| vm.meta.name == name || vm.spec.tags.contains(&tag))
        {
            return Err(ApiError::conflict(format!(
                "tags: name={name} is already used by another vm"
            )));
        }
        Ok(())
    }

    pub(super) fn vm(&self, hostname: &str) -> Result<Object<Vm>, ApiError> {
        self.ctx
            .store
            .get::<Vm>(hostname)
            .map_err(store_err)?
            .ok_or_else(|| ApiError::not_found(format!("vm {hostname} not found")))
    }

    /// Wait until `hostname` runs (and, for `Userdata`, userdata ended).
    async fn wait_ready(
        &self,
        hostname: &str,
        wait: WaitFor,
        timeout: Duration,
    ) -> Result<Object<Vm>, String> {
        let deadline = Instant::now() + timeout;
        let mut changes = self.ctx.store.subscribe();
        loop {
            let vm = match self.ctx.store.get::<Vm>(hostname) {
                Ok(Some(vm)) => vm,
                Ok(None) => return Err(format!("vm {hostname} was deleted while starting")),
                Err(err) => return Err(err.to_string()),
            };
            if vm.status.phase == VmPhase::Running {
                if wait == WaitFor::Agent {
                    return Ok(vm);
                }
                if let Ok(Some(handle)) = VmHandle::load(&self.ctx.data.run_dir(hostname))
                    && let Ok(health) = handle.agent().health().await
                    && health.userdata_ran
                {
                    return Ok(vm);
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "vm {hostname} was not ready within {}{}",
                    humantime::format_duration(timeout),
                    if vm.status.message.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", vm.status.message)
                    }
                ));
            }
            // Agent readiness is a status write, so wake on the VM's next
            // write; userdata readiness is only visible in the guest, so
            // that wait polls too. The recheck also covers a lagged watch.
            let poll = match wait {
                WaitFor::Agent => Duration::from_secs(1),
                _ => Duration::from_millis(100),
            };
            next_write(
                &mut changes,
                hostname,
                (Instant::now() + poll).min(deadline),
            )
            .await;
        }
    }

    fn next_hostname(&self, group: &HostGroupSpec, spec: &Vm) -> Result<String, ApiError> {
        crate::lifecycle::create_sandbox(&self.ctx.store, group, spec).map_err(store_err)
    }

    async fn create(
        &self,
        group: &str,
        query: CreateNodeQuery,
        request: CreateNodeRequest,
    ) -> Result<CreateNodeResponse, ApiError> {
        let group = self.group(group)?.spec;
        validate_create(&group, &request)?;
        self.check_name_tag(&request.tags)?;
        let timeout = match &query.timeout {
            Some(text) => humantime::parse_duration(text).map_err(|err| {
                ApiError::bad_request(format!("timeout: {text:?} is not a duration: {err}"))
            })?,
            None => DEFAULT_CREATE_WAIT,
        };
        let template = crate::lifecycle::template_for(&group, 0);
        let spec = Vm {
            role: VmRole::Sandbox,
            persistent: request.persistent.unwrap_or(false),
            vcpus: request.cpus.unwrap_or(group.vcpus),
            ram_bytes: request.ram_bytes.unwrap_or(group.ram_bytes),
            userdata: request.userdata.clone().or(template.userdata.clone()),
            tags: request.tags.clone(),
            secrets: request.secrets.clone(),
            power: PowerState::Running,
            ..template
        };
        let name = self.next_hostname(&group, &spec)?;
        let vm = match query.wait {
            Some(wait) => match self.wait_ready(&name, wait, timeout).await {
                Ok(vm) => vm,
                Err(message) => {
                    let _ = self.ctx.store.request_delete::<Vm>(&name);
                    return Err(ApiError::timeout(format!("{message}; the vm was removed")));
                }
            },
            None => self.vm(&name)?,
        };
        Ok(CreateNodeResponse {
            hostname: name,
            hostgroup: group.name,
            ip: vm.status.ip.unwrap_or_default(),
            created_at: vm.meta.created_at,
            arch: host_arch().to_owned(),
            persistent: vm.spec.persistent,
        })
    }
}

/// A file that names a hypervisor must name the one this daemon runs: the
/// VMM is chosen at `slicer up`, and a group cannot move to another one at
/// runtime. A hypervisor that cannot run here gets its reason.
fn check_hypervisor(
    file: &str,
    named: Option<&str>,
    running: crate::hypervisor::HypervisorKind,
) -> Result<(), ApiError> {
    use crate::config::HypervisorName;
    use crate::hypervisor::HypervisorKind;
    let Some(named) = named else {
        return Ok(());
    };
    let (wanted, kind) = match named {
        "qemu" => (HypervisorName::Qemu, HypervisorKind::Qemu),
        "firecracker" => (HypervisorName::Firecracker, HypervisorKind::Firecracker),
        "cloud-hypervisor" => (
            HypervisorName::CloudHypervisor,
            HypervisorKind::CloudHypervisor,
        ),
        // Unknown names were already refused by validation.
        _ => return Ok(()),
    };
    if kind == running {
        return Ok(());
    }
    let why = match crate::hypervisor::choice::choose(Some(wanted)) {
        Err(err) => crate::lifecycle::error_chain(&err),
        Ok(_) => format!("restart slicer up with hypervisor: {named} to switch"),
    };
    Err(ApiError::bad_request(format!(
        "{file}: hypervisor: {named} differs from the {running} this daemon runs; {why}"
    )))
}

/// Relay the request body to the agent as it arrives. axum's body is not
/// `Sync`, so it is pumped through a channel rather than wrapped.
pub(super) fn stdin_body(stdin: Body) -> crate::agent_client::RequestBody {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let mut chunks = stdin.into_data_stream();
        while let Some(chunk) = chunks.next().await {
            let frame = chunk
                .map(hyper::body::Frame::data)
                .map_err(std::io::Error::other);
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    BodyExt::boxed(http_body_util::StreamBody::new(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    ))
}

fn validate_create(group: &HostGroupSpec, request: &CreateNodeRequest) -> Result<(), ApiError> {
    let name = &group.name;
    if let Some(cpus) = request.cpus
        && (cpus == 0 || cpus > group.vcpus)
    {
        return Err(ApiError::bad_request(format!(
            "cpus: {cpus} must be between 1 and {} (the limit of host group {name})",
            group.vcpus
        )));
    }
    if let Some(ram) = request.ram_bytes
        && (ram < 64 << 20 || ram > group.ram_bytes || !ram.is_multiple_of(1 << 20))
    {
        return Err(ApiError::bad_request(format!(
            "ram_bytes: {ram} must be whole MiB between 64 MiB and {} (the limit of host group {name})",
            group.ram_bytes
        )));
    }
    if let Some(gpus) = request.gpu_count.filter(|g| *g > group.gpu_count) {
        return Err(ApiError::bad_request(format!(
            "gpu_count: {gpus} is above the {} of host group {name}",
            group.gpu_count
        )));
    }
    for (field, given) in [
        (
            "hostname",
            request.hostname.as_deref().is_some_and(|s| !s.is_empty()),
        ),
        ("ip", request.ip.as_deref().is_some_and(|s| !s.is_empty())),
        (
            "disk_image",
            request.disk_image.as_deref().is_some_and(|s| !s.is_empty()),
        ),
        ("pci_devices", !request.pci_devices.is_empty()),
        ("protected", request.protected == Some(true)),
    ] {
        if given {
            return Err(ApiError::bad_request(format!(
                "{field}: cannot be chosen; the daemon allocates it"
            )));
        }
    }
    Ok(())
}

/// Wait until VM `hostname` is written (or the watch lagged and may have
/// missed it) or `until` passes, whichever comes first.
async fn next_write(changes: &mut broadcast::Receiver<StoreEvent>, hostname: &str, until: Instant) {
    let written = async {
        loop {
            match changes.recv().await {
                Ok(event) if event.kind == Vm::KIND && event.name == hostname => return,
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => return,
                // The store outlives the daemon's API: wait out the deadline.
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    };
    let _ = tokio::time::timeout_at(tokio::time::Instant::from_std(until), written).await;
}

#[async_trait]
impl Backend for DaemonBackend {
    async fn info(&self) -> InfoResponse {
        InfoResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            git_commit: option_env!("SLICER_GIT_COMMIT")
                .unwrap_or("unknown")
                .to_owned(),
            platform: "linux".to_owned(),
            arch: host_arch().to_owned(),
            hypervisor: Some(self.hypervisor.clone()),
        }
    }

    async fn host_groups(&self) -> Result<Vec<HostGroupInfo>, ApiError> {
        Ok(self
            .ctx
            .store
            .list::<HostGroupSpec>()
            .map_err(store_err)?
            .into_iter()
            .filter(|g| !g.is_deleting())
            .map(|g| HostGroupInfo {
                name: g.spec.name,
                count: g.spec.count,
                ram_bytes: g.spec.ram_bytes,
                cpus: g.spec.vcpus,
                gpu_count: g.spec.gpu_count,
                arch: host_arch().to_owned(),
            })
            .collect())
    }

    async fn nodes(
        &self,
        group: Option<String>,
        filter: TagFilter,
    ) -> Result<Vec<NodeInfo>, ApiError> {
        if let Some(group) = &group {
            self.group(group)?;
        }
        Ok(self
            .ctx
            .store
            .list::<Vm>()
            .map_err(store_err)?
            .iter()
            .filter(|vm| group.as_ref().is_none_or(|g| *g == vm.spec.group))
            .filter(|vm| filter.tag.as_ref().is_none_or(|t| vm.spec.tags.contains(t)))
            .filter(|vm| {
                filter
                    .tag_prefix
                    .as_ref()
                    .is_none_or(|p| vm.spec.tags.iter().any(|t| t.starts_with(p.as_str())))
            })
            .map(node)
            .collect())
    }

    async fn create_node(
        &self,
        group: String,
        query: CreateNodeQuery,
        request: CreateNodeRequest,
    ) -> Result<CreateNodeResponse, ApiError> {
        let result = self.create(&group, query, request).await;
        let code = result
            .as_ref()
            .map_or_else(|err| err.status.as_u16(), |_| 201);
        // An unknown group is not a launch; counting it would let any name
        // become a label value.
        if code != 404 {
            self.metrics.count_launch(&group, code);
        }
        result
    }

    async fn delete_node(
        &self,
        group: String,
        hostname: String,
    ) -> Result<DeleteResponse, ApiError> {
        let vm = self.vm(&hostname)?;
        if vm.spec.group != group {
            return Err(ApiError::not_found(format!(
                "vm {hostname} is not in host group {group}"
            )));
        }
        if vm.spec.role == VmRole::Service {
            return Err(ApiError::forbidden(format!(
                "Protected node cannot be deleted: {hostname} is a service of host group {group}; lower its count instead"
            )));
        }
        self.ctx
            .store
            .request_delete::<Vm>(&hostname)
            .map_err(store_err)?;
        let deadline = Instant::now() + DELETE_WAIT;
        while Instant::now() < deadline {
            if self
                .ctx
                .store
                .get::<Vm>(&hostname)
                .map_err(store_err)?
                .is_none()
            {
                return Ok(DeleteResponse {
                    message: format!("vm {hostname} deleted"),
                    disk_removed: "true".to_owned(),
                    error: None,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(DeleteResponse {
            message: format!("vm {hostname} is being deleted"),
            disk_removed: "false".to_owned(),
            error: Some("teardown still in progress".to_owned()),
        })
    }

    async fn exec(
        &self,
        hostname: String,
        query: ExecQuery,
        stdin: Body,
    ) -> Result<ExecOutput, ApiError> {
        let agent = self.agent(&hostname)?;
        let agent_err = |err: crate::agent_client::AgentClientError| {
            ApiError::agent(format!(
                "exec in vm {hostname}: {}",
                crate::lifecycle::error_chain(&err)
            ))
        };
        if query.buffered == Some(true) {
            let stdin = if query.stdin == Some(true) {
                Some(
                    stdin
                        .collect()
                        .await
                        .map_err(|err| ApiError::bad_request(format!("cannot read stdin: {err}")))?
                        .to_bytes(),
                )
            } else {
                None
            };
            return agent
                .exec_buffered(&query, stdin)
                .await
                .map(ExecOutput::Buffered)
                .map_err(agent_err);
        }
        let body = if query.stdin == Some(true) {
            stdin_body(stdin)
        } else {
            crate::agent_client::empty_body()
        };
        let frames = agent.exec(&query, body).await.map_err(agent_err)?;
        let stream = futures_util::stream::unfold(frames, |mut frames| async move {
            match frames.next_frame().await {
                Some(Ok(frame)) => Some((frame, frames)),
                Some(Err(err)) => Some((
                    slicer_api::types::ExecFrame::failure(format!("agent stream failed: {err}"), 1),
                    frames,
                )),
                None => None,
            }
        });
        // An agent stream error ends the stream after its error frame.
        let stream = stream.scan(false, |done, frame| {
            let stop = *done;
            *done = frame.error.is_some() && frame.kind.is_none();
            futures_util::future::ready((!stop).then_some(frame))
        });
        Ok(ExecOutput::Stream(stream.boxed()))
    }

    async fn apply(&self, request: ApplyRequest) -> Result<ApplyResponse, ApiError> {
        let (config, mut groups) = parse(
            &request.yaml,
            std::path::Path::new(&request.file),
            &self.base_dir,
        )
        .map_err(|err| ApiError::bad_request(crate::lifecycle::error_chain(&err)))?;
        check_hypervisor(
            &request.file,
            config.config.hypervisor.as_deref(),
            self.ctx.hypervisor.kind(),
        )?;
        for group in &mut groups {
            if group.image.is_none() {
                group.image.clone_from(&self.default_image);
            }
        }
        let changes = if request.dry_run {
            plan_groups(&self.ctx.store, &groups, request.prune)
        } else {
            apply_groups(&self.ctx.store, &groups, request.prune)
        }
        .map_err(|err| ApiError::internal(crate::lifecycle::error_chain(&err)))?;
        Ok(ApplyResponse {
            applied: !request.dry_run,
            changes,
        })
    }

    async fn stored_config(&self) -> Result<String, ApiError> {
        let groups: Vec<HostGroupSpec> = self
            .ctx
            .store
            .list::<HostGroupSpec>()
            .map_err(store_err)?
            .into_iter()
            .filter(|g| !g.is_deleting())
            .map(|g| g.spec)
            .collect();
        serde_yaml::to_string(&render(&groups))
            .map_err(|err| ApiError::internal(format!("cannot render host groups: {err}")))
    }

    async fn describe(&self, hostname: String) -> Result<VmDescription, ApiError> {
        self.describe_vm(&hostname)
    }

    async fn tags(&self, hostname: String) -> Result<VmTags, ApiError> {
        self.vm_tags(&hostname)
    }

    async fn patch_tags(&self, hostname: String, patch: TagPatch) -> Result<VmTags, ApiError> {
        self.patch_vm_tags(&hostname, &patch)
    }

    async fn logs(&self, hostname: String, query: LogsQuery) -> Result<LogsResponse, ApiError> {
        self.vm_logs(&hostname, &query)
    }

    async fn health(&self, hostname: String) -> Result<AgentHealth, ApiError> {
        self.vm_health(&hostname).await
    }

    async fn shutdown(&self, hostname: String, query: VmShutdownQuery) -> Result<String, ApiError> {
        self.shutdown_vm(&hostname, query).await
    }

    async fn pause(&self, hostname: String) -> Result<String, ApiError> {
        self.pause_vm(&hostname).await
    }

    async fn resume(&self, hostname: String) -> Result<String, ApiError> {
        self.resume_vm(&hostname).await
    }

    async fn suspend(&self, hostname: String) -> Result<String, ApiError> {
        self.snapshot_unsupported(&hostname, "suspend")
    }

    async fn restore(&self, hostname: String, query: RestoreQuery) -> Result<String, ApiError> {
        if let Some(wait) = query.wait.as_deref().filter(|w| *w != "agent") {
            return Err(ApiError::bad_request(format!(
                "wait: {wait:?} is not supported; only wait=agent"
            )));
        }
        self.snapshot_unsupported(&hostname, "restore")
    }

    async fn relaunch(&self, hostname: String) -> Result<CreateNodeResponse, ApiError> {
        self.relaunch_vm(&hostname).await
    }

    async fn node_stats(&self, hostname: Option<String>) -> Result<Vec<NodeStats>, ApiError> {
        self.vm_stats(hostname.as_deref()).await
    }

    async fn secrets(&self) -> Result<Vec<SecretInfo>, ApiError> {
        self.secrets.list().map_err(secret_err)
    }

    async fn create_secret(&self, request: CreateSecretRequest) -> Result<SecretInfo, ApiError> {
        self.secrets.create(&request).map_err(secret_err)
    }

    async fn update_secret(
        &self,
        name: String,
        request: UpdateSecretRequest,
    ) -> Result<SecretInfo, ApiError> {
        self.secrets.update(&name, &request).map_err(secret_err)
    }

    async fn delete_secret(&self, name: String) -> Result<(), ApiError> {
        self.secrets.remove(&name).map_err(secret_err)
    }

    async fn metrics(&self) -> Result<String, ApiError> {
        self.metrics.render(&self.ctx.store).map_err(store_err)
    }

    fn observe_request(&self, method: &str, code: u16, seconds: f64) {
        self.metrics.observe_request(method, code, seconds);
    }
}

#[cfg(test)]
mod hypervisor_check_tests {
    use super::*;
    use crate::hypervisor::HypervisorKind;

    #[test]
    fn a_file_may_name_only_the_running_hypervisor() {
        assert!(check_hypervisor("h.yaml", None, HypervisorKind::Qemu).is_ok());
        assert!(check_hypervisor("h.yaml", Some("qemu"), HypervisorKind::Qemu).is_ok());
        let err =
            check_hypervisor("h.yaml", Some("firecracker"), HypervisorKind::Qemu).unwrap_err();
        assert_eq!(err.status, http::StatusCode::BAD_REQUEST);
        assert!(
            err.body
                .error
                .starts_with("h.yaml: hypervisor: firecracker differs from the qemu"),
            "{}",
            err.body.error
        );
    }
}
