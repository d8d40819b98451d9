//! Protobuf types of the `deai.*` packages: module parameters, their query
//! messages and chain-level records. Generated at build time by prost from
//! the `.proto` files beside this crate; Cosmos SDK types come from
//! `cosmos-sdk-proto` instead.
//!
//! The crate also owns the descriptors of everything the chain serves: the
//! `deai.*` packages with their `Query`/`Msg` services, and our own
//! declarations of the Cosmos SDK v0.50 services (auth, bank, tx,
//! base.tendermint, base.node, gov v1, staking, slashing, distribution,
//! mint) with the CometBFT types they embed, wire-identical to the SDK's
//! and carrying its `google.api.http` routes; and ibc-go's core query
//! services (`ibc.core.{client,connection,channel}.v1.Query`), taken from
//! ibc-proto's descriptor set with the files they import that ours lack.
//! gRPC reflection ([`file_descriptor_set`]) and the REST gateway
//! ([`descriptor_pool`]) read them.
//!
//! Events are typed too: each module's `deai/<module>/v1/events.proto` has
//! one message per event kind, which [`events`] turns into ABCI attributes
//! and back.

#![allow(missing_docs)] // generated code carries the .proto comments instead

pub mod events;

use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage, SerializeOptions, Value};

/// The encoded `google.protobuf.FileDescriptorSet` of every .proto file
/// beside this crate and the well-known types they import.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/deai_descriptor.bin"));

/// The ibc-go files whose services the chain serves (its IBC module
/// answers them); what they import comes along.
pub const IBC_QUERY_FILES: [&str; 5] = [
    "ibc/core/client/v1/query.proto",
    "ibc/core/connection/v1/query.proto",
    "ibc/core/channel/v1/query.proto",
    "ibc/applications/transfer/v1/query.proto",
    "ibc/applications/transfer/v1/tx.proto",
];

/// A `FileDescriptorSet` with each file left as its bytes, so that nothing
/// in them (the `google.api.http` options above all) is lost in a copy.
#[derive(Clone, PartialEq, Message)]
struct RawFileSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

/// The two fields of a `FileDescriptorProto` a merge needs.
#[derive(Clone, PartialEq, Message)]
struct FileHead {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, repeated, tag = "3")]
    dependency: Vec<String>,
}

fn head(file: &[u8]) -> FileHead {
    FileHead::decode(file).expect("a descriptor set's file decodes")
}

/// [`FILE_DESCRIPTOR_SET`] and [`IBC_QUERY_FILES`] from ibc-proto's set,
/// with the files they import that ours lacks (ours are kept where both
/// have a file: they are wire-identical), each after what it imports.
fn merged_file_descriptor_set() -> Vec<u8> {
    let mut set = RawFileSet::decode(FILE_DESCRIPTOR_SET)
        .expect("protoc wrote a valid descriptor set at build time");
    let mut have: std::collections::BTreeSet<String> =
        set.file.iter().map(|f| head(f).name).collect();
    let ibc = RawFileSet::decode(ibc_proto::FILE_DESCRIPTOR_SET)
        .expect("ibc-proto ships a valid descriptor set");
    let ibc: std::collections::BTreeMap<String, &Vec<u8>> =
        ibc.file.iter().map(|f| (head(f).name, f)).collect();
    fn add(
        name: &str,
        ibc: &std::collections::BTreeMap<String, &Vec<u8>>,
        have: &mut std::collections::BTreeSet<String>,
        out: &mut Vec<Vec<u8>>,
    ) {
        if !have.insert(name.to_string()) {
            return;
        }
        let file = ibc
            .get(name)
            .unwrap_or_else(|| panic!("ibc-proto's descriptor set has {name}"));
        for dep in head(file).dependency {
            add(&dep, ibc, have, out);
        }
        out.push(file.to_vec());
    }
    for name in IBC_QUERY_FILES {
        add(name, &ibc, &mut have, &mut set.file);
    }
    set.encode_to_vec()
}

/// The encoded `FileDescriptorSet` of everything the chain serves:
/// [`FILE_DESCRIPTOR_SET`] and ibc-go's core query services, for gRPC
/// reflection.
pub fn file_descriptor_set() -> &'static [u8] {
    static SET: OnceLock<Vec<u8>> = OnceLock::new();
    SET.get_or_init(merged_file_descriptor_set)
}

/// [`file_descriptor_set`] decoded once into a pool of services, messages
/// and enums.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(file_descriptor_set())
            .expect("the merged descriptor set resolves: every import is in it")
    })
}

/// The type URL domain prost-reflect's JSON serialiser insists on for `Any`.
const GOOGLEAPIS: &str = "type.googleapis.com";

/// The JSON the Cosmos SDK's REST (LCD) gateway writes for `msg`: proto
/// field names, default fields written out (unset messages as `null`),
/// 64-bit integers as strings, and each `Any` as its message's fields beside
/// `"@type": "/full.Name"`.
///
/// prost-reflect 0.14 (the last for prost 0.13) renders an `Any` only when
/// its type URL reads `type.googleapis.com/full.Name`, while Cosmos writes
/// `/full.Name`; so `Any`s are given that domain for the serialiser and the
/// `@type`s written back without it. A type URL that already carried the
/// googleapis domain therefore also comes out as `/full.Name`.
pub fn to_lcd_json(msg: &DynamicMessage) -> Result<serde_json::Value, serde_json::Error> {
    let mut msg = msg.clone();
    with_googleapis_type_urls(&mut msg)?;
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false);
    let mut json = msg.serialize_with_options(serde_json::value::Serializer, &options)?;
    strip_type_url_domains(&mut json);
    null_unset_messages(&mut json, &msg.descriptor());
    format_decimals(&mut json, &msg.descriptor());
    Ok(json)
}

/// The decimal `atomics` (an integer count of 10^-18 units, as the SDK's
/// `LegacyDec` travels on the wire) as the SDK's JSON writes it:
/// `"1.000000000000000000"`. Anything else is left as it is.
fn decimal_text(atomics: &str) -> Option<String> {
    let (sign, digits) = match atomics.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", atomics),
    };
    if digits.is_empty() {
        return Some("0.000000000000000000".into());
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{digits:0>19}");
    let (int, frac) = padded.split_at(padded.len() - 18);
    let int = match int.trim_start_matches('0') {
        "" => "0",
        digits => digits,
    };
    Some(format!("{sign}{int}.{frac}"))
}

/// The atomics (10^-18 units, as an integer string) of decimal `text`
/// (`"0.05"`, `"1.000000000000000000"`, `"-2"`); `None` if it is not one.
fn decimal_atomics(text: &str) -> Option<String> {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 18 {
        return None;
    }
    let joined = format!("{int}{frac:0<18}");
    let joined = match joined.trim_start_matches('0') {
        "" => "0",
        d => d,
    };
    Some(format!("{sign}{joined}"))
}

/// Reads `json`, the SDK's JSON of a `desc` message (as [`to_lcd_json`]
/// writes it, or as a person writes a proposal file), into a message:
/// proto3 JSON, with the fields marked `cosmos.Dec` read as decimals
/// (`"0.05"`) and stored as their 10^-18 units, as the SDK stores them.
/// Unknown fields are refused.
pub fn from_lcd_json(
    desc: prost_reflect::MessageDescriptor,
    json: &serde_json::Value,
) -> Result<DynamicMessage, serde_json::Error> {
    let mut json = json.clone();
    decimals_to_atomics(&mut json, &desc);
    DynamicMessage::deserialize(desc, json)
}

/// [`from_lcd_json`]'s first step: every `cosmos.Dec` field of `json` (a
/// `desc` message) from decimal text to its wire form.
pub fn decimals_to_atomics(json: &mut serde_json::Value, desc: &prost_reflect::MessageDescriptor) {
    for_each_decimal(json, desc, &|text, bytes| {
        let atomics = decimal_atomics(text)?;
        Some(if bytes {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(atomics)
        } else {
            atomics
        })
    });
}

/// Writes every field marked `(cosmos_proto.scalar) = "cosmos.Dec"` as a
/// decimal, as the SDK's gateway does (a `bytes` field holds the atomics as
/// text, which JSON first carries as base64).
fn format_decimals(json: &mut serde_json::Value, desc: &prost_reflect::MessageDescriptor) {
    for_each_decimal(json, desc, &|text, bytes| {
        if bytes {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?;
            decimal_text(std::str::from_utf8(&raw).ok()?)
        } else {
            decimal_text(text)
        }
    });
}

/// Calls `rewrite` on the JSON string of every field of `json` (a `desc`
/// message, nested messages and `Any`s included) marked `(cosmos_proto.scalar)
/// = "cosmos.Dec"`, with whether the field is `bytes`; a `Some` replaces
/// the string.
fn for_each_decimal(
    json: &mut serde_json::Value,
    desc: &prost_reflect::MessageDescriptor,
    rewrite: &dyn Fn(&str, bool) -> Option<String>,
) {
    let serde_json::Value::Object(map) = json else {
        return;
    };
    let desc = match desc.full_name() {
        "google.protobuf.Any" => match map.get("@type").and_then(|t| t.as_str()).and_then(|t| {
            desc.parent_pool()
                .get_message_by_name(t.trim_start_matches('/'))
        }) {
            Some(inner) => inner,
            None => return,
        },
        name if name.starts_with("google.protobuf.") => return,
        _ => desc.clone(),
    };
    let scalar = desc
        .parent_pool()
        .get_extension_by_name("cosmos_proto.scalar");
    for field in desc.fields() {
        let Some(value) = map.get_mut(field.name()) else {
            continue;
        };
        match field.kind() {
            prost_reflect::Kind::Message(inner) => match value {
                serde_json::Value::Array(items) => items
                    .iter_mut()
                    .for_each(|i| for_each_decimal(i, &inner, rewrite)),
                serde_json::Value::Object(entries) if field.is_map() => {
                    if let prost_reflect::Kind::Message(v) = inner.map_entry_value_field().kind() {
                        entries
                            .values_mut()
                            .for_each(|e| for_each_decimal(e, &v, rewrite));
                    }
                }
                other => for_each_decimal(other, &inner, rewrite),
            },
            kind @ (prost_reflect::Kind::String | prost_reflect::Kind::Bytes) => {
                let is_dec = scalar.as_ref().is_some_and(|ext| {
                    field
                        .options()
                        .get_extension(ext)
                        .as_str()
                        .is_some_and(|s| s == "cosmos.Dec")
                });
                if !is_dec {
                    continue;
                }
                let bytes = matches!(kind, prost_reflect::Kind::Bytes);
                let mut one = |v: &mut serde_json::Value| {
                    if let Some(t) = v.as_str().and_then(|s| rewrite(s, bytes)) {
                        *v = serde_json::Value::String(t);
                    }
                };
                match value {
                    serde_json::Value::Array(items) => items.iter_mut().for_each(&mut one),
                    v => one(v),
                }
            }
            _ => {}
        }
    }
}

/// Writes `null` for every unset singular message field, as the SDK's
/// gateway does; prost-reflect leaves them out even when asked for defaults.
/// Fields of a oneof stay out, as in the SDK.
fn null_unset_messages(json: &mut serde_json::Value, desc: &prost_reflect::MessageDescriptor) {
    let serde_json::Value::Object(map) = json else {
        return; // a well-known type written as a scalar
    };
    let desc = match desc.full_name() {
        "google.protobuf.Any" => match map.get("@type").and_then(|t| t.as_str()).and_then(|t| {
            desc.parent_pool()
                .get_message_by_name(t.trim_start_matches('/'))
        }) {
            Some(inner) => inner,
            None => return,
        },
        name if name.starts_with("google.protobuf.") => return,
        _ => desc.clone(),
    };
    for field in desc.fields() {
        let prost_reflect::Kind::Message(field_desc) = field.kind() else {
            continue;
        };
        match map.get_mut(field.name()) {
            None if !field.is_list() && !field.is_map() && field.containing_oneof().is_none() => {
                map.insert(field.name().to_owned(), serde_json::Value::Null);
            }
            Some(serde_json::Value::Array(items)) => {
                items
                    .iter_mut()
                    .for_each(|i| null_unset_messages(i, &field_desc));
            }
            Some(serde_json::Value::Object(entries)) if field.is_map() => {
                let value_desc = field_desc.map_entry_value_field();
                if let prost_reflect::Kind::Message(v) = value_desc.kind() {
                    entries
                        .values_mut()
                        .for_each(|e| null_unset_messages(e, &v));
                }
            }
            Some(value) => null_unset_messages(value, &field_desc),
            None => {}
        }
    }
}

/// Prefixes every `Any` type URL of the `/full.Name` form, nested ones
/// included, with [`GOOGLEAPIS`].
fn with_googleapis_type_urls(msg: &mut DynamicMessage) -> Result<(), serde_json::Error> {
    use serde::ser::Error as _;
    if msg.descriptor().full_name() == "google.protobuf.Any" {
        let url = msg
            .get_field_by_name("type_url")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if !url.starts_with('/') {
            return Ok(());
        }
        let desc = msg
            .descriptor()
            .parent_pool()
            .get_message_by_name(&url[1..])
            .ok_or_else(|| serde_json::Error::custom(format!("no message {url} in the pool")))?;
        let value = msg
            .get_field_by_name("value")
            .and_then(|v| v.as_bytes().cloned())
            .unwrap_or_default();
        let mut inner = DynamicMessage::decode(desc, value).map_err(serde_json::Error::custom)?;
        with_googleapis_type_urls(&mut inner)?;
        msg.set_field_by_name("type_url", Value::String(format!("{GOOGLEAPIS}{url}")));
        msg.set_field_by_name("value", Value::Bytes(inner.encode_to_vec().into()));
        return Ok(());
    }
    for (_, value) in msg.fields_mut() {
        match value {
            Value::Message(m) => with_googleapis_type_urls(m)?,
            Value::List(items) => {
                for item in items {
                    if let Value::Message(m) = item {
                        with_googleapis_type_urls(m)?;
                    }
                }
            }
            Value::Map(entries) => {
                for item in entries.values_mut() {
                    if let Value::Message(m) = item {
                        with_googleapis_type_urls(m)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Turns every `"@type": "type.googleapis.com/full.Name"` back into
/// `"/full.Name"`.
fn strip_type_url_domains(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(url)) = map.get_mut("@type") {
                if let Some(rest) = url.strip_prefix(GOOGLEAPIS) {
                    *url = rest.to_owned();
                }
            }
            map.values_mut().for_each(strip_type_url_domains);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_type_url_domains),
        _ => {}
    }
}

/// `deai.app.v1`: chain-level records.
pub mod app {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.app.v1.rs"));
    }
}

/// `deai.auth.v1`: auth parameters.
pub mod auth {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.auth.v1.rs"));
    }
}

/// `deai.bank.v1`: bank parameters.
pub mod bank {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.bank.v1.rs"));
    }
}

/// `deai.gov.v1`: governance records, params, queries and DeAI's own gov messages.
pub mod gov {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.gov.v1.rs"));
    }
}

/// `deai.treasury.v1`: the DAO treasury.
pub mod treasury {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.treasury.v1.rs"));
    }
}

/// `deai.rounds.v1`: private data rounds (federated training with secure aggregation).
pub mod rounds {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.rounds.v1.rs"));
    }
}

/// `deai.staking.v1`: the staking module's events (its messages, queries
/// and records are the Cosmos SDK's `cosmos.staking.v1beta1`).
pub mod staking {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.staking.v1.rs"));
    }
}

/// `deai.distribution.v1`: the distribution module's events (its messages,
/// queries and records are the Cosmos SDK's `cosmos.distribution.v1beta1`).
pub mod distribution {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.distribution.v1.rs"));
    }
}

/// `deai.slashing.v1`: the slashing module's events (its messages, queries
/// and records are the Cosmos SDK's `cosmos.slashing.v1beta1`).
pub mod slashing {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.slashing.v1.rs"));
    }
}

/// `deai.mint.v1`: the mint module's events (its messages, queries and
/// records are the Cosmos SDK's `cosmos.mint.v1beta1`).
pub mod mint {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.mint.v1.rs"));
    }
}

/// `deai.ibccompute.v1`: compute jobs over IBC (the message that sends
/// one, and what the sending chain records of it).
pub mod ibccompute {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.ibccompute.v1.rs"));
    }
}

/// `deai.compute.v1`: compute module state, messages and queries.
pub mod compute {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.compute.v1.rs"));
    }
}
