//! Typed events: every event the chain emits is a message in a
//! `deai/<module>/v1/events.proto`, and this module turns such a message into
//! the kind and string attributes of an ABCI event and back, by reflection
//! over [`descriptor_pool`], so no event has a hand-written mapping.
//!
//! The convention (each `events.proto` repeats it):
//! - the message is named `Event` + the CamelCase of the kind: kind
//!   `compute_job_submitted` is `deai.compute.v1.EventComputeJobSubmitted`;
//! - every field is a string named as its attribute key, and attributes come
//!   in field-number order; a `repeated string` gives one attribute per
//!   value (none when empty), an `optional string` is left out when unset,
//!   a plain `string` is always written, empty or not.
//!
//! Values stay the plain strings the fields hold, so CometBFT event queries
//! (`kind.key='value'`) match them as before.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::OnceLock,
};

use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage, Value,
};

use crate::descriptor_pool;

/// What every event message's name starts with.
pub const MESSAGE_PREFIX: &str = "Event";

/// Why a message or an ABCI event does not fit the event convention.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// No `deai.*` event message has this kind.
    #[error("no event message has kind {0:?}")]
    UnknownKind(String),
    /// The message breaks the convention (its name, or a field that is not a string).
    #[error("{message} is not an event message: {why}")]
    NotAnEvent {
        /// The message's full name.
        message: String,
        /// What breaks the convention.
        why: String,
    },
    /// An attribute names no field of the event's message.
    #[error("event {kind} has no attribute {key:?}")]
    UnknownAttribute {
        /// The event kind.
        kind: String,
        /// The attribute key.
        key: String,
    },
    /// An attribute comes before one of a lower field number, or a
    /// non-repeated attribute comes twice.
    #[error("event {kind}: attribute {key:?} is out of order or repeated")]
    OutOfOrder {
        /// The event kind.
        kind: String,
        /// The attribute key.
        key: String,
    },
    /// A plain `string` field, which is always written, has no attribute.
    #[error("event {kind}: attribute {key:?} is missing")]
    Missing {
        /// The event kind.
        kind: String,
        /// The attribute key.
        key: String,
    },
    /// The event is of another kind than the message asked for.
    #[error("event {found:?} is not a {expected}")]
    WrongKind {
        /// The message asked for.
        expected: String,
        /// The event's kind.
        found: String,
    },
    /// The message's bytes did not decode by its descriptor.
    #[error("event message does not decode: {0}")]
    Decode(String),
}

/// The event kind of message `name` (without its package): `EventFooBar`
/// is `foo_bar`. `None` unless the name is `Event` followed by CamelCase
/// starting with a letter, from which the kind converts back to the same name.
pub fn kind_of(name: &str) -> Option<String> {
    let camel = name.strip_prefix(MESSAGE_PREFIX)?;
    let mut kind = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            if !kind.is_empty() {
                kind.push('_');
            }
            kind.push(c.to_ascii_lowercase());
        } else {
            kind.push(c);
        }
    }
    (kind.starts_with(|c: char| c.is_ascii_lowercase()) && message_name_of(&kind) == name)
        .then_some(kind)
}

/// The message name (without its package) of event `kind`: `foo_bar` is
/// `EventFooBar`.
pub fn message_name_of(kind: &str) -> String {
    let mut name = String::from(MESSAGE_PREFIX);
    for word in kind.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.extend(chars);
        }
    }
    name
}

/// Every event message of the `deai.*` packages (top-level messages named
/// `Event…`), by kind.
pub fn event_messages() -> &'static BTreeMap<String, MessageDescriptor> {
    static INDEX: OnceLock<BTreeMap<String, MessageDescriptor>> = OnceLock::new();
    INDEX.get_or_init(|| {
        descriptor_pool()
            .all_messages()
            .filter(|m| m.package_name().starts_with("deai.") && m.parent_message().is_none())
            .filter_map(|m| Some((kind_of(m.name())?, m)))
            .collect()
    })
}

/// Checks that `desc` follows the convention: a top-level message of a
/// `deai.*` package, named for its kind, whose fields are all strings.
/// Returns its kind.
pub fn check(desc: &MessageDescriptor) -> Result<String, EventError> {
    let not_an_event = |why: String| EventError::NotAnEvent {
        message: desc.full_name().to_owned(),
        why,
    };
    if !desc.package_name().starts_with("deai.") || desc.parent_message().is_some() {
        return Err(not_an_event(
            "events are top-level messages of a deai.* package".into(),
        ));
    }
    let kind = kind_of(desc.name()).ok_or_else(|| {
        not_an_event(format!(
            "the name must be {MESSAGE_PREFIX} + CamelCase of a snake_case kind"
        ))
    })?;
    for field in desc.fields() {
        string_field(desc, &field)?;
    }
    Ok(kind)
}

/// Fails unless `field` of `desc` is a string, a repeated string or an optional string.
fn string_field(desc: &MessageDescriptor, field: &FieldDescriptor) -> Result<(), EventError> {
    if field.kind() == Kind::String && !field.is_map() {
        return Ok(());
    }
    Err(EventError::NotAnEvent {
        message: desc.full_name().to_owned(),
        why: format!("field {} is not a string", field.name()),
    })
}

/// The fields of `desc` in field-number order: the attribute order.
fn fields_in_order(desc: &MessageDescriptor) -> Vec<FieldDescriptor> {
    let mut fields: Vec<FieldDescriptor> = desc.fields().collect();
    fields.sort_by_key(FieldDescriptor::number);
    fields
}

/// The ABCI kind and attributes of event message `msg`.
pub fn to_attributes(msg: &DynamicMessage) -> Result<(String, Vec<(String, String)>), EventError> {
    let desc = msg.descriptor();
    let kind = kind_of(desc.name()).ok_or_else(|| EventError::NotAnEvent {
        message: desc.full_name().to_owned(),
        why: format!("the name must be {MESSAGE_PREFIX} + CamelCase of its kind"),
    })?;
    let mut attributes = Vec::with_capacity(desc.fields().len());
    for field in fields_in_order(&desc) {
        string_field(&desc, &field)?;
        if field.supports_presence() && !msg.has_field(&field) {
            continue; // an unset `optional string`: no attribute
        }
        match &*msg.get_field(&field) {
            Value::String(s) => attributes.push((field.name().to_owned(), s.clone())),
            Value::List(values) => attributes.extend(
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| (field.name().to_owned(), s.to_owned())),
            ),
            _ => {} // string_field admits only strings and lists of them
        }
    }
    Ok((kind, attributes))
}

/// The ABCI kind and attributes of typed event `m`, a generated `deai.*` message.
pub fn encode<M: prost::Name + prost::Message>(
    m: &M,
) -> Result<(String, Vec<(String, String)>), EventError> {
    let name = M::full_name();
    let desc = descriptor_pool()
        .get_message_by_name(&name)
        .ok_or_else(|| EventError::NotAnEvent {
            message: name.clone(),
            why: "not in the descriptor set".into(),
        })?;
    let msg = DynamicMessage::decode(desc, m.encode_to_vec().as_slice())
        .map_err(|e| EventError::Decode(e.to_string()))?;
    to_attributes(&msg)
}

/// The event message an ABCI event of `kind` with `attributes` stands for.
/// Strict, so that [`to_attributes`] gives back exactly `attributes`: every
/// key a field, in field-number order, a non-repeated one at most once and
/// a plain `string` one exactly once.
pub fn from_attributes(
    kind: &str,
    attributes: &[(String, String)],
) -> Result<DynamicMessage, EventError> {
    let desc = event_messages()
        .get(kind)
        .ok_or_else(|| EventError::UnknownKind(kind.to_owned()))?;
    let mut msg = DynamicMessage::new(desc.clone());
    let mut last: Option<u32> = None;
    let mut seen = BTreeSet::new();
    for (key, value) in attributes {
        let field = desc
            .get_field_by_name(key)
            .ok_or_else(|| EventError::UnknownAttribute {
                kind: kind.to_owned(),
                key: key.clone(),
            })?;
        string_field(desc, &field)?;
        let n = field.number();
        if last.is_some_and(|l| n < l || (n == l && !field.is_list())) {
            return Err(EventError::OutOfOrder {
                kind: kind.to_owned(),
                key: key.clone(),
            });
        }
        last = Some(n);
        seen.insert(n);
        if field.is_list() {
            if let Value::List(values) = msg.get_field_mut(&field) {
                values.push(Value::String(value.clone()));
            }
        } else {
            msg.set_field(&field, Value::String(value.clone()));
        }
    }
    if let Some(field) = fields_in_order(desc)
        .into_iter()
        .find(|f| !f.is_list() && !f.supports_presence() && !seen.contains(&f.number()))
    {
        return Err(EventError::Missing {
            kind: kind.to_owned(),
            key: field.name().to_owned(),
        });
    }
    Ok(msg)
}

/// Typed event `M` from an ABCI event of `kind` with `attributes`, as
/// [`from_attributes`] reads them.
pub fn decode<M: prost::Name + prost::Message + Default>(
    kind: &str,
    attributes: &[(String, String)],
) -> Result<M, EventError> {
    let expected = M::full_name();
    let msg = from_attributes(kind, attributes)?;
    if msg.descriptor().full_name() != expected {
        return Err(EventError::WrongKind {
            expected,
            found: kind.to_owned(),
        });
    }
    msg.transcode_to::<M>()
        .map_err(|e| EventError::Decode(e.to_string()))
}
