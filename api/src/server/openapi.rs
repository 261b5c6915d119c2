//! The OpenAPI 3.1 document of the daemon's API, generated from the route
//! table and the wire types' JSON Schemas (`schemars`), so the document
//! checked in under `schemas/` always says what the server serves.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use super::{Answer, RequestBody, route_table};
use crate::types::ErrorBody;

/// Where component schemas live in the document.
const COMPONENTS: &str = "/components/schemas";

/// A generator whose `$ref`s point into the document's components.
pub fn schema_generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|settings| settings.definitions_path = COMPONENTS.into())
        .into_generator()
}

/// The names of the `{placeholders}` of a path template, in order.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// The properties of a query struct, as `(name, schema, required)`.
pub fn query_params(generator: &SchemaGenerator, reference: &Value) -> Vec<(String, Value, bool)> {
    let Some(object) = resolve(generator, reference) else {
        return Vec::new();
    };
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    object
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, schema)| {
                    (
                        name.clone(),
                        schema.clone(),
                        required.contains(&name.as_str()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Follow a `$ref` to its definition in `generator`.
fn resolve<'a>(
    generator: &'a SchemaGenerator,
    schema: &'a Value,
) -> Option<&'a Map<String, Value>> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.strip_prefix(&format!("#{COMPONENTS}/"))?;
            generator.definitions().get(name)?.as_object()
        }
        None => schema.as_object(),
    }
}

/// `content` of a body of raw bytes in one of `types`.
fn raw_content(types: &[&str]) -> Value {
    let binary = json!({"schema": {"type": "string", "format": "binary"}});
    Value::Object(
        types
            .iter()
            .map(|t| ((*t).to_owned(), binary.clone()))
            .collect(),
    )
}

/// The response object of one kind of success.
fn success(generator: &mut SchemaGenerator, answer: Answer) -> Value {
    match answer {
        Answer::Json(schema) => json!({
            "description": "success",
            "content": {"application/json": {"schema": schema(generator).to_value()}}
        }),
        Answer::Stream { frames, buffered } => json!({
            "description": "one JSON object per line, or one JSON object with buffered=true",
            "content": {
                "application/x-ndjson": {"schema": frames(generator).to_value()},
                "application/json": {"schema": buffered(generator).to_value()}
            }
        }),
        Answer::Frames(frames) => json!({
            "description": "one JSON object per line",
            "content": {"application/x-ndjson": {"schema": frames(generator).to_value()}}
        }),
        Answer::Bytes(types) => json!({"description": "success", "content": raw_content(types)}),
        Answer::Events(data) => json!({
            "description": "server-sent events; each event's data is one JSON object",
            "content": {"text/event-stream": {"schema": {"type": "string"}, "x-slicer-event-data": data(generator).to_value()}}
        }),
        Answer::Text => json!({
            "description": "success",
            "content": {"text/plain": {"schema": {"type": "string"}}}
        }),
        Answer::Yaml => json!({
            "description": "success",
            "content": {"application/yaml": {"schema": {"type": "string"}}}
        }),
        Answer::Upgrade => json!({"description": "switching protocols to a WebSocket"}),
        Answer::Empty => json!({"description": "success"}),
    }
}

/// The whole document.
pub fn document() -> Value {
    let mut generator = schema_generator();
    let error = generator.subschema_for::<ErrorBody>().to_value();
    let mut paths = Map::new();
    for route in route_table() {
        let mut parameters: Vec<Value> = path_params(route.path)
            .into_iter()
            .map(|name| json!({"in": "path", "name": name, "required": true, "schema": {"type": "string"}}))
            .collect();
        if let Some(query) = route.query {
            let reference = query(&mut generator).to_value();
            for (name, schema, required) in query_params(&generator, &reference) {
                let mut parameter =
                    json!({"in": "query", "name": name, "required": required, "schema": schema});
                if let Some(description) = schema.get("description").cloned()
                    && let Some(object) = parameter.as_object_mut()
                {
                    object.insert("description".into(), description);
                }
                parameters.push(parameter);
            }
        }
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(route.summary));
        if route.extension {
            operation.insert("x-slicer-extension".into(), json!(true));
        }
        if route.auth {
            operation.insert("security".into(), json!([{"BearerAuth": []}]));
        }
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(body) = route.body {
            let content = match body {
                RequestBody::Json(schema) => {
                    json!({"application/json": {"schema": schema(&mut generator).to_value()}})
                }
                RequestBody::Bytes(types) => raw_content(types),
            };
            operation.insert(
                "requestBody".into(),
                json!({"required": true, "content": content}),
            );
        }
        let mut responses = Map::new();
        let answers = std::iter::once((route.status, route.answer)).chain(route.also);
        for (status, answer) in answers {
            responses.insert(status.to_string(), success(&mut generator, answer));
        }
        responses.insert(
            "default".into(),
            json!({"description": "an error", "content": {"application/json": {"schema": error}}}),
        );
        operation.insert("responses".into(), Value::Object(responses));
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(item) = item.as_object_mut() {
            item.insert(
                route.method.as_str().to_lowercase(),
                Value::Object(operation),
            );
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "slicer API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The REST API of the slicer daemon: Slicer-compatible paths and shapes (upstream contract 0.1.71) plus the extensions marked x-slicer-extension."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"BearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": generator.take_definitions(true),
        }
    })
}
