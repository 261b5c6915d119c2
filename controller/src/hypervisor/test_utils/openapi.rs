//! The upstream VMM API specs in `shared/contracts/` as strict request
//! validators: every endpoint a driver calls must exist with that method,
//! and every body must validate against the endpoint's schema, with
//! `additionalProperties: false` injected into every object schema so an
//! unknown or misspelt field fails as it does on a real Firecracker.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// One API spec, ready to check requests.
pub(crate) struct ApiSpec {
    base_path: String,
    operations: Vec<Operation>,
}

struct Operation {
    method: String,
    segments: Vec<Segment>,
    body: Option<jsonschema::Validator>,
    /// Schema of the `200` answer, if the spec gives one.
    ok_response: Option<jsonschema::Validator>,
}

#[derive(Clone)]
enum Segment {
    Literal(String),
    Param,
}

impl std::fmt::Debug for ApiSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSpec")
            .field("base_path", &self.base_path)
            .field("operations", &self.operations.len())
            .finish()
    }
}

/// Where the contracts are: `shared/` beside the workspace (the worktree
/// or CI's clone).
fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/contracts")
}

impl ApiSpec {
    /// Load `file` (e.g. `firecracker-api.yaml`) from the contracts.
    pub(crate) fn load(file: &str) -> Self {
        let path = contracts_dir().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!(
                "cannot read the API contract {}: {err}; the contract tests need shared/contracts/ beside the workspace",
                path.display()
            )
        });
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|err| panic!("{} is not YAML: {err}", path.display()));
        Self::from_document(yaml_to_json(yaml))
    }

    fn from_document(doc: Value) -> Self {
        // Swagger 2 keeps schemas under `definitions` and bodies in
        // `in: body` parameters; OpenAPI 3 under `components/schemas` and
        // `requestBody`. Both are rewritten to draft-4 `#/definitions/`.
        let swagger = doc.get("swagger").is_some();
        let mut definitions = if swagger {
            doc["definitions"].clone()
        } else {
            doc["components"]["schemas"].clone()
        };
        make_all_strict(&mut definitions);
        let base_path = if swagger {
            doc["basePath"].as_str().unwrap_or("/").to_owned()
        } else {
            let url = doc["servers"][0]["url"].as_str().unwrap_or("");
            url.split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                .unwrap_or_default()
        };
        let base_path = base_path.trim_end_matches('/').to_owned();
        let mut operations = Vec::new();
        let paths = doc["paths"].as_object().expect("spec has paths");
        for (template, item) in paths {
            let segments = template
                .trim_start_matches('/')
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    if s.starts_with('{') {
                        Segment::Param
                    } else {
                        Segment::Literal(s.to_owned())
                    }
                })
                .collect::<Vec<_>>();
            for (method, op) in item.as_object().expect("path item is a map") {
                let schema = if swagger {
                    op["parameters"].as_array().and_then(|params| {
                        params
                            .iter()
                            .find(|p| p["in"] == "body")
                            .map(|p| p["schema"].clone())
                    })
                } else {
                    op.get("requestBody")
                        .map(|body| body["content"]["application/json"]["schema"].clone())
                };
                let response = if swagger {
                    op["responses"]["200"].get("schema").cloned()
                } else {
                    op["responses"]["200"]
                        .get("content")
                        .map(|c| c["application/json"]["schema"].clone())
                };
                let compile = |mut schema: Value| {
                    make_strict(&mut schema);
                    let root = json!({ "allOf": [schema], "definitions": definitions });
                    jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft4)
                        .build(&root)
                        .unwrap_or_else(|err| {
                            panic!("schema of {method} {template} does not compile: {err}")
                        })
                };
                operations.push(Operation {
                    method: method.to_uppercase(),
                    segments: segments.clone(),
                    body: schema.map(compile),
                    ok_response: response.map(compile),
                });
            }
        }
        Self {
            base_path,
            operations,
        }
    }

    /// Check one request: the endpoint exists for `method`, and `body`
    /// validates against its schema (or is empty when it takes none).
    pub(crate) fn check(&self, method: &str, path: &str, body: &[u8]) -> Result<(), String> {
        let op = self.operation(method, path)?;
        match (&op.body, body.is_empty()) {
            (None, true) => Ok(()),
            (None, false) => Err(format!("{method} {path} takes no body")),
            (Some(_), true) => Err(format!("{method} {path} needs a body")),
            (Some(validator), false) => {
                let value: Value = serde_json::from_slice(body)
                    .map_err(|err| format!("{method} {path}: body is not JSON: {err}"))?;
                let errors: Vec<String> = validator
                    .iter_errors(&value)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{method} {path}: {}", errors.join("; ")))
                }
            }
        }
    }
}

impl ApiSpec {
    /// Check that `body` is a valid `200` answer to `method path`, so the
    /// fake VMM answers in the spec's shapes.
    pub(crate) fn check_ok_response(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Result<(), String> {
        let op = self.operation(method, path)?;
        let validator = op
            .ok_response
            .as_ref()
            .ok_or_else(|| format!("{method} {path} has no 200 answer in the spec"))?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("answer to {method} {path}: {}", errors.join("; ")))
        }
    }

    fn operation(&self, method: &str, path: &str) -> Result<&Operation, String> {
        let path = path.split('?').next().unwrap_or(path);
        let relative = path
            .strip_prefix(self.base_path.as_str())
            .ok_or_else(|| format!("{path} is outside the API base path {}", self.base_path))?;
        let segments: Vec<&str> = relative.split('/').filter(|s| !s.is_empty()).collect();
        self.operations
            .iter()
            .find(|op| op.method == method && matches(&op.segments, &segments))
            .ok_or_else(|| format!("{method} {path} is not in the spec"))
    }
}

fn matches(template: &[Segment], path: &[&str]) -> bool {
    template.len() == path.len()
        && template.iter().zip(path).all(|(t, p)| match t {
            Segment::Literal(l) => l == p,
            Segment::Param => !p.is_empty(),
        })
}

/// Rewrite OpenAPI 3 refs to `#/definitions/` and forbid unknown
/// properties in every object schema that lists its properties.
///
/// The walk follows only the keywords whose values are schemas, since a
/// property may itself be named `properties` (Firecracker's `Metrics`).
fn make_strict(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::String(r)) = map.get_mut("$ref") {
        *r = r.replace("#/components/schemas/", "#/definitions/");
    }
    if map.get("properties").is_some_and(Value::is_object)
        && !map.contains_key("additionalProperties")
    {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (keyword, value) in map.iter_mut() {
        match (keyword.as_str(), value) {
            ("properties" | "patternProperties" | "definitions", Value::Object(schemas)) => {
                schemas.values_mut().for_each(make_strict);
            }
            ("allOf" | "anyOf" | "oneOf" | "items", Value::Array(schemas)) => {
                schemas.iter_mut().for_each(make_strict);
            }
            ("items" | "additionalProperties" | "not", value) => make_strict(value),
            _ => {}
        }
    }
}

/// [`make_strict`] on every schema of a `definitions` map.
fn make_all_strict(definitions: &mut Value) {
    if let Value::Object(schemas) = definitions {
        schemas.values_mut().for_each(make_strict);
    }
}

/// YAML to JSON, turning non-string keys (the specs' `200:` status codes)
/// into strings, which `serde_json::Value` requires.
fn yaml_to_json(yaml: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_yaml::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firecracker_validator_rejects_unknown_fields_and_wrong_types() {
        let spec = ApiSpec::load("firecracker-api.yaml");
        let ok = br#"{"kernel_image_path": "/vmlinux", "boot_args": "console=ttyS0"}"#;
        spec.check("PUT", "/boot-source", ok).unwrap();
        let unknown = br#"{"kernel_image_path": "/vmlinux", "kernel_args": "x"}"#;
        let err = spec.check("PUT", "/boot-source", unknown).unwrap_err();
        assert!(err.contains("kernel_args"), "{err}");
        let wrong_type = br#"{"vcpu_count": "two", "mem_size_mib": 128}"#;
        let err = spec
            .check("PUT", "/machine-config", wrong_type)
            .unwrap_err();
        assert!(err.contains("vcpu_count"), "{err}");
        let missing = br#"{"drive_id": "rootfs"}"#;
        let err = spec.check("PUT", "/drives/rootfs", missing).unwrap_err();
        assert!(err.contains("is_root_device"), "{err}");
        let bad_enum = br#"{"state": "Running"}"#;
        assert!(spec.check("PATCH", "/vm", bad_enum).is_err());
        // Unknown fields deep inside a referenced schema fail too.
        let nested = br#"{"snapshot_path": "/s", "mem_backend": {"backend_type": "File", "backend_path": "/m", "x": 1}}"#;
        assert!(spec.check("PUT", "/snapshot/load", nested).is_err());
        assert!(spec.check("PUT", "/nowhere", b"{}").is_err());
        assert!(spec.check("DELETE", "/vm", b"").is_err());
        spec.check("GET", "/", b"").unwrap();
        let info = serde_json::json!({"app_name": "Firecracker", "id": "i", "state": "Running", "vmm_version": "1"});
        spec.check_ok_response("GET", "/", &info).unwrap();
        let bad = serde_json::json!({"app_name": "Firecracker", "id": "i", "state": "Up", "vmm_version": "1"});
        assert!(spec.check_ok_response("GET", "/", &bad).is_err());
    }

    #[test]
    fn cloud_hypervisor_validator_knows_the_base_path_and_rejects_bad_bodies() {
        let spec = ApiSpec::load("cloud-hypervisor-api.yaml");
        spec.check("PUT", "/api/v1/vm.boot", b"").unwrap();
        assert!(spec.check("PUT", "/vm.boot", b"").is_err());
        assert!(spec.check("PUT", "/api/v1/vm.boot", b"{}").is_err());
        let ok =
            br#"{"payload": {"kernel": "/vmlinux"}, "cpus": {"boot_vcpus": 1, "max_vcpus": 1}}"#;
        spec.check("PUT", "/api/v1/vm.create", ok).unwrap();
        let wrong_type =
            br#"{"payload": {"kernel": "/vmlinux"}, "cpus": {"boot_vcpus": "1", "max_vcpus": 1}}"#;
        assert!(spec.check("PUT", "/api/v1/vm.create", wrong_type).is_err());
        let unknown = br#"{"payload": {"kernel": "/vmlinux", "kernel_args": ""}}"#;
        let err = spec.check("PUT", "/api/v1/vm.create", unknown).unwrap_err();
        assert!(err.contains("kernel_args"), "{err}");
    }
}
