//! Events: what a message did, in the key/value form ABCI results carry.
//! Modules build them through one constructor per event kind (see each
//! module's `event.rs`), so the attribute names live in one place.

/// An ABCI event: a kind and ordered attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event kind, such as `transfer`.
    pub kind: String,
    /// Ordered (key, value) attributes.
    pub attributes: Vec<(String, String)>,
}

impl Event {
    /// An event of `kind` with no attributes yet.
    pub fn new(kind: impl Into<String>) -> Self {
        Event {
            kind: kind.into(),
            attributes: Vec::new(),
        }
    }

    /// Adds an attribute.
    pub fn attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }
}
