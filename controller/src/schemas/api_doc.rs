//! `docs/api.md`: the API reference, rendered from the generated OpenAPI
//! document so it cannot disagree with it.

use std::fmt::Write;

use serde_json::Value;

const INTRO: &str = "# REST API reference

Generated from `schemas/openapi.json` by `slicer schemas write`; do not edit
by hand. Paths and shapes are those of upstream Slicer's API (contract
0.1.71, `shared/contracts/slicer-api.yaml`); rows marked † are extensions.

- **Transport**: HTTP/1.1 on the Unix socket (`<data>/slicer.sock` or
  `api.bind_address` when it is a path; no token, mode 0660) and on TCP
  (`api.bind_address:api.port`, default `127.0.0.1:8080`).
- **Auth**: on TCP every route but `/healthz` needs
  `Authorization: Bearer <token>` unless `api.auth.enabled: false`. The token
  is `api.auth.token`, or generated once into `<data>/auth/token` (0640).
  A missing or wrong token answers 401.
- **Errors**: every error is JSON `{\"error\": \"…\", \"code\": \"…\"}` with a
  stable `code` (`bad_request`, `unauthorized`, `forbidden`, `not_found`,
  `conflict`, `timeout`, `too_large`, `internal`, `not_implemented`,
  `agent_unreachable`, `unavailable`, `method_not_allowed`).
- **Limits**: JSON bodies up to 16 MiB (413 above); quick routes answer
  within 30 s and waiting routes within 15 min (503 otherwise); exec streams
  have no limit.
- Every `/vm/{hostname}/…` route answers 404 for an unknown VM; exec and
  health answer 409 while the VM is paused.
- **File copy** (`POST|GET /vm/{hostname}/cp`, query `CopyQuery`): modes
  `binary` and `tar` write exactly at `path`. † The cp-v1 modes
  `cp-v1-binary`, `cp-v1-tar`, `cp-v1-recursive` (with `copy_semantics=cp-v1`,
  `source_name`, `source_type=file|directory`, `copy_contents`, repeatable
  `exclude`) place the copy like GNU `cp -r`: into an existing directory as
  `DIR/<source_name>`, else at `path` (a missing parent is 404, not
  created); `copy_contents=true` merges a directory's contents; a directory
  never replaces a file nor a file a directory (400). Upload header
  `X-Slicer-Unpacked-Size` is checked against the guest's free space: 400
  naming the header, before anything is written (the contract has no 507).
  Downloads in cp-v1 modes carry `X-Slicer-Source-Type` and
  `X-Slicer-Source-Name-Base64` (URL-safe, unpadded); a directory comes as a
  tar of its contents, a file as its bytes (`cp-v1-tar`: a one-entry tar).
  An unknown mode answers 400 `invalid mode: MODE`. Large files may be
  uploaded in chunks and assembled with `slicer-agent upload finalise`
  (see `docs/agent-protocol.md`).
";

/// The values of an `enum`, or of a `oneOf` of documented `const`s, as
/// "`a` (meaning), `b` (meaning)".
fn enum_values(values: &Value) -> String {
    let Some(items) = values.as_array() else {
        return one_line(&values.to_string());
    };
    let rendered: Vec<String> = items
        .iter()
        .map(|item| match (item.get("const"), item.get("description")) {
            (Some(value), Some(Value::String(meaning))) => {
                format!("`{}` ({})", plain(value), one_line(meaning))
            }
            (Some(value), _) => format!("`{}`", plain(value)),
            _ => format!("`{}`", plain(item)),
        })
        .collect();
    rendered.join(", ")
}

/// A JSON value as text, strings without their quotes.
fn plain(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn type_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return format!("`{}`", reference.rsplit('/').next().unwrap_or(reference));
    }
    if let Some(items) = schema.get("items") {
        return format!("[{}]", type_name(items));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            let names: Vec<String> = parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) != Some("null"))
                .map(type_name)
                .collect();
            return names.join(" \\| ");
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" \\| "),
        _ => schema
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(" \\| ")
            })
            .unwrap_or_else(|| "any".into()),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The markdown reference of `doc`.
pub fn render(doc: &Value) -> String {
    let mut out = String::from(INTRO);
    out.push_str("\n## Endpoints\n\n| Method and path | Purpose | Query | Body | Success |\n|---|---|---|---|---|\n");
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            let dagger = if op.get("x-slicer-extension").is_some() {
                "† "
            } else {
                ""
            };
            let auth = if op.get("security").is_some() {
                ""
            } else {
                " (no auth)"
            };
            let query: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| format!("`{}`", p["name"].as_str().unwrap_or_default()))
                .collect();
            let body = op
                .pointer("/requestBody/content/application~1json/schema")
                .map(type_name)
                .unwrap_or_default();
            let success = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(code, _)| *code != "default")
                .map(|(code, response)| {
                    let content = response["content"].as_object();
                    let kinds: Vec<String> = content
                        .into_iter()
                        .flatten()
                        .map(|(kind, media)| match media.get("schema") {
                            Some(schema) if kind.contains("json") => {
                                format!("{} {kind}", type_name(schema))
                            }
                            _ => kind.clone(),
                        })
                        .collect();
                    if kinds.is_empty() {
                        code.clone()
                    } else {
                        format!("{code} {}", kinds.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(
                out,
                "| {dagger}`{} {path}` | {}{auth} | {} | {body} | {success} |",
                method.to_uppercase(),
                one_line(op["summary"].as_str().unwrap_or_default()),
                query.join(" ")
            );
        }
    }
    out.push_str("\n## Schemas\n");
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap_or(&empty) {
        let _ = writeln!(out, "\n### `{name}`\n");
        if let Some(description) = schema.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{}\n", one_line(description));
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push_str("| Field | Type | Required | Meaning |\n|---|---|---|---|\n");
            for (field, prop) in props {
                let _ = writeln!(
                    out,
                    "| `{field}` | {} | {} | {} |",
                    type_name(prop),
                    if required.contains(&field.as_str()) {
                        "yes"
                    } else {
                        ""
                    },
                    one_line(
                        prop.get("description")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    )
                );
            }
        } else if let Some(values) = schema.get("enum").or_else(|| schema.get("oneOf")) {
            let _ = writeln!(out, "One of: {}", enum_values(values));
        }
    }
    out
}
