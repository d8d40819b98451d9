//! Events: what a message did, in the key/value form ABCI results carry.
//!
//! Every event the chain emits is a typed protobuf message, defined in its
//! module's `proto/deai/<module>/v1/events.proto`, and built here with
//! [`Event::typed`]; each module's `event.rs` has one constructor per kind,
//! so callers never spell attribute names. The convention that maps a
//! message to an ABCI event (see [`deai_proto::events`]):
//! - the kind is the message name without `Event`, in snake_case: message
//!   `deai.compute.v1.EventComputeJobSubmitted` is kind
//!   `compute_job_submitted`;
//! - every field is a string whose name is the attribute key, in
//!   field-number order; a `repeated string` gives one attribute per value,
//!   an unset `optional string` none, a plain `string` always one.
//!
//! Attribute values stay the plain strings the fields hold, so CometBFT
//! event queries (`compute_job_settled.job_id='7'`) keep working.

pub use deai_proto::events::EventError;

/// An ABCI event: a kind and ordered attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event kind, such as `transfer`.
    pub kind: String,
    /// Ordered (key, value) attributes.
    pub attributes: Vec<(String, String)>,
}

impl Event {
    /// The ABCI form of typed event `m`, a `deai.*.v1.Event…` message.
    pub fn typed<M: prost::Name + prost::Message>(m: &M) -> Self {
        let (kind, attributes) = deai_proto::events::encode(m).expect(
            "deai-proto's tests check that every deai.* event message follows the convention",
        );
        Event { kind, attributes }
    }

    /// This event read back as typed event `M`; fails unless it is of `M`'s
    /// kind with exactly the attributes `M` would give.
    pub fn to_typed<M: prost::Name + prost::Message + Default>(&self) -> Result<M, EventError> {
        deai_proto::events::decode(&self.kind, &self.attributes)
    }

    /// An event of `kind` with no attributes yet, built by hand: only for
    /// test modules, whose events have no proto message. The chain's own
    /// events are built with [`Event::typed`].
    pub fn new(kind: impl Into<String>) -> Self {
        Event {
            kind: kind.into(),
            attributes: Vec::new(),
        }
    }

    /// Adds an attribute to a hand-built event (see [`Event::new`]).
    pub fn attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }
}
