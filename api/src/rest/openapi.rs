//! The OpenAPI 3 document of the REST gateway, built from the same routes
//! and message descriptors that serve it, so it cannot drift from them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{json, Map, Value};

use super::{Route, Segment};

/// Nested message levels flattened into query parameters
/// (`pagination.limit` is two).
const QUERY_DEPTH: usize = 2;

/// The document for `routes`.
pub(super) fn document(routes: &[Route]) -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut wanted: VecDeque<MessageDescriptor> = VecDeque::new();
    for r in routes {
        let mut in_path = BTreeSet::new();
        let mut openapi_path = String::new();
        let mut params = Vec::new();
        for s in &r.segments {
            openapi_path.push('/');
            match s {
                Segment::Literal(l) => openapi_path.push_str(l),
                Segment::Field(f) | Segment::Rest(f) => {
                    openapi_path.push_str(&format!("{{{f}}}"));
                    in_path.insert(f.clone());
                    params.push(json!({
                        "name": f, "in": "path", "required": true,
                        "schema": {"type": "string"},
                    }));
                }
            }
        }
        let mut op = Map::new();
        let (service, method) = r
            .grpc_path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("", &r.grpc_path));
        op.insert("operationId".into(), json!(format!("{service}.{method}")));
        op.insert("tags".into(), json!([service]));
        op.insert("summary".into(), json!(format!("gRPC {}", r.grpc_path)));
        if r.body == "*" {
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": reference(&r.input)}}}),
            );
            wanted.push_back(r.input.clone());
        } else {
            query_params(&r.input, "", 0, &in_path, &mut params);
        }
        params.push(json!({
            "name": crate::HEIGHT_HEADER, "in": "header", "required": false,
            "description": "Read state at this height (0 or absent: the latest).",
            "schema": {"type": "string", "format": "uint64"},
        }));
        op.insert("parameters".into(), Value::Array(params));
        op.insert(
            "responses".into(),
            json!({
                "200": {"description": "The answer.", "content": {"application/json": {"schema": reference(&r.output)}}},
                "default": {"description": "An error.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}},
            }),
        );
        wanted.push_back(r.output.clone());
        paths
            .entry(openapi_path)
            .or_default()
            .insert(r.method.as_str().to_ascii_lowercase(), Value::Object(op));
    }
    let mut schemas = Map::new();
    schemas.insert(
        "Status".into(),
        json!({"type": "object", "properties": {
            "code": {"type": "integer", "format": "int32"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object"}},
        }}),
    );
    // A worklist, not recursion: message types may refer to themselves.
    let mut done = BTreeSet::new();
    while let Some(m) = wanted.pop_front() {
        if !done.insert(m.full_name().to_string()) || special(&m).is_some() {
            continue;
        }
        let mut props = Map::new();
        for f in m.fields() {
            props.insert(f.name().to_string(), field_schema(&f, &mut wanted));
        }
        schemas.insert(
            m.full_name().to_string(),
            json!({"type": "object", "properties": props}),
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "DeAI chain REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Cosmos SDK's REST gateway paths and DeAI's own, generated from the chain's protobuf descriptors.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

/// Well-known types written as JSON scalars or open objects.
fn special(m: &MessageDescriptor) -> Option<Value> {
    Some(match m.full_name() {
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": {"@type": {"type": "string"}},
            "additionalProperties": true,
        }),
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => json!({"type": "string", "example": "1.5s"}),
        _ => return None,
    })
}

/// A schema reference to message `m`.
fn reference(m: &MessageDescriptor) -> Value {
    special(m).unwrap_or_else(|| json!({"$ref": format!("#/components/schemas/{}", m.full_name())}))
}

/// The schema of one value of `kind`.
fn kind_schema(kind: &Kind, wanted: &mut VecDeque<MessageDescriptor>) -> Value {
    match kind {
        Kind::String => json!({"type": "string"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "format": "int64", "minimum": 0}),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({"type": "string", "format": "int64"}),
        Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "format": "uint64"}),
        Kind::Float | Kind::Double => json!({"type": "number"}),
        Kind::Bytes => json!({"type": "string", "format": "byte"}),
        Kind::Enum(e) => json!({
            "type": "string",
            "enum": e.values().map(|v| v.name().to_string()).collect::<Vec<_>>(),
        }),
        Kind::Message(m) => {
            wanted.push_back(m.clone());
            reference(m)
        }
    }
}

/// The schema of a field (lists and maps included).
fn field_schema(f: &FieldDescriptor, wanted: &mut VecDeque<MessageDescriptor>) -> Value {
    if f.is_map() {
        let Kind::Message(entry) = f.kind() else {
            return json!({"type": "object"});
        };
        let value = entry.map_entry_value_field();
        return json!({"type": "object", "additionalProperties": kind_schema(&value.kind(), wanted)});
    }
    let one = kind_schema(&f.kind(), wanted);
    if f.is_list() {
        json!({"type": "array", "items": one})
    } else {
        one
    }
}

/// The query parameters of `m`'s fields not set by the path.
fn query_params(
    m: &MessageDescriptor,
    prefix: &str,
    depth: usize,
    in_path: &BTreeSet<String>,
    out: &mut Vec<Value>,
) {
    for f in m.fields() {
        let name = format!("{prefix}{}", f.name());
        if in_path.contains(&name) || f.is_map() {
            continue;
        }
        match f.kind() {
            Kind::Message(inner) if special(&inner).is_none() => {
                if depth + 1 < QUERY_DEPTH && !f.is_list() {
                    query_params(&inner, &format!("{name}."), depth + 1, in_path, out);
                }
            }
            Kind::Message(_) => {}
            kind => {
                let mut ignored = VecDeque::new();
                let one = kind_schema(&kind, &mut ignored);
                let schema = if f.is_list() {
                    json!({"type": "array", "items": one})
                } else {
                    one
                };
                out.push(json!({"name": name, "in": "query", "required": false, "schema": schema}));
            }
        }
    }
}
