//! The generated documents checked in under `schemas/`: the OpenAPI
//! document of the REST API (from the route table and the wire types) and
//! the JSON Schema of the YAML configuration (from the config file types).
//! `slicer schemas write` (or `UPDATE_SCHEMAS=1 cargo test -p
//! slicer-controller --lib schemas`) regenerates them; a test fails when
//! the checked-in copies are stale.

use std::path::Path;

use schemars::generate::SchemaSettings;

use crate::config::SlicerConfig;

mod api_doc;
#[cfg(test)]
mod contract_tests;

/// File name of the OpenAPI document.
pub const OPENAPI_FILE: &str = "openapi.json";
/// File name of the config JSON Schema.
pub const CONFIG_SCHEMA_FILE: &str = "slicer-config.schema.json";

/// Path of the generated API reference, relative to the workspace root.
pub const API_DOC_FILE: &str = "docs/api.md";

/// The markdown API reference (`docs/api.md`).
pub fn api_reference() -> String {
    api_doc::render(&slicer_api::server::openapi::document())
}

/// Every generated document as `(file name, contents)`.
pub fn generated() -> Vec<(&'static str, String)> {
    let config = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<SlicerConfig>();
    vec![
        (
            OPENAPI_FILE,
            pretty(&slicer_api::server::openapi::document()),
        ),
        (CONFIG_SCHEMA_FILE, pretty(&config.to_value())),
    ]
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Write every document into `dir` and, when `docs` is given, the API
/// reference into it; returns the paths written.
pub fn write(dir: &Path, docs: Option<&Path>) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = generated()
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            Ok(path)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    if let Some(docs) = docs {
        std::fs::create_dir_all(docs)?;
        let path = docs.join("api.md");
        std::fs::write(&path, api_reference())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `schemas/` at the workspace root.
    fn checked_in() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
    }

    #[test]
    fn checked_in_schemas_are_current() {
        let dir = checked_in();
        let docs = dir.join("../docs");
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            write(&dir, Some(&docs)).unwrap();
        }
        let stored = std::fs::read_to_string(docs.join("api.md")).unwrap_or_default();
        assert!(
            stored == api_reference(),
            "docs/api.md is stale: run `cargo run -p slicer-controller --bin slicer -- schemas write`"
        );
        for (name, text) in generated() {
            let path = dir.join(name);
            let stored = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                stored == text,
                "{} is stale: run `cargo run -p slicer-controller --bin slicer -- schemas write` (or UPDATE_SCHEMAS=1 cargo test -p slicer-controller --lib schemas)",
                path.display()
            );
        }
    }

    #[test]
    fn the_documented_examples_validate_against_the_config_schema() {
        let schema: serde_json::Value = serde_json::from_str(&generated()[1].1).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let example: serde_json::Value = serde_yaml::from_str(
            "config:\n  host_groups:\n  - name: vm\n    count: 1\n    storage: image\n    storage_size: 25G\n    network: {bridge: brvm0, tap_prefix: vmtap, gateway: 192.168.137.1/24}\n  api: {port: 8080, bind_address: 127.0.0.1, auth: {enabled: true}}\n",
        )
        .unwrap();
        assert!(validator.is_valid(&example));
        let typo: serde_json::Value = serde_yaml::from_str("config:\n  host_group: []\n").unwrap();
        assert!(!validator.is_valid(&typo));
    }
}
