//! Route tests: the real router over a [`DaemonBackend`] on a temporary
//! store, driven with `tower::ServiceExt::oneshot`. The drivers are fakes
//! that never launch anything, so no VM is needed; every bad input is
//! checked to leave the store and the secret directory unchanged.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use base64::Engine;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use ipnet::Ipv4Net;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::DaemonBackend;
use crate::config::{HostGroupSpec, parse};
use crate::hypervisor::{
    Capabilities, Hypervisor, HypervisorError, HypervisorKind, VmHandle, VmSpec,
};
use crate::lifecycle::{Context, TapRegistry, Timing};
use crate::model::{EventLog, PowerState, Vm, VmPhase, VmRole};
use crate::network::{EgressStatus, HostNetwork, Ipam, NetworkError};
use crate::paths::DataDir;
use crate::storage::ImageFiles;
use crate::store::Store;

/// A hypervisor that refuses to launch: these tests never get that far.
#[derive(Debug)]
struct NoHypervisor;

#[async_trait]
impl Hypervisor for NoHypervisor {
    fn kind(&self) -> HypervisorKind {
        HypervisorKind::Qemu
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exits_on_guest_poweroff: true,
            pause: true,
            snapshot: false,
        }
    }
    fn describe(&self) -> String {
        "fake".into()
    }
    async fn launch(&self, _: &VmSpec) -> Result<VmHandle, HypervisorError> {
        Err(HypervisorError::Unsupported {
            kind: self.kind(),
            operation: "launch in a route test",
        })
    }
    async fn kill(&self, _: &VmHandle) -> Result<(), HypervisorError> {
        Ok(())
    }
    async fn pause(&self, _: &VmHandle) -> Result<(), HypervisorError> {
        Ok(())
    }
    async fn resume(&self, _: &VmHandle) -> Result<(), HypervisorError> {
        Ok(())
    }
}

/// A host network with nothing on it.
#[derive(Debug)]
struct NoNetwork;

#[async_trait]
impl HostNetwork for NoNetwork {
    async fn ensure_bridge(&self, _: &str, _: Ipv4Net) -> Result<(), NetworkError> {
        Ok(())
    }
    async fn remove_bridge(&self, _: &str) -> Result<(), NetworkError> {
        Ok(())
    }
    async fn ensure_tap(&self, _: &str, _: &str) -> Result<(), NetworkError> {
        Ok(())
    }
    async fn remove_tap(&self, _: &str) -> Result<(), NetworkError> {
        Ok(())
    }
    async fn taps_with_prefix(&self, _: &str) -> Result<Vec<String>, NetworkError> {
        Ok(Vec::new())
    }
    async fn ensure_egress(&self, _: &str, _: Ipv4Net) -> EgressStatus {
        EgressStatus::Unavailable {
            reason: "fake".into(),
        }
    }
    async fn addresses(&self, _: &str) -> Result<Vec<std::net::Ipv4Addr>, NetworkError> {
        Ok(Vec::new())
    }
}

const GROUPS: &str = r#"
config:
  host_groups:
  - name: svc
    count: 1
    vcpu: 2
    ram_gb: 1
    storage: image
    storage_size: 1G
    network: {bridge: brsvc0, tap_prefix: svctap, gateway: 192.168.150.1/24}
  - name: sbox
    count: 0
    vcpu: 2
    ram_gb: 1
    storage: image
    storage_size: 1G
    network: {bridge: brsbox0, tap_prefix: sboxtap, gateway: 192.168.151.1/24}
"#;

struct Rig {
    _root: tempfile::TempDir,
    ctx: Context,
    backend: Arc<DaemonBackend>,
}

fn vm(group: &str, index: u64, role: VmRole, persistent: bool) -> Vm {
    Vm {
        group: group.into(),
        index,
        role,
        persistent,
        vcpus: 1,
        ram_bytes: 512 << 20,
        image: "min".into(),
        storage_size_bytes: None,
        userdata: None,
        tags: vec!["name=web".into(), "env=dev".into()],
        secrets: None,
        power: PowerState::Running,
        launch_nonce: 0,
    }
}

impl Rig {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let store = Store::temporary().unwrap();
        let (_, groups) = parse(GROUPS, Path::new("groups.yaml"), root.path()).unwrap();
        for group in groups {
            store
                .create::<HostGroupSpec>(&group.name.clone(), group)
                .unwrap();
        }
        let ctx = Context {
            ipam: Ipam::new(&store).unwrap(),
            taps: TapRegistry::new(&store).unwrap(),
            events: EventLog::new(&store),
            store,
            data: DataDir::new(root.path()),
            hypervisor: Arc::new(NoHypervisor),
            network: Arc::new(NoNetwork),
            disks: Arc::new(ImageFiles),
            timing: Timing::default(),
        };
        let backend = Arc::new(DaemonBackend::new(
            ctx.clone(),
            "fake".into(),
            root.path().to_owned(),
            None,
        ));
        let rig = Self {
            _root: root,
            ctx,
            backend,
        };
        rig.add_vm(
            "svc-1",
            vm("svc", 1, VmRole::Service, false),
            VmPhase::Running,
        );
        rig.add_vm(
            "sbox-2",
            vm("sbox", 2, VmRole::Sandbox, true),
            VmPhase::Stopped,
        );
        rig
    }

    fn add_vm(&self, name: &str, spec: Vm, phase: VmPhase) {
        self.ctx.store.create(name, spec).unwrap();
        self.ctx
            .store
            .update_status::<Vm>(name, |vm| vm.status.phase = phase)
            .unwrap();
    }

    /// Everything a bad request must leave alone.
    fn snapshot(&self) -> (Value, Vec<String>) {
        let vms = serde_json::to_value(self.ctx.store.list::<Vm>().unwrap()).unwrap();
        let groups = serde_json::to_value(self.ctx.store.list::<HostGroupSpec>().unwrap()).unwrap();
        let secrets = std::fs::read_dir(self.ctx.data.secrets_dir())
            .map(|dir| {
                dir.map(|e| {
                    let e = e.unwrap();
                    let bytes = std::fs::read(e.path()).unwrap();
                    format!("{:?}={bytes:?}", e.file_name())
                })
                .collect()
            })
            .unwrap_or_default();
        (json!({"vms": vms, "groups": groups}), secrets)
    }

    async fn call(&self, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
        let router = slicer_api::server::router(self.backend.clone());
        send(router, method, uri, body, None).await
    }
}

async fn send(
    router: axum::Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .body(Body::from(body.unwrap_or_default().to_owned()))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

async fn send_service<S>(service: S, uri: &str) -> (StatusCode, bytes::Bytes)
where
    S: tower::Service<Request<Body>, Response = axum::response::Response>,
    S::Error: std::fmt::Debug,
{
    let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode) {
    assert_eq!(status, want, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(body["code"].as_str().is_some(), "{body}");
}

#[tokio::test]
async fn tcp_needs_the_token_except_healthz() {
    let rig = Rig::new();
    let router = || slicer_api::server::tcp_router(rig.backend.clone(), Some("s3cret".into()));
    let (status, body) = send(router(), "GET", "/nodes", None, None).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED);
    let (status, body) = send(router(), "GET", "/nodes", None, Some("wrong")).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED);
    let (status, body) = send(router(), "GET", "/metrics", None, None).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED);
    let (status, _) = send(router(), "GET", "/nodes", None, Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(router(), "GET", "/healthz", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!("OK")));
    let (status, _) = send(router(), "HEAD", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    // The Unix-socket router has no auth at all.
    let (status, _) = rig.call("GET", "/nodes", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_groups_and_vms_are_404_and_change_nothing() {
    let rig = Rig::new();
    let before = rig.snapshot();
    for (method, uri) in [
        ("GET", "/hostgroup/nope/nodes"),
        ("POST", "/hostgroup/nope/nodes"),
        ("DELETE", "/hostgroup/sbox/nodes/sbox-99"),
        ("GET", "/node/nope-1/stats"),
        ("GET", "/vm/nope-1"),
        ("GET", "/vm/nope-1/tags"),
        ("PATCH", "/vm/nope-1/tags"),
        ("GET", "/vm/nope-1/logs"),
        ("GET", "/vm/nope-1/health"),
        ("POST", "/vm/nope-1/shutdown"),
        ("POST", "/vm/nope-1/pause"),
        ("POST", "/vm/nope-1/resume"),
        ("POST", "/vm/nope-1/suspend"),
        ("POST", "/vm/nope-1/restore"),
        ("POST", "/vm/nope-1/relaunch"),
        ("POST", "/vm/nope-1/exec?cmd=true"),
        ("PATCH", "/secrets/nope"),
        ("DELETE", "/secrets/nope"),
        ("GET", "/no/such/path"),
    ] {
        let body = (method == "PATCH").then_some(r#"{"add":["a=b"]}"#);
        let (status, response) = rig.call(method, uri, body).await;
        assert_error(status, &response, StatusCode::NOT_FOUND);
    }
    let (status, _) = rig.call("HEAD", "/vm/nope-1/health", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(rig.snapshot(), before);
}

#[tokio::test]
async fn bad_creates_are_400_and_change_nothing() {
    let rig = Rig::new();
    let before = rig.snapshot();
    for body in [
        r#"{"cpus": 3}"#,
        r#"{"ram_bytes": 4294967296}"#,
        r#"{"gpu_count": 1}"#,
        r#"{"hostname": "mine"}"#,
        r#"{"cpus": "#,
        r#"[1, 2]"#,
        r#"{"cpus": "two"}"#,
    ] {
        let (status, response) = rig.call("POST", "/hostgroup/sbox/nodes", Some(body)).await;
        assert_error(status, &response, StatusCode::BAD_REQUEST);
    }
    let (status, response) = rig
        .call("POST", "/hostgroup/sbox/nodes?wait=forever", Some("{}"))
        .await;
    assert_error(status, &response, StatusCode::BAD_REQUEST);
    for body in [
        r#"{"tags": ["name=Web"]}"#,
        r#"{"tags": ["name=sbox-7"]}"#,
        r#"{"tags": ["name=a", "name=b"]}"#,
    ] {
        let (status, response) = rig.call("POST", "/hostgroup/sbox/nodes", Some(body)).await;
        assert_error(status, &response, StatusCode::BAD_REQUEST);
    }
    let (status, response) = rig
        .call(
            "POST",
            "/hostgroup/sbox/nodes",
            Some(r#"{"tags": ["name=web"]}"#),
        )
        .await;
    assert_error(status, &response, StatusCode::CONFLICT);
    let (status, response) = rig.call("GET", "/nodes?tag=a&tag_prefix=b", None).await;
    assert_error(status, &response, StatusCode::BAD_REQUEST);
    assert_eq!(rig.snapshot(), before);
}

#[tokio::test]
async fn a_create_writes_only_desired_state() {
    let rig = Rig::new();
    let (status, body) = rig
        .call(
            "POST",
            "/hostgroup/sbox/nodes",
            Some(r#"{"cpus":1,"tags":["job=1"]}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hostname = body["hostname"].as_str().unwrap();
    assert_eq!(hostname, "sbox-1");
    let stored = rig.ctx.store.get::<Vm>(hostname).unwrap().unwrap();
    assert_eq!(
        (stored.spec.vcpus, stored.status.phase),
        (1, VmPhase::Pending)
    );
    assert_eq!(stored.spec.tags, vec!["job=1".to_owned()]);
}

#[tokio::test]
async fn services_are_protected_and_running_vms_not_relaunched() {
    let rig = Rig::new();
    let before = rig.snapshot();
    let (status, body) = rig.call("DELETE", "/hostgroup/svc/nodes/svc-1", None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN);
    let (status, body) = rig.call("POST", "/vm/svc-1/relaunch", None).await;
    assert_error(status, &body, StatusCode::CONFLICT);
    assert_eq!(rig.snapshot(), before);
}

#[tokio::test]
async fn a_stopped_persistent_vm_is_relaunched_through_its_spec() {
    let rig = Rig::new();
    let (status, body) = rig.call("POST", "/vm/sbox-2/relaunch", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hostname"], "sbox-2");
    assert_eq!(body["persistent"], true);
    let vm = rig.ctx.store.get::<Vm>("sbox-2").unwrap().unwrap();
    assert_eq!(
        (vm.spec.launch_nonce, vm.spec.power),
        (1, PowerState::Running)
    );
}

#[tokio::test]
async fn lifecycle_verbs_check_the_state_first() {
    let rig = Rig::new();
    let before = rig.snapshot();
    // Stopped VMs cannot be paused or resumed; a stopped one is already stopped.
    let (status, body) = rig.call("POST", "/vm/sbox-2/pause", None).await;
    assert_error(status, &body, StatusCode::CONFLICT);
    let (status, body) = rig.call("POST", "/vm/sbox-2/resume", None).await;
    assert_error(status, &body, StatusCode::CONFLICT);
    let (status, body) = rig
        .call("POST", "/vm/svc-1/shutdown?action=halt", None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
    let (status, body) = rig.call("POST", "/vm/svc-1/suspend", None).await;
    assert_error(status, &body, StatusCode::NOT_IMPLEMENTED);
    let (status, body) = rig
        .call("POST", "/vm/svc-1/restore?wait=userdata", None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
    // No VMM runs for it, so there is no agent to ask.
    let (status, body) = rig.call("GET", "/vm/svc-1/health", None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
    assert_eq!(rig.snapshot(), before);
    rig.ctx
        .store
        .modify::<Vm, std::convert::Infallible>("sbox-2", |vm| {
            vm.spec.power = PowerState::Stopped;
            Ok(())
        })
        .unwrap()
        .unwrap();
    let (status, body) = rig.call("POST", "/vm/sbox-2/shutdown", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn tags_are_read_and_edited_atomically() {
    let rig = Rig::new();
    let (status, body) = rig.call("GET", "/vm/svc-1/tags", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"hostname": "svc-1", "tags": ["name=web", "env=dev"]})
    );
    let (status, body) = rig
        .call(
            "PATCH",
            "/vm/svc-1/tags",
            Some(r#"{"add":["env=prod"],"remove":["env=dev"]}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tags"], json!(["name=web", "env=prod"]));
    let before = rig.snapshot();
    for bad in [
        r#"{"add":["name=other"]}"#,
        r#"{"replace":["a"],"add":["b"]}"#,
        r#"{"remove":["name=web"]}"#,
        r#"{"nonsense":true}"#,
        "{",
        "",
    ] {
        let (status, body) = rig.call("PATCH", "/vm/svc-1/tags", Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST);
    }
    assert_eq!(rig.snapshot(), before);
    let (_, body) = rig
        .call("PATCH", "/vm/svc-1/tags", Some(r#"{"replace":["x=1"]}"#))
        .await;
    assert_eq!(body["tags"], json!(["name=web", "x=1"]));
    let (status, body) = rig.call("GET", "/vm/svc-1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tags"], json!(["name=web", "x=1"]));
    assert_eq!(body["storage"], "image");
    assert_eq!(body["network"]["mode"], "bridge");
}

#[tokio::test]
async fn logs_are_tailed_from_the_console_file() {
    let rig = Rig::new();
    let (status, body) = rig.call("GET", "/vm/svc-1/logs", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
    std::fs::create_dir_all(rig.ctx.data.logs_dir()).unwrap();
    let text: String = (1..=30).map(|n| format!("line {n}\n")).collect();
    std::fs::write(rig.ctx.data.console_log("svc-1"), text).unwrap();
    let (status, body) = rig.call("GET", "/vm/svc-1/logs?lines=2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"hostname": "svc-1", "lines": 2, "content": "line 29\nline 30\n"})
    );
    let (_, body) = rig.call("GET", "/vm/svc-1/logs", None).await;
    assert_eq!(body["lines"], 20);
    let (_, body) = rig.call("GET", "/vm/svc-1/logs?lines=0", None).await;
    assert_eq!(body["lines"], 30);
    let (status, body) = rig.call("GET", "/vm/svc-1/logs?lines=many", None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn secrets_round_trip_and_bad_input_changes_nothing() {
    let rig = Rig::new();
    let data = base64::engine::general_purpose::STANDARD.encode("hunter2");
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let create =
        json!({"name": "db-pass", "data": data, "permissions": "0640", "uid": uid, "gid": gid});
    let (status, body) = rig
        .call("POST", "/secrets", Some(&create.to_string()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["size"], 7);
    let before = rig.snapshot();
    for (bad, want) in [
        (
            json!({"name": "x", "data": "!!not base64"}).to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "../x", "data": ""}).to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "data": "", "permissions": "rw"}).to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"data": ""}).to_string(), StatusCode::BAD_REQUEST),
        ("{".to_owned(), StatusCode::BAD_REQUEST),
        (create.to_string(), StatusCode::CONFLICT),
    ] {
        let (status, body) = rig.call("POST", "/secrets", Some(&bad)).await;
        assert_error(status, &body, want);
    }
    let (status, body) = rig
        .call("PATCH", "/secrets/db-pass", Some(r#"{"data":"%%%"}"#))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
    assert_eq!(rig.snapshot(), before);
    let (status, body) = rig.call("GET", "/secrets", None).await;
    assert_eq!(status, StatusCode::OK);
    let listed = &body[0];
    assert_eq!(listed["name"], "db-pass");
    assert_eq!(listed["permissions"], "0640");
    assert!(listed.get("data").is_none(), "lists carry no contents");
    let (status, body) = rig
        .call(
            "PATCH",
            "/secrets/db-pass",
            Some(r#"{"permissions":"0600"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["permissions"].as_str(), body["size"].as_u64()),
        (Some("0600"), Some(7))
    );
    let delivered = crate::secrets::SecretStore::new(rig.ctx.data.secrets_dir())
        .files_for(None)
        .unwrap();
    assert_eq!(delivered[0].data, data);
    let (status, _) = rig.call("DELETE", "/secrets/db-pass", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = rig.call("GET", "/secrets", None).await;
    assert_eq!(body, json!([]));
}

#[tokio::test]
async fn stats_answer_with_an_error_and_the_right_shape() {
    let rig = Rig::new();
    let (status, body) = rig.call("GET", "/nodes/stats", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 2);
    let (status, body) = rig.call("GET", "/node/svc-1/stats", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["hostname"], "svc-1");
    assert!(body["error"].as_str().is_some());
}

#[tokio::test]
async fn metrics_text_parses() {
    let rig = Rig::new();
    rig.call("GET", "/nodes", None).await;
    rig.call("POST", "/hostgroup/sbox/nodes", Some(r#"{"cpus":9}"#))
        .await;
    let (status, body) = rig.call("GET", "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    let mut names = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(name.starts_with("slicer_"), "{line}");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
        names.push(name.to_owned());
    }
    for want in [
        "slicer_vm_launch_total",
        "slicer_vm_running",
        "slicer_vm_gpu_count",
        "slicer_api_requests_total",
        "slicer_api_request_duration_seconds_bucket",
        "slicer_system_load_avg_15",
        "slicer_system_memory_available_bytes",
        "slicer_system_egress_tx",
        "slicer_system_open_connections",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing:\n{text}");
    }
    assert!(
        text.contains(r#"slicer_vm_launch_total{host_group="sbox",code="400"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"slicer_vm_running{host_group="svc",api="false",state="Running"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn the_typed_client_talks_to_a_tcp_listener_with_the_token() {
    use slicer_api::client::{Endpoint, SlicerClient};
    let rig = Rig::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(slicer_api::server::serve_tcp(
        listener,
        rig.backend.clone(),
        Some("tok".into()),
        stop.clone().cancelled_owned(),
    ));
    let good = SlicerClient::new(Endpoint::Tcp(address.clone()), Some("tok".into()));
    let anonymous = SlicerClient::new(Endpoint::Tcp(address), None);
    anonymous.healthz().await.unwrap();
    let err = anonymous
        .nodes(None, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(
        good.nodes(None, &Default::default()).await.unwrap().len(),
        2
    );
    // One trailing slash is the same path (reference §11 item 35).
    let (status, _) = send_service(
        slicer_api::server::normalized(slicer_api::server::router(rig.backend.clone())),
        "/nodes/",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send_service(
        slicer_api::server::normalized(slicer_api::server::router(rig.backend.clone())),
        "/vm/svc-1/tags/?x=1",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        good.tags("svc-1").await.unwrap().tags,
        ["name=web", "env=dev"]
    );
    assert_eq!(
        good.describe("sbox-2").await.unwrap().node.status,
        "Stopped"
    );
    let logs = good.logs("svc-1", &Default::default()).await.unwrap_err();
    assert_eq!(logs.status(), Some(StatusCode::NOT_FOUND));
    assert!(
        good.metrics()
            .await
            .unwrap()
            .contains("slicer_api_requests_total")
    );
    let created = good
        .create_secret(&slicer_api::types::CreateSecretRequest {
            name: "k".into(),
            data: "aGk=".into(),
            permissions: None,
            uid: Some(nix::unistd::geteuid().as_raw()),
            gid: Some(nix::unistd::getegid().as_raw()),
        })
        .await
        .unwrap();
    assert_eq!((created.size, created.permissions.as_str()), (2, "0600"));
    good.delete_secret("k").await.unwrap();
    assert!(good.secrets().await.unwrap().is_empty());
    stop.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn guest_facing_routes_are_409_while_paused() {
    let rig = Rig::new();
    rig.add_vm(
        "sbox-3",
        vm("sbox", 3, VmRole::Sandbox, false),
        VmPhase::Paused,
    );
    let before = rig.snapshot();
    for (method, uri) in [
        ("GET", "/vm/sbox-3/health"),
        ("POST", "/vm/sbox-3/exec?cmd=true"),
        ("POST", "/vm/sbox-3/relaunch"),
    ] {
        let (status, body) = rig.call(method, uri, None).await;
        assert_error(status, &body, StatusCode::CONFLICT);
    }
    let (status, _) = rig.call("HEAD", "/vm/sbox-3/health", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Pausing a paused VM is a no-op that answers at once.
    let (status, body) = rig.call("POST", "/vm/sbox-3/pause", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(rig.snapshot(), before);
}

/// The guest proxies come from the route table's guest entries; each one
/// must be routed (an unknown VM gets the backend's 404, not the router's "no
/// route") and must exist in upstream's contract with the same method.
#[tokio::test]
async fn every_guest_route_is_served_and_in_the_contract() {
    let rig = Rig::new();
    let guest: Arc<dyn slicer_api::server::GuestBackend> = rig.backend.clone();
    let contract_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/contracts/slicer-api.yaml");
    let contract: Value = serde_yaml::from_str(
        &std::fs::read_to_string(&contract_path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", contract_path.display())),
    )
    .unwrap();
    for route in slicer_api::server::guest_route_table() {
        let (method, path) = (route.method.as_str(), route.path);
        assert!(
            contract["paths"][path][method.to_lowercase()].is_object(),
            "{method} {path} is not in the contract"
        );
        let uri = path
            .replace("{hostname}", "nope-1")
            .replace("{exec_id}", "e1");
        let app = slicer_api::server::app(rig.backend.clone(), guest.clone(), None);
        let body = (method == "POST").then_some(r#"{"path":"/x"}"#);
        let (status, body) =
            send(app, method, &format!("{uri}?path=/x&paths=/x"), body, None).await;
        let text = body["error"]
            .as_str()
            .map_or_else(|| body.to_string(), str::to_owned);
        assert!(
            !text.starts_with("no route"),
            "{method} {uri} was not routed to its handler: {body}"
        );
        if path.ends_with("/shell") || path.ends_with("/forward") {
            // Without upgrade headers the WebSocket extractor answers first.
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri}: {body}");
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}: {body}");
            assert!(text.contains("nope-1"), "{method} {uri}: {body}");
        }
    }
}
