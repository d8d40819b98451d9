//! Dropping versions that no longer need to be readable.

use rocksdb::{WriteBatch, WriteOptions};

use crate::{
    db::{Inner, Tree, CF_DATA, CF_META, META_EARLIEST},
    encoding,
    error::StoreError,
};

/// Deletes are written in batches of this many, to bound memory.
const DELETES_PER_BATCH: usize = 10_000;

/// Accumulates deletes and writes them in bounded batches.
struct Deleter<'a> {
    inner: &'a Inner,
    batch: WriteBatch,
}

impl Deleter<'_> {
    fn delete(&mut self, cf: &str, key: &[u8]) -> Result<(), StoreError> {
        self.batch.delete_cf(self.inner.cf(cf), key);
        if self.batch.len() >= DELETES_PER_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        let batch = std::mem::take(&mut self.batch);
        if !batch.is_empty() {
            self.inner.db.write(batch)?;
        }
        Ok(())
    }
}

impl Inner {
    /// Deletes what only versions below `retain_from` need: tree nodes gone
    /// stale at or before it, and values superseded at or before it.
    ///
    /// The new earliest version is recorded before anything is deleted, so a
    /// crash midway leaves those versions refused rather than half-readable;
    /// the next prune finishes the job.
    pub(crate) fn prune_below(&self, retain_from: u64) -> Result<(), StoreError> {
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        self.db.put_cf_opt(
            self.cf(CF_META),
            META_EARLIEST,
            retain_from.to_be_bytes(),
            &sync,
        )?;
        self.set_earliest(retain_from);

        let mut deleter = Deleter {
            inner: self,
            batch: WriteBatch::default(),
        };

        // A node stale since `s` belongs only to trees of versions below `s`.
        for tree in Tree::ALL {
            let mut it = self.db.raw_iterator_cf(self.cf(tree.stale_cf()));
            it.seek_to_first();
            while let Some(key) = it.key() {
                let (since, node_key) = key.split_at(8.min(key.len()));
                let since: [u8; 8] = since
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("malformed stale-node key".into()))?;
                if u64::from_be_bytes(since) > retain_from {
                    break;
                }
                deleter.delete(tree.nodes_cf(), node_key)?;
                deleter.delete(tree.stale_cf(), key)?;
                it.next();
            }
            it.status()?;
        }

        // Per key, versions from `retain_from` on need every entry above
        // it and the newest at or below it; a deletion there reads the
        // same as no entry at all.
        let mut it = self.db.raw_iterator_cf(self.cf(CF_DATA));
        it.seek_to_first();
        let mut group: Vec<u8> = Vec::new();
        let mut newest_kept = false;
        while let (Some(key), Some(value)) = (it.key(), it.value()) {
            let (_, group_len, version) = encoding::decode_data_key(key)
                .ok_or_else(|| StoreError::Corrupt("malformed data key".into()))?;
            if key[..group_len] != group[..] {
                group = key[..group_len].to_vec();
                newest_kept = false;
            }
            if version > retain_from {
                it.next();
                continue;
            }
            let live = encoding::decode_value(value)
                .map_err(|()| StoreError::Corrupt("malformed stored value".into()))?
                .is_some();
            if !newest_kept && live {
                newest_kept = true;
            } else {
                newest_kept = true;
                deleter.delete(CF_DATA, key)?;
            }
            it.next();
        }
        it.status()?;
        drop(it);
        deleter.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use deai_types::state::Changes;
    use jmt::storage::{NibblePath, Node, NodeKey};

    use crate::{
        db::{root_path, Inner, Tree, TreeView, CF_DATA, CF_NODES},
        encoding, Storage,
    };

    fn count(inner: &Inner, cf: &str) -> usize {
        let mut it = inner.db.raw_iterator_cf(inner.cf(cf));
        it.seek_to_first();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        n
    }

    /// The stored keys of a column family.
    fn keys(inner: &Inner, cf: &str) -> BTreeSet<Vec<u8>> {
        let mut it = inner.db.raw_iterator_cf(inner.cf(cf));
        it.seek_to_first();
        let mut out = BTreeSet::new();
        while let Some(key) = it.key() {
            out.insert(key.to_vec());
            it.next();
        }
        out
    }

    /// Nodes reachable from the root of `version`.
    fn reachable(inner: &Inner, version: u64) -> usize {
        reachable_keys(inner, Tree::Main, version).len()
    }

    /// The encoded keys of the nodes of `tree` reachable from its root at `version`.
    fn reachable_keys(inner: &Inner, tree: Tree, version: u64) -> BTreeSet<Vec<u8>> {
        use jmt::storage::TreeReader;
        let view = TreeView::plain(inner, tree);
        let mut todo = vec![NodeKey::new(version, root_path())];
        let mut out = BTreeSet::new();
        while let Some(key) = todo.pop() {
            out.insert(encoding::node_key(key.version(), key.nibble_path()));
            if let Node::Internal(internal) = view.get_node_option(&key).unwrap().unwrap() {
                for (nibble, child) in internal.children_sorted() {
                    let path: NibblePath = key
                        .nibble_path()
                        .nibbles()
                        .chain(std::iter::once(nibble))
                        .collect();
                    todo.push(NodeKey::new(child.version, path));
                }
            }
        }
        out
    }

    #[test]
    fn pruning_to_the_latest_version_leaves_only_its_tree_and_live_values() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let mut height = 3;
        for round in 0u8..12 {
            let mut changes = Changes::new();
            for i in 0u8..40 {
                let key = vec![b'k', i];
                let value = match (i + round) % 5 {
                    0 => None,
                    _ => Some(vec![round, i]),
                };
                if round % 4 != 3 {
                    changes.insert(key, value);
                }
            }
            storage
                .commit(storage.prepare(height, &changes).unwrap())
                .unwrap();
            height += 1 + u64::from(round % 3 == 0);
        }
        let latest = storage.latest_version().unwrap();
        let before = storage
            .latest_snapshot()
            .prefix(b"", None, usize::MAX)
            .unwrap();
        let root = storage.latest_snapshot().root_hash();
        let nodes_before = count(&storage.inner, CF_NODES);

        storage.prune(u64::MAX).unwrap();
        assert!(count(&storage.inner, CF_NODES) < nodes_before);
        assert_eq!(
            count(&storage.inner, CF_NODES),
            reachable(&storage.inner, latest)
        );
        assert_eq!(count(&storage.inner, CF_DATA), before.len());
        let snap = storage.latest_snapshot();
        assert_eq!(snap.root_hash(), root);
        assert_eq!(snap.prefix(b"", None, usize::MAX).unwrap(), before);
        for (key, _) in &before {
            snap.get_with_proof(key).unwrap();
        }
        assert!(matches!(
            storage.snapshot(3),
            Err(crate::StoreError::Pruned { version: 3, .. })
        ));

        // The store keeps working after a prune.
        let mut changes = Changes::new();
        changes.insert(b"k\x01".to_vec(), None);
        changes.insert(b"new".to_vec(), Some(b"v".to_vec()));
        storage
            .commit(storage.prepare(latest + 1, &changes).unwrap())
            .unwrap();
        assert_eq!(
            storage.latest_snapshot().get(b"new").unwrap(),
            Some(b"v".to_vec())
        );
    }

    #[test]
    fn pruning_keeps_exactly_the_nodes_of_both_trees_that_retained_versions_reach() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let mut versions = Vec::new();
        let mut height = 2;
        for round in 0u8..14 {
            let mut changes = Changes::new();
            for i in 0u8..30 {
                let value = match (i + round) % 4 {
                    0 => None,
                    _ => Some(vec![round, i]),
                };
                // The substore starts in round 2 and empties in round 9.
                if (2..9).contains(&round) || (round > 9 && i < 3) {
                    changes.insert([b"ibc/", &[i][..]].concat(), value.clone());
                }
                if round == 9 {
                    changes.insert([b"ibc/", &[i][..]].concat(), None);
                }
                if round % 3 != 2 {
                    changes.insert(vec![b'k', i], value);
                }
            }
            storage
                .commit(storage.prepare(height, &changes).unwrap())
                .unwrap();
            versions.push(height);
            height += 1 + u64::from(round % 4 == 0);
        }
        let inner = &storage.inner;
        for retain_from in [versions[4], versions[10], versions[13]] {
            storage.prune(retain_from).unwrap();
            for tree in Tree::ALL {
                let mut want = BTreeSet::new();
                for version in versions.iter().filter(|v| **v >= retain_from) {
                    if tree == Tree::Main || inner.has_root(tree, *version).unwrap() {
                        want.extend(reachable_keys(inner, tree, *version));
                    }
                }
                assert!(!want.is_empty());
                assert_eq!(
                    keys(inner, tree.nodes_cf()),
                    want,
                    "{tree:?} from {retain_from}"
                );
            }
        }
    }
}
