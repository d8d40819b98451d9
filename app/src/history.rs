//! The state of earlier heights, as modules read it through history.
//!
//! On a chain that ran from its first block, that is a committed version of
//! the store. A chain started from an export (`deaid export`) has no
//! versions before its initial height, yet the work it carried over may
//! read them (an open vote's tally reads voting power at its start); the
//! export carries those parts of those heights, and InitChain keeps them
//! in the app's own keys ([`crate::state_key::imported_history`]), so
//! every node serves the same bytes. A read outside the carried prefixes
//! is refused rather than answered from nothing.

use deai_proto::app::v1::ImportedHistory;
use deai_store::{Snapshot, Storage};
use deai_types::{Entries, StateError, StateRead, StateReadExt};

use crate::state_key;

/// The state at the end of an earlier height.
pub enum PastState<'a> {
    /// A committed version of the store.
    Committed(Snapshot),
    /// Part of a height before this chain began, carried by its genesis.
    Imported(Imported<'a>),
}

/// The part of a height before this chain began that its genesis carried.
pub struct Imported<'a> {
    /// State holding the carried entries (any state since genesis).
    source: &'a dyn StateRead,
    /// The height.
    height: u64,
    /// Where its entries live in `source`.
    at: Vec<u8>,
    /// The prefixes carried.
    prefixes: Vec<Vec<u8>>,
}

/// The state at the end of `height`: carried by genesis when `source`
/// (any state since genesis) marks it so, else the store's version.
pub fn read<'a>(
    storage: &Storage,
    source: &'a dyn StateRead,
    height: u64,
) -> Result<PastState<'a>, String> {
    let marker = source
        .get_proto::<ImportedHistory>(&state_key::imported_history(height))
        .map_err(|e| e.to_string())?;
    match marker {
        Some(m) => Ok(PastState::Imported(Imported {
            source,
            height,
            at: state_key::imported_history_entries(height),
            prefixes: m.prefixes,
        })),
        None => storage
            .snapshot(height)
            .map(PastState::Committed)
            .map_err(|e| e.to_string()),
    }
}

impl Imported<'_> {
    /// Refuses a read of `key_or_prefix` outside the carried prefixes.
    fn check(&self, key_or_prefix: &[u8]) -> Result<(), StateError> {
        if self.prefixes.iter().any(|p| key_or_prefix.starts_with(p)) {
            Ok(())
        } else {
            Err(StateError::Storage(format!(
                "height {} is before this chain's first block and its genesis did not carry {}",
                self.height,
                String::from_utf8_lossy(key_or_prefix)
            )))
        }
    }

    fn inner(&self, key: &[u8]) -> Vec<u8> {
        let mut k = self.at.clone();
        k.extend_from_slice(key);
        k
    }
}

impl StateRead for Imported<'_> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.check(key)?;
        self.source.get_raw(&self.inner(key))
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        self.check(prefix)?;
        let after = start_after.map(|a| self.inner(a));
        let entries = self
            .source
            .prefix_raw(&self.inner(prefix), after.as_deref(), limit)?;
        Ok(entries
            .into_iter()
            .map(|(k, v)| (k[self.at.len()..].to_vec(), v))
            .collect())
    }
}

impl StateRead for PastState<'_> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self {
            PastState::Committed(s) => s.get_raw(key),
            PastState::Imported(i) => i.get_raw(key),
        }
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        match self {
            PastState::Committed(s) => s.prefix_raw(prefix, start_after, limit),
            PastState::Imported(i) => i.prefix_raw(prefix, start_after, limit),
        }
    }
}
