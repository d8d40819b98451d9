//! [`ReadCache`]: values of the latest committed version, kept in memory.
//!
//! A block reads the same few records over and over (parameters, the fee
//! collector's balance, absent delegation links) and a transaction's records
//! were read once already when CheckTx checked it. Each read from RocksDB
//! costs an iterator and a seek; this cache answers repeats from memory.
//!
//! The cache holds values as of one version only, the latest committed one:
//! a commit on top of that version updates the keys it changed and moves the
//! cache to the new version, and a read of any other version bypasses it. A
//! read that missed inserts what RocksDB returned only if the cache still
//! holds the version that read was made at. So every answer is exactly what
//! RocksDB would have given, and nodes with different cache contents compute
//! the same results.

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard, PoisonError},
};

/// A value as cached: `None` records that the key has no value.
type Cached = Option<Vec<u8>>;

/// Keys and values of one version, in two generations: lookups promote a key
/// from the old generation to the young one, and when the young one is full
/// it becomes the old one and the old one is dropped. So at most twice
/// [`ReadCache::capacity`] entries are held, and recently used ones stay.
pub(crate) struct ReadCache {
    capacity: usize,
    inner: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    /// The version whose values are held; `None`: nothing is held.
    version: Option<u64>,
    young: BTreeMap<Vec<u8>, Cached>,
    old: BTreeMap<Vec<u8>, Cached>,
}

impl Generations {
    fn put(&mut self, capacity: usize, key: Vec<u8>, value: Cached) {
        if capacity == 0 {
            return;
        }
        if self.young.len() >= capacity && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, value);
    }
}

/// What a commit does to the cache.
#[derive(Debug, Default)]
pub(crate) enum CacheUpdate {
    /// Drop everything (a commit too large to be worth keeping).
    #[default]
    Clear,
    /// The commit's changes, in key order.
    Changes(Vec<(Vec<u8>, Cached)>),
}

impl ReadCache {
    /// Entries per generation: about 30 MiB at the sizes accounts and
    /// balances have, and the records of several blocks of 10,000 transfers.
    pub(crate) const CAPACITY: usize = 200_000;

    /// An empty cache of `capacity` entries per generation (0: it holds nothing).
    pub(crate) fn new(capacity: usize) -> Self {
        ReadCache {
            capacity,
            inner: Mutex::new(Generations::default()),
        }
    }

    /// Entries per generation.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> MutexGuard<'_, Generations> {
        // Every update leaves the maps valid for the version they name, so
        // a poisoned lock is still sound to use.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value of `key` at `version`, if the cache holds it: `Some(None)`
    /// means the key is known to have no value.
    pub(crate) fn get(&self, version: u64, key: &[u8]) -> Option<Cached> {
        let mut g = self.lock();
        if g.version != Some(version) {
            return None;
        }
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let (key, value) = g.old.remove_entry(key)?;
        g.put(self.capacity, key, value.clone());
        Some(value)
    }

    /// Whether the cache knows that `key` has a value at `version` (without
    /// counting as a use).
    pub(crate) fn knows_value(&self, version: u64, key: &[u8]) -> bool {
        let g = self.lock();
        g.version == Some(version)
            && matches!(g.young.get(key).or_else(|| g.old.get(key)), Some(Some(_)))
    }

    /// Records what a read of `key` at `version` found, unless the cache
    /// has moved on from that version since.
    pub(crate) fn insert(&self, version: u64, key: &[u8], value: &Cached) {
        let mut g = self.lock();
        if g.version == Some(version) {
            g.put(self.capacity, key.to_vec(), value.clone());
        }
    }

    /// Moves the cache to `version`, just committed on top of `base`.
    /// Must be called before `version` becomes readable.
    pub(crate) fn advance(&self, base: Option<u64>, version: u64, update: CacheUpdate) {
        let mut g = self.lock();
        let keep = base.is_some() && g.version == base;
        if !keep {
            g.young.clear();
            g.old.clear();
        }
        g.version = Some(version);
        match update {
            CacheUpdate::Clear => {
                g.young.clear();
                g.old.clear();
            }
            CacheUpdate::Changes(changes) => {
                for (key, value) in changes {
                    // A stale copy in the old generation must not survive.
                    g.old.remove(&key);
                    g.put(self.capacity, key, value);
                }
            }
        }
    }

    /// Entries held now, both generations.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(b: &[u8]) -> Cached {
        Some(b.to_vec())
    }

    #[test]
    fn the_cache_answers_only_for_the_version_it_holds() {
        let c = ReadCache::new(10);
        c.insert(1, b"a", &v(b"1"));
        assert_eq!(c.get(1, b"a"), None, "nothing is held before a commit");
        c.advance(
            None,
            1,
            CacheUpdate::Changes(vec![(b"a".to_vec(), v(b"1"))]),
        );
        assert_eq!(c.get(1, b"a"), Some(v(b"1")));
        c.insert(1, b"gone", &None);
        assert_eq!(c.get(1, b"gone"), Some(None));
        assert!(c.knows_value(1, b"a"));
        assert!(!c.knows_value(1, b"gone"), "known absent is not a value");
        assert!(!c.knows_value(1, b"never"));
        assert!(!c.knows_value(0, b"a"));
        assert_eq!(c.get(0, b"a"), None);
        c.advance(
            Some(1),
            2,
            CacheUpdate::Changes(vec![(b"a".to_vec(), None)]),
        );
        assert_eq!(c.get(2, b"a"), Some(None));
        assert_eq!(c.get(2, b"gone"), Some(None), "unchanged keys carry over");
        assert_eq!(c.get(1, b"a"), None, "an older version is not answered");
        c.insert(1, b"late", &v(b"x"));
        assert_eq!(
            c.get(2, b"late"),
            None,
            "a read of an older version is not kept"
        );
        // A commit on another base (a restore, a second storage) starts over.
        c.advance(Some(7), 8, CacheUpdate::Changes(Vec::new()));
        assert_eq!(c.get(8, b"gone"), None);
        c.advance(Some(8), 9, CacheUpdate::Clear);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn the_cache_holds_at_most_two_generations() {
        let c = ReadCache::new(3);
        c.advance(None, 1, CacheUpdate::Changes(Vec::new()));
        for i in 0..50u8 {
            c.insert(1, &[i], &v(&[i]));
            assert!(c.len() <= 2 * c.capacity());
        }
        // The newest survive; a hit in the old generation still answers.
        assert_eq!(c.get(1, &[49]), Some(v(&[49])));
        assert_eq!(c.get(1, &[47]), Some(v(&[47])));
        assert_eq!(c.get(1, &[0]), None);
        let none = ReadCache::new(0);
        none.advance(None, 1, CacheUpdate::Changes(vec![(b"a".to_vec(), None)]));
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn a_change_replaces_a_copy_in_the_old_generation() {
        let c = ReadCache::new(2);
        c.advance(None, 1, CacheUpdate::Changes(Vec::new()));
        c.insert(1, b"k", &v(b"old"));
        c.insert(1, b"x", &v(b"x"));
        c.insert(1, b"y", &v(b"y")); // k and x move to the old generation
        c.advance(
            Some(1),
            2,
            CacheUpdate::Changes(vec![(b"k".to_vec(), v(b"new"))]),
        );
        assert_eq!(c.get(2, b"k"), Some(v(b"new")));
    }
}
