//! The `/vm/{hostname}/…` operations of [`DaemonBackend`]: describe, tags,
//! logs, health, stats, and the lifecycle verbs. Lifecycle verbs only
//! write the desired `power` (or bump `launch_nonce`) and then watch the
//! status the VM controller writes; none of them touches the hypervisor.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use slicer_api::server::ApiError;
use slicer_api::types::{
    AgentHealth, CreateNodeResponse, EgressRules, GuestSnapshot, LogsQuery, LogsResponse,
    NodeStats, TagPatch, VmDescription, VmNetwork, VmShutdownQuery, VmTags, host_arch,
};

use super::backend::{DaemonBackend, node, store_err};
use crate::config::{HostGroupSpec, NetworkMode, StorageKind};
use crate::hypervisor::VmHandle;
use crate::model::{PowerState, Vm, VmPhase, VmRole};
use crate::store::Object;

/// Default `lines` of `GET /vm/{h}/logs`.
const DEFAULT_LOG_LINES: usize = 20;
/// How long a health call may wait for the agent.
const HEALTH_WAIT: Duration = Duration::from_secs(5);
/// The tag prefix of the immutable friendly name.
const NAME_TAG: &str = "name=";
/// How many guests are asked for metrics at once: a listing of a large
/// fleet must not open a vsock connection to every VM at the same time.
const STATS_CONCURRENCY: usize = 32;
/// How long one guest may take to send its metrics sample.
const STATS_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a lifecycle verb waits for the controller after writing.
pub(super) fn lifecycle_wait(backend: &DaemonBackend) -> Duration {
    backend.ctx().timing.stop_grace + Duration::from_secs(40)
}

fn storage_name(kind: StorageKind) -> &'static str {
    match kind {
        StorageKind::Image => "image",
        StorageKind::Zfs => "zfs",
        StorageKind::Devmapper => "devmapper",
    }
}

fn mode_name(mode: NetworkMode) -> &'static str {
    match mode {
        NetworkMode::Bridge => "bridge",
        NetworkMode::Isolated => "isolated",
        NetworkMode::Macvtap => "macvtap",
    }
}

/// Check a tag edit and apply it to `tags`; nothing changes on an error.
pub(super) fn edit_tags(
    hostname: &str,
    tags: &[String],
    patch: &TagPatch,
) -> Result<Vec<String>, ApiError> {
    if patch.replace.is_some() && (patch.add.is_some() || patch.remove.is_some()) {
        return Err(ApiError::bad_request(
            "tags of vm {hostname}: replace cannot be combined with add or remove"
                .replace("{hostname}", hostname),
        ));
    }
    if patch.replace.is_none() && patch.add.is_none() && patch.remove.is_none() {
        return Err(ApiError::bad_request(format!(
            "tags of vm {hostname}: give add and/or remove, or replace"
        )));
    }
    let names: Vec<&String> = tags.iter().filter(|t| t.starts_with(NAME_TAG)).collect();
    let given = patch
        .add
        .iter()
        .chain(&patch.remove)
        .chain(&patch.replace)
        .flatten();
    for tag in given {
        if tag.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "tags of vm {hostname}: a tag cannot be empty"
            )));
        }
        if tag.starts_with(NAME_TAG) && !names.contains(&tag) {
            return Err(ApiError::bad_request(format!(
                "tags of vm {hostname}: the name= tag is immutable ({tag:?})"
            )));
        }
    }
    if patch
        .remove
        .iter()
        .flatten()
        .any(|t| t.starts_with(NAME_TAG))
    {
        return Err(ApiError::bad_request(format!(
            "tags of vm {hostname}: the name= tag is immutable and cannot be removed"
        )));
    }
    let mut next: Vec<String> = match &patch.replace {
        Some(replace) => {
            let mut kept: Vec<String> = names.iter().map(|t| (*t).clone()).collect();
            kept.extend(replace.iter().filter(|t| !t.starts_with(NAME_TAG)).cloned());
            kept
        }
        None => tags.to_vec(),
    };
    for tag in patch.remove.iter().flatten() {
        next.retain(|t| t != tag);
    }
    for tag in patch.add.iter().flatten() {
        if !next.contains(tag) {
            next.push(tag.clone());
        }
    }
    let mut seen = Vec::new();
    next.retain(|t| {
        let new = !seen.contains(t);
        seen.push(t.clone());
        new
    });
    Ok(next)
}

/// The last `lines` lines of `text` (`0` = all) and how many there are.
pub(super) fn tail(text: &str, lines: usize) -> (String, usize) {
    let all: Vec<&str> = text.lines().collect();
    let start = if lines == 0 {
        0
    } else {
        all.len().saturating_sub(lines)
    };
    let kept = &all[start..];
    let mut content = kept.join("\n");
    if !kept.is_empty() && text.ends_with('\n') {
        content.push('\n');
    }
    (content, kept.len())
}

impl DaemonBackend {
    pub(super) fn describe_vm(&self, hostname: &str) -> Result<VmDescription, ApiError> {
        let vm = self.vm(hostname)?;
        let group = self
            .ctx()
            .store
            .get::<HostGroupSpec>(&vm.spec.group)
            .map_err(store_err)?;
        let network = group.as_ref().and_then(|g| g.spec.network.clone());
        let rules = network
            .as_ref()
            .map(|n| EgressRules {
                allow: n.allow.clone(),
                drop: n.drop.clone(),
            })
            .unwrap_or_default();
        Ok(VmDescription {
            node: node(&vm),
            storage: group
                .as_ref()
                .map_or("image", |g| storage_name(g.spec.storage))
                .to_owned(),
            image: vm.spec.image.clone(),
            commit_id: None,
            parent_commit_id: None,
            network: VmNetwork {
                mode: network
                    .as_ref()
                    .map_or("", |n| mode_name(n.mode))
                    .to_owned(),
                policy_source: "host_group".to_owned(),
                host_group: rules.clone(),
                r#override: None,
                effective: rules,
            },
        })
    }

    pub(super) fn vm_tags(&self, hostname: &str) -> Result<VmTags, ApiError> {
        let vm = self.vm(hostname)?;
        Ok(VmTags {
            hostname: vm.meta.name,
            tags: vm.spec.tags,
        })
    }

    pub(super) fn patch_vm_tags(
        &self,
        hostname: &str,
        patch: &TagPatch,
    ) -> Result<VmTags, ApiError> {
        self.vm(hostname)?;
        let updated = self
            .ctx()
            .store
            .modify::<Vm, ApiError>(hostname, |vm| {
                vm.spec.tags = edit_tags(hostname, &vm.spec.tags, patch)?;
                Ok(())
            })
            .map_err(store_err)??;
        Ok(VmTags {
            hostname: updated.meta.name,
            tags: updated.spec.tags,
        })
    }

    pub(super) fn vm_logs(
        &self,
        hostname: &str,
        query: &LogsQuery,
    ) -> Result<LogsResponse, ApiError> {
        self.vm(hostname)?;
        let path = self.ctx().data.console_log(hostname);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(ApiError::not_found(format!(
                    "vm {hostname} has no console log yet ({})",
                    path.display()
                )));
            }
            Err(err) => {
                return Err(ApiError::internal(format!(
                    "cannot read the console log {} of vm {hostname}: {err}",
                    path.display()
                )));
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let (content, lines) = tail(&text, query.lines.unwrap_or(DEFAULT_LOG_LINES));
        Ok(LogsResponse {
            hostname: hostname.to_owned(),
            lines,
            content,
        })
    }

    /// The agent of a running VM, or why there is none.
    fn agent_of(&self, vm: &Object<Vm>) -> Result<crate::agent_client::AgentClient, ApiError> {
        let hostname = &vm.meta.name;
        if vm.status.phase == VmPhase::Paused {
            return Err(ApiError::conflict(format!("vm {hostname} is paused")));
        }
        match VmHandle::load(&self.ctx().data.run_dir(hostname)) {
            Ok(Some(handle)) if handle.is_running() => Ok(handle.agent()),
            Ok(_) => Err(ApiError::bad_request(format!(
                "vm {hostname} has no agent vsock path: it is not running ({})",
                vm.status.phase.api_status()
            ))),
            Err(err) => Err(ApiError::internal(format!(
                "cannot read the run record of vm {hostname}: {}",
                crate::lifecycle::error_chain(&err)
            ))),
        }
    }

    pub(super) async fn vm_health(&self, hostname: &str) -> Result<AgentHealth, ApiError> {
        let vm = self.vm(hostname)?;
        let agent = self.agent_of(&vm)?;
        match tokio::time::timeout(HEALTH_WAIT, agent.health()).await {
            Ok(Ok(health)) => Ok(health),
            Ok(Err(err)) => Err(ApiError::agent(format!(
                "health of vm {hostname}: {}",
                crate::lifecycle::error_chain(&err)
            ))),
            Err(_) => Err(ApiError::agent(format!(
                "health of vm {hostname}: the agent did not answer within {}s",
                HEALTH_WAIT.as_secs()
            ))),
        }
    }

    pub(super) async fn vm_stats(
        &self,
        hostname: Option<&str>,
    ) -> Result<Vec<NodeStats>, ApiError> {
        let vms = match hostname {
            Some(hostname) => vec![self.vm(hostname)?],
            None => self.ctx().store.list::<Vm>().map_err(store_err)?,
        };
        Ok(futures_util::stream::iter(vms)
            .map(|vm| self.node_stats_of(vm))
            .buffered(STATS_CONCURRENCY)
            .collect()
            .await)
    }

    /// One VM's node fields with its metrics, or why there are none.
    async fn node_stats_of(&self, vm: Object<Vm>) -> NodeStats {
        let (snapshot, error) = match self.guest_snapshot(&vm).await {
            Ok(snapshot) => (Some(snapshot), None),
            Err(err) => (None, Some(err.body.error)),
        };
        NodeStats {
            node: node(&vm),
            snapshot,
            error,
        }
    }

    /// One metrics sample from a running VM's agent, within
    /// [`STATS_TIMEOUT`], so one slow guest cannot stall a listing.
    /// The VM comes from the listing, so the store is not read again.
    async fn guest_snapshot(&self, vm: &Object<Vm>) -> Result<GuestSnapshot, ApiError> {
        let hostname = &vm.meta.name;
        let agent = self.agent_of(vm)?;
        match tokio::time::timeout(STATS_TIMEOUT, agent.stats()).await {
            Ok(Ok(snapshot)) => Ok(snapshot),
            Ok(Err(err)) => Err(ApiError::agent(format!(
                "agent of vm {hostname}: {}",
                crate::lifecycle::error_chain(&err)
            ))),
            Err(_) => Err(ApiError::agent(format!(
                "agent of vm {hostname} sent no metrics within {STATS_TIMEOUT:?}"
            ))),
        }
    }

    /// Write `power`, then wait until the status shows `phase` (or, for
    /// `Stopped`, the VM is gone: an ephemeral one may be reaped).
    async fn set_power(
        &self,
        hostname: &str,
        power: PowerState,
        phase: VmPhase,
    ) -> Result<(), ApiError> {
        self.ctx()
            .store
            .modify::<Vm, std::convert::Infallible>(hostname, |vm| {
                vm.spec.power = power;
                Ok(())
            })
            .map_err(store_err)?
            .map_err(|never| match never {})?;
        let wait = lifecycle_wait(self);
        let deadline = Instant::now() + wait;
        loop {
            let Some(vm) = self.ctx().store.get::<Vm>(hostname).map_err(store_err)? else {
                return if power == PowerState::Stopped {
                    Ok(())
                } else {
                    Err(ApiError::conflict(format!(
                        "vm {hostname} was deleted meanwhile"
                    )))
                };
            };
            if vm.status.phase == phase {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let message = if vm.status.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", vm.status.message)
                };
                return Err(ApiError::internal(format!(
                    "vm {hostname} is still {} after {}s{message}",
                    vm.status.phase.api_status(),
                    wait.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(super) async fn shutdown_vm(
        &self,
        hostname: &str,
        query: VmShutdownQuery,
    ) -> Result<String, ApiError> {
        let vm = self.vm(hostname)?;
        if vm.status.phase == VmPhase::Stopped && vm.spec.power == PowerState::Stopped {
            return Ok(format!("vm {hostname} is already stopped\n"));
        }
        // Both actions end the run (`reference/slicer.md` §11 item 11); the
        // driver picks the guest path that stops its VMM.
        let _ = query.action;
        self.set_power(hostname, PowerState::Stopped, VmPhase::Stopped)
            .await?;
        Ok(format!("vm {hostname} stopped\n"))
    }

    pub(super) async fn pause_vm(&self, hostname: &str) -> Result<String, ApiError> {
        let vm = self.vm(hostname)?;
        match vm.status.phase {
            VmPhase::Paused => return Ok(format!("vm {hostname} is already paused\n")),
            VmPhase::Running => {}
            other => {
                return Err(ApiError::conflict(format!(
                    "vm {hostname} cannot be paused: it is {}",
                    other.api_status()
                )));
            }
        }
        if !self.ctx().hypervisor.capabilities().pause {
            return Err(ApiError::not_implemented(format!(
                "{} cannot pause vms",
                self.ctx().hypervisor.kind()
            )));
        }
        self.set_power(hostname, PowerState::Paused, VmPhase::Paused)
            .await?;
        Ok(format!("vm {hostname} paused\n"))
    }

    pub(super) async fn resume_vm(&self, hostname: &str) -> Result<String, ApiError> {
        let vm = self.vm(hostname)?;
        match vm.status.phase {
            VmPhase::Running if vm.spec.power == PowerState::Running => {
                return Ok(format!("vm {hostname} is already running\n"));
            }
            VmPhase::Paused | VmPhase::Running => {}
            other => {
                return Err(ApiError::conflict(format!(
                    "vm {hostname} cannot be resumed: it is {}",
                    other.api_status()
                )));
            }
        }
        self.set_power(hostname, PowerState::Running, VmPhase::Running)
            .await?;
        Ok(format!("vm {hostname} resumed\n"))
    }

    pub(super) fn snapshot_unsupported(
        &self,
        hostname: &str,
        verb: &str,
    ) -> Result<String, ApiError> {
        self.vm(hostname)?;
        let hypervisor = &self.ctx().hypervisor;
        Err(ApiError::not_implemented(
            if hypervisor.capabilities().snapshot {
                format!(
                    "{verb} of vm {hostname}: {} can snapshot, but this daemon does not implement suspend and restore yet",
                    hypervisor.kind()
                )
            } else {
                format!(
                    "{verb} of vm {hostname}: {} cannot snapshot vms",
                    hypervisor.kind()
                )
            },
        ))
    }

    pub(super) async fn relaunch_vm(&self, hostname: &str) -> Result<CreateNodeResponse, ApiError> {
        let vm = self.vm(hostname)?;
        let group = vm.spec.group.clone();
        let result = self.relaunch_stopped(&vm).await;
        self.metrics().count_launch(
            &group,
            result.as_ref().map_or_else(|e| e.status.as_u16(), |_| 200),
        );
        result
    }

    async fn relaunch_stopped(&self, vm: &Object<Vm>) -> Result<CreateNodeResponse, ApiError> {
        let hostname = vm.meta.name.as_str();
        if vm.status.phase != VmPhase::Stopped || vm.is_deleting() {
            return Err(ApiError::conflict(format!(
                "vm {hostname} is {}; only a stopped vm can be relaunched",
                vm.status.phase.api_status()
            )));
        }
        if vm.spec.is_ephemeral() {
            return Err(ApiError::conflict(format!(
                "vm {hostname} is an ephemeral sandbox; only persistent and service vms are relaunched"
            )));
        }
        let updated = self
            .ctx()
            .store
            .modify::<Vm, std::convert::Infallible>(hostname, |vm| {
                vm.spec.power = PowerState::Running;
                vm.spec.launch_nonce += 1;
                Ok(())
            })
            .map_err(store_err)?
            .map_err(|never| match never {})?;
        Ok(CreateNodeResponse {
            hostname: hostname.to_owned(),
            hostgroup: updated.spec.group.clone(),
            ip: updated.status.ip.clone().unwrap_or_default(),
            created_at: updated.meta.created_at.clone(),
            arch: host_arch().to_owned(),
            persistent: updated.spec.persistent || updated.spec.role == VmRole::Service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tag_edits() {
        let current = tags(&["name=web", "env=dev", "team=a"]);
        let add_remove = TagPatch {
            add: Some(tags(&["env=prod", "team=a"])),
            remove: Some(tags(&["env=dev"])),
            replace: None,
        };
        assert_eq!(
            edit_tags("h", &current, &add_remove).unwrap(),
            tags(&["name=web", "team=a", "env=prod"])
        );
        let replace = TagPatch {
            replace: Some(tags(&["x=1"])),
            ..TagPatch::default()
        };
        assert_eq!(
            edit_tags("h", &current, &replace).unwrap(),
            tags(&["name=web", "x=1"])
        );
        for bad in [
            TagPatch {
                add: Some(tags(&["name=other"])),
                ..TagPatch::default()
            },
            TagPatch {
                remove: Some(tags(&["name=web"])),
                ..TagPatch::default()
            },
            TagPatch {
                add: Some(tags(&["a"])),
                replace: Some(tags(&["b"])),
                ..TagPatch::default()
            },
            TagPatch::default(),
            TagPatch {
                add: Some(tags(&[" "])),
                ..TagPatch::default()
            },
        ] {
            assert_eq!(
                edit_tags("h", &current, &bad).unwrap_err().status,
                400,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn log_tails() {
        assert_eq!(tail("a\nb\nc\n", 2), ("b\nc\n".to_owned(), 2));
        assert_eq!(tail("a\nb\nc", 0), ("a\nb\nc".to_owned(), 3));
        assert_eq!(tail("", 5), (String::new(), 0));
    }
}
