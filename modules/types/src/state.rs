//! The key-value state seen by modules, and the copy-on-write overlay that
//! stages writes (a block's, a transaction's) until they are kept or dropped.

use std::collections::BTreeMap;

/// Errors from reading or writing state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The gas limit of the transaction was reached.
    #[error("out of gas: limit {limit}, would use {needed}")]
    OutOfGas {
        /// The gas limit of the transaction.
        limit: u64,
        /// The gas the failed operation would have brought the total to.
        needed: u64,
    },
    /// The storage backend failed (I/O error, corruption).
    #[error("storage: {0}")]
    Storage(String),
}

/// Key-value pairs in ascending key order, as prefix scans return them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The key range a prefix scan of an in-memory map walks: from the prefix,
/// or strictly after `start_after` when that sorts at or past the prefix.
fn scan_range(
    prefix: &[u8],
    start_after: Option<&[u8]>,
) -> (std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>) {
    use std::ops::Bound;
    let lower = match start_after {
        Some(after) if after >= prefix => Bound::Excluded(after.to_vec()),
        _ => Bound::Included(prefix.to_vec()),
    };
    (lower, Bound::Unbounded)
}

/// Read access to versioned key-value state.
pub trait StateRead {
    /// The value under `key`, if any.
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    /// Live entries whose key starts with `prefix`, in ascending key order,
    /// beginning strictly after `start_after` when it is given, at most `limit` of them.
    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError>;
}

/// Write access to key-value state.
pub trait StateWrite: StateRead {
    /// Store `value` under `key`.
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError>;
    /// Remove `key`; removing an absent key is not an error.
    fn delete_raw(&mut self, key: Vec<u8>) -> Result<(), StateError>;
}

impl<T: StateRead + ?Sized> StateRead for &T {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get_raw(key)
    }
    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        (**self).prefix_raw(prefix, start_after, limit)
    }
}

impl<T: StateRead + ?Sized> StateRead for &mut T {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get_raw(key)
    }
    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        (**self).prefix_raw(prefix, start_after, limit)
    }
}

impl<T: StateRead + ?Sized> StateRead for Box<T> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get_raw(key)
    }
    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        (**self).prefix_raw(prefix, start_after, limit)
    }
}

impl<T: StateWrite + ?Sized> StateWrite for &mut T {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError> {
        (**self).put_raw(key, value)
    }
    fn delete_raw(&mut self, key: Vec<u8>) -> Result<(), StateError> {
        (**self).delete_raw(key)
    }
}

/// Pending changes: `Some(value)` is a write, `None` a deletion.
pub type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A copy-on-write layer over a base state. Reads see the layer's own
/// changes first; nothing reaches the base until the owner takes the changes
/// with [`Overlay::into_changes`] and applies them. Dropping it discards them,
/// which is how a failed transaction leaves no trace.
#[derive(Debug, Clone)]
pub struct Overlay<B> {
    base: B,
    changes: Changes,
}

impl<B: StateRead> Overlay<B> {
    /// An empty layer over `base`.
    pub fn new(base: B) -> Self {
        Self {
            base,
            changes: Changes::new(),
        }
    }

    /// The staged changes.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// The base this layer reads through to.
    pub fn base(&self) -> &B {
        &self.base
    }

    /// Gives up the layer, returning its base and staged changes.
    pub fn into_parts(self) -> (B, Changes) {
        (self.base, self.changes)
    }

    /// Gives up the layer, returning its staged changes.
    pub fn into_changes(self) -> Changes {
        self.changes
    }

    /// Stages `changes` (from a child layer) on top of this layer's own.
    pub fn apply(&mut self, changes: Changes) {
        self.changes.extend(changes);
    }
}

impl<B: StateRead> StateRead for Overlay<B> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.changes.get(key) {
            Some(staged) => Ok(staged.clone()),
            None => self.base.get_raw(key),
        }
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        let range = scan_range(prefix, start_after);
        let staged: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = self
            .changes
            .range(range)
            .take_while(|(k, _)| k.starts_with(prefix))
            .collect();
        // Every staged deletion may hide one base entry, so ask the base for
        // that many more than the caller wants.
        let hidden = staged.iter().filter(|(_, v)| v.is_none()).count();
        let base = self
            .base
            .prefix_raw(prefix, start_after, limit.saturating_add(hidden))?;

        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base
            .into_iter()
            .filter(|(k, _)| !self.changes.contains_key(k))
            .collect();
        for (k, v) in staged {
            if let Some(v) = v {
                merged.insert(k.clone(), v.clone());
            }
        }
        // A staged key past the last base key fetched may sort after base keys
        // that were not fetched. Truncating to `limit` is still exact: when
        // the base was cut short it supplied at least `limit` live keys
        // before that point.
        Ok(merged.into_iter().take(limit).collect())
    }
}

impl<B: StateRead> StateWrite for Overlay<B> {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError> {
        self.changes.insert(key, Some(value));
        Ok(())
    }

    fn delete_raw(&mut self, key: Vec<u8>) -> Result<(), StateError> {
        self.changes.insert(key, None);
        Ok(())
    }
}

/// An in-memory state that behaves like the node's store where cost is
/// concerned: a deleted key leaves a deletion marker that prefix scans still
/// walk, and every key a scan visits (live or marker) is counted. Tests use
/// it to show that a block hook's work does not grow with what was deleted.
#[derive(Debug, Default)]
pub struct MarkedState {
    map: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    visited: std::cell::Cell<u64>,
}

impl MarkedState {
    /// Keys visited by prefix scans since the last [`MarkedState::reset_visits`].
    pub fn visited(&self) -> u64 {
        self.visited.get()
    }

    /// Starts counting visits from zero.
    pub fn reset_visits(&self) {
        self.visited.set(0);
    }

    /// The live entries, without the markers.
    pub fn live(&self) -> MemState {
        MemState(
            self.map
                .iter()
                .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                .collect(),
        )
    }
}

impl StateRead for MarkedState {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.map.get(key).cloned().flatten())
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        let range = scan_range(prefix, start_after);
        let mut out = Vec::new();
        for (k, v) in self
            .map
            .range(range)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            if out.len() >= limit {
                break;
            }
            self.visited.set(self.visited.get().saturating_add(1));
            if let Some(v) = v {
                out.push((k.clone(), v.clone()));
            }
        }
        Ok(out)
    }
}

impl StateWrite for MarkedState {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError> {
        self.map.insert(key, Some(value));
        Ok(())
    }

    fn delete_raw(&mut self, key: Vec<u8>) -> Result<(), StateError> {
        self.map.insert(key, None);
        Ok(())
    }
}

/// A state that counts the reads made through it: one per `get_raw`, and one
/// per `prefix_raw` call plus one per entry it returns. The counter is shared
/// (`Rc`), so several views (a state and its history snapshots, say) can add
/// to one count. Tests use it to show that work does not grow with a count.
#[derive(Debug, Clone, Default)]
pub struct CountingState<S> {
    /// The state read through.
    pub inner: S,
    /// Reads so far.
    pub reads: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<S: StateRead> StateRead for CountingState<S> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.reads.set(self.reads.get().saturating_add(1));
        self.inner.get_raw(key)
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        let out = self.inner.prefix_raw(prefix, start_after, limit)?;
        let returned = u64::try_from(out.len()).unwrap_or(u64::MAX);
        self.reads
            .set(self.reads.get().saturating_add(1).saturating_add(returned));
        Ok(out)
    }
}

impl<S: StateWrite> StateWrite for CountingState<S> {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError> {
        self.inner.put_raw(key, value)
    }

    fn delete_raw(&mut self, key: Vec<u8>) -> Result<(), StateError> {
        self.inner.delete_raw(key)
    }
}

/// A plain in-memory state: the base for unit tests and for computing
/// genesis before any storage exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemState(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl StateRead for MemState {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.0.get(key).cloned())
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        let range = scan_range(prefix, start_after);
        Ok(self
            .0
            .range(range)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl StateWrite for MemState {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError> {
        self.0.insert(key, value);
        Ok(())
    }

    fn delete_raw(&mut self, key: Vec<u8>) -> Result<(), StateError> {
        self.0.remove(&key);
        Ok(())
    }
}

/// Typed reads of protobuf-encoded values.
pub trait StateReadExt: StateRead {
    /// Decodes the protobuf value under `key`; a value that does not decode is
    /// reported as storage corruption, never silently replaced.
    fn get_proto<M: prost::Message + Default>(&self, key: &[u8]) -> Result<Option<M>, StateError> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(bytes) => M::decode(bytes.as_slice()).map(Some).map_err(|e| {
                StateError::Storage(format!(
                    "value under key {} does not decode: {e}",
                    String::from_utf8_lossy(key)
                ))
            }),
        }
    }
}

impl<T: StateRead + ?Sized> StateReadExt for T {}

/// Typed writes of protobuf-encoded values.
pub trait StateWriteExt: StateWrite {
    /// Encodes `msg` as protobuf under `key`.
    fn put_proto<M: prost::Message>(&mut self, key: Vec<u8>, msg: &M) -> Result<(), StateError> {
        self.put_raw(key, msg.encode_to_vec())
    }
}

impl<T: StateWrite + ?Sized> StateWriteExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> MemState {
        let mut m = MemState::default();
        for k in [b"a/1", b"a/2", b"a/3", b"b/1"] {
            m.put_raw(k.to_vec(), k.to_vec()).unwrap();
        }
        m
    }

    #[test]
    fn overlay_reads_its_own_writes_and_hides_deletions() {
        let mut o = Overlay::new(base());
        o.put_raw(b"a/0".to_vec(), b"new".to_vec()).unwrap();
        o.delete_raw(b"a/2".to_vec()).unwrap();
        assert_eq!(o.get_raw(b"a/2").unwrap(), None);
        assert_eq!(o.get_raw(b"a/0").unwrap(), Some(b"new".to_vec()));
        let keys: Vec<_> = o
            .prefix_raw(b"a/", None, 10)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            vec![b"a/0".to_vec(), b"a/1".to_vec(), b"a/3".to_vec()]
        );
    }

    #[test]
    fn overlay_prefix_respects_limit_and_start_after_across_deletions() {
        let mut o = Overlay::new(base());
        o.delete_raw(b"a/1".to_vec()).unwrap();
        o.delete_raw(b"a/2".to_vec()).unwrap();
        let page = o.prefix_raw(b"a/", None, 1).unwrap();
        assert_eq!(page, vec![(b"a/3".to_vec(), b"a/3".to_vec())]);
        let after = o.prefix_raw(b"a/", Some(b"a/3"), 5).unwrap();
        assert!(after.is_empty());
    }

    #[test]
    fn dropping_an_overlay_leaves_the_base_untouched() {
        let b = base();
        {
            let mut o = Overlay::new(&b);
            o.put_raw(b"a/1".to_vec(), b"changed".to_vec()).unwrap();
        }
        assert_eq!(b.get_raw(b"a/1").unwrap(), Some(b"a/1".to_vec()));
    }
}
