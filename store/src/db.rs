//! The RocksDB handle shared by [`Storage`](crate::Storage) and its
//! snapshots, the reads they have in common, and the view of it that the
//! Merkle tree reads through.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        PoisonError, RwLock,
    },
};

use jmt::{
    storage::{HasPreimage, LeafNode, NibblePath, Node, NodeKey, TreeReader},
    KeyHash, OwnedValue, Version,
};
use rocksdb::{BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, Options, ReadOptions, DB};

use crate::{cache::ReadCache, encoding, error::StoreError, ibc::IBC_PREFIX, Entries};

/// Main tree nodes: [`encoding::node_key`] -> borsh `Node`.
pub(crate) const CF_NODES: &str = "nodes";
/// IBC substore nodes, laid out as in [`CF_NODES`].
pub(crate) const CF_IBC_NODES: &str = "ibc_nodes";
/// Versioned values: [`encoding::data_key`] -> [`encoding::encode_value`].
pub(crate) const CF_DATA: &str = "data";
/// Key hashes -> raw keys, for the tree's proofs.
pub(crate) const CF_PREIMAGES: &str = "preimages";
/// Stale main tree nodes: [`encoding::stale_key`] -> empty; what pruning will delete.
pub(crate) const CF_STALE: &str = "stale";
/// Stale IBC substore nodes, laid out as in [`CF_STALE`].
pub(crate) const CF_IBC_STALE: &str = "ibc_stale";
/// Metadata: the latest committed version.
pub(crate) const CF_META: &str = "meta";

/// Metadata key of the latest committed version (u64 big-endian).
pub(crate) const META_LATEST: &[u8] = b"latest_version";
/// Metadata key of the earliest retained version (u64 big-endian); absent: 0.
pub(crate) const META_EARLIEST: &[u8] = b"earliest_version";

/// One of the two Merkle trees.
///
/// Each tree keeps its nodes and its stale-node records in column families
/// of its own, so node keys need no tree id: the main tree's layout is the
/// one databases written before the substore existed have, and they open
/// unchanged (the substore's column families are created empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tree {
    /// The main tree, whose root is the app hash.
    Main,
    /// The IBC substore, whose root is the value of
    /// [`IBC_ROOT_KEY`](crate::IBC_ROOT_KEY) in the main tree.
    Ibc,
}

impl Tree {
    /// Both trees.
    pub(crate) const ALL: [Tree; 2] = [Tree::Main, Tree::Ibc];

    /// The tree that holds the raw state key `raw`, and the key it has there.
    pub(crate) fn locate(raw: &[u8]) -> (Tree, &[u8]) {
        match raw.strip_prefix(IBC_PREFIX) {
            Some(path) => (Tree::Ibc, path),
            None => (Tree::Main, raw),
        }
    }

    /// The raw state key of `key` in this tree.
    pub(crate) fn raw_key(self, key: &[u8]) -> Vec<u8> {
        match self {
            Tree::Main => key.to_vec(),
            Tree::Ibc => [IBC_PREFIX, key].concat(),
        }
    }

    /// The column family of this tree's nodes.
    pub(crate) fn nodes_cf(self) -> &'static str {
        match self {
            Tree::Main => CF_NODES,
            Tree::Ibc => CF_IBC_NODES,
        }
    }

    /// The column family of this tree's stale-node records.
    pub(crate) fn stale_cf(self) -> &'static str {
        match self {
            Tree::Main => CF_STALE,
            Tree::Ibc => CF_IBC_STALE,
        }
    }
}

/// The latest committed version and its root hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Committed {
    /// The version.
    pub(crate) version: u64,
    /// The tree's root hash at that version.
    pub(crate) root: [u8; 32],
}

/// The open database, shared by a storage and all its snapshots.
pub(crate) struct Inner {
    /// The RocksDB handle.
    pub(crate) db: DB,
    /// Identifies this open storage, so a prepared commit cannot be applied to another.
    pub(crate) id: u64,
    /// The latest committed version; `None` before the first commit.
    latest: RwLock<Option<Committed>>,
    /// Versions below this one have been pruned.
    earliest: AtomicU64,
    /// Values of the latest committed version read or written lately.
    pub(crate) cache: ReadCache,
}

impl Inner {
    /// Opens (creating if needed) the database at `path`.
    pub(crate) fn open(path: &std::path::Path, id: u64) -> Result<Inner, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);

        // Node and preimage reads are point lookups; bloom filters spare
        // most of the disk reads for absent keys.
        let mut point = BlockBasedOptions::default();
        point.set_bloom_filter(10.0, false);
        let mut point_opts = Options::default();
        point_opts.set_block_based_table_factory(&point);

        let cfs = vec![
            ColumnFamilyDescriptor::new(CF_NODES, point_opts.clone()),
            ColumnFamilyDescriptor::new(CF_IBC_NODES, point_opts.clone()),
            ColumnFamilyDescriptor::new(CF_DATA, Options::default()),
            ColumnFamilyDescriptor::new(CF_PREIMAGES, point_opts),
            ColumnFamilyDescriptor::new(CF_STALE, Options::default()),
            ColumnFamilyDescriptor::new(CF_IBC_STALE, Options::default()),
            ColumnFamilyDescriptor::new(CF_META, Options::default()),
        ];
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let inner = Inner {
            db,
            id,
            latest: RwLock::new(None),
            earliest: AtomicU64::new(0),
            cache: ReadCache::new(ReadCache::CAPACITY),
        };
        if let Some(bytes) = inner.db.get_cf(inner.cf(CF_META), META_EARLIEST)? {
            inner
                .earliest
                .store(decode_u64(&bytes, "earliest version")?, Ordering::SeqCst);
        }
        let latest = match inner.db.get_cf(inner.cf(CF_META), META_LATEST)? {
            None => None,
            Some(bytes) => {
                let version = decode_u64(&bytes, "latest version")?;
                let root = inner.root_hash(Tree::Main, version)?.ok_or_else(|| {
                    StoreError::Corrupt(format!("no root for latest version {version}"))
                })?;
                Some(Committed { version, root })
            }
        };
        inner.set_latest(latest);
        Ok(inner)
    }

    /// A column family this crate created at open.
    pub(crate) fn cf(&self, name: &str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created when the database is opened")
    }

    /// The latest committed version and root.
    pub(crate) fn latest(&self) -> Option<Committed> {
        // The guarded value is `Copy` and replaced whole, so a poisoned lock
        // still holds a consistent value.
        *self.latest.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The earliest retained version: versions below it are pruned.
    pub(crate) fn earliest(&self) -> u64 {
        self.earliest.load(Ordering::SeqCst)
    }

    /// Records that versions below `earliest` are being pruned.
    pub(crate) fn set_earliest(&self, earliest: u64) {
        self.earliest.fetch_max(earliest, Ordering::SeqCst);
    }

    /// Errors if `version` has been pruned.
    pub(crate) fn check_retained(&self, version: u64) -> Result<(), StoreError> {
        let earliest = self.earliest();
        if version < earliest {
            Err(StoreError::Pruned { version, earliest })
        } else {
            Ok(())
        }
    }

    /// Records a new latest committed version.
    pub(crate) fn set_latest(&self, latest: Option<Committed>) {
        *self.latest.write().unwrap_or_else(PoisonError::into_inner) = latest;
    }

    /// Reads the node of `tree` stored under an encoded node key.
    pub(crate) fn read_node(&self, tree: Tree, key: &[u8]) -> Result<Option<Node>, StoreError> {
        match self.db.get_pinned_cf(self.cf(tree.nodes_cf()), key)? {
            None => Ok(None),
            Some(bytes) => borsh::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("tree node: {e}"))),
        }
    }

    /// Whether `tree` has a root at `version`.
    pub(crate) fn has_root(&self, tree: Tree, version: u64) -> Result<bool, StoreError> {
        let key = encoding::node_key(version, &root_path());
        Ok(self
            .db
            .get_pinned_cf(self.cf(tree.nodes_cf()), key)?
            .is_some())
    }

    /// The root hash of `tree` at `version`, `None` if it has no root there.
    pub(crate) fn root_hash(
        &self,
        tree: Tree,
        version: u64,
    ) -> Result<Option<[u8; 32]>, StoreError> {
        let view = TreeView::plain(self, tree);
        jmt::Sha256Jmt::new(&view)
            .get_root_hash_option(version)
            .map(|root| root.map(|r| r.0))
            .map_err(StoreError::tree)
    }

    /// The value of `raw` as of `version`: its newest write at or below it.
    pub(crate) fn read_value(
        &self,
        raw: &[u8],
        version: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let group = encoding::group(raw);
        let mut opts = ReadOptions::default();
        opts.set_iterate_upper_bound(encoding::after_group(&group));
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA), opts);
        let mut seek = group;
        seek.extend_from_slice(&(!version).to_be_bytes());
        it.seek(&seek);
        match it.value() {
            Some(stored) => decode_stored(stored),
            None => {
                it.status()?;
                Ok(None)
            }
        }
    }

    /// Live entries under `prefix` as of `version`, ascending, strictly after
    /// `start_after`, at most `limit`.
    pub(crate) fn scan_prefix(
        &self,
        version: u64,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let escaped = encoding::escaped_prefix(prefix);
        let mut lower = escaped.clone();
        if let Some(after) = start_after {
            let bound = encoding::after_group(&encoding::group(after));
            if bound > lower {
                lower = bound;
            }
        }
        let mut opts = ReadOptions::default();
        if let Some(upper) = encoding::prefix_successor(&escaped) {
            opts.set_iterate_upper_bound(upper);
        }
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA), opts);
        it.seek(&lower);
        while out.len() < limit {
            let Some(key) = it.key() else { break };
            let (raw, group_len, newest) = encoding::decode_data_key(key)
                .ok_or_else(|| StoreError::Corrupt("malformed data key".into()))?;
            let group = key[..group_len].to_vec();
            // The iterator sits on the raw key's newest version; an older
            // snapshot needs the newest version at or below its own.
            let stored = if newest <= version {
                it.value().map(<[u8]>::to_vec)
            } else {
                let mut seek = group.clone();
                seek.extend_from_slice(&(!version).to_be_bytes());
                it.seek(&seek);
                match it.key() {
                    Some(k) if k.starts_with(&group) => it.value().map(<[u8]>::to_vec),
                    _ => None,
                }
            };
            if let Some(stored) = stored {
                if let Some(value) = decode_stored(&stored)? {
                    out.push((raw, value));
                }
            }
            it.seek(encoding::after_group(&group));
        }
        it.status()?;
        Ok(out)
    }

    /// The tree key whose hash is `key_hash`, if it was ever written: the
    /// raw key in the main tree, the path after [`IBC_PREFIX`] in the substore.
    /// Both trees share these records: one key hash has one preimage.
    pub(crate) fn preimage(&self, key_hash: &KeyHash) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(CF_PREIMAGES), key_hash.0)?)
    }
}

/// Decodes a big-endian u64 stored in the metadata.
fn decode_u64(bytes: &[u8], what: &str) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is {} bytes", bytes.len())))?;
    Ok(u64::from_be_bytes(array))
}

/// Decodes a stored value, mapping bytes this crate did not write to an error.
fn decode_stored(stored: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    encoding::decode_value(stored)
        .map_err(|()| StoreError::Corrupt("malformed stored value".into()))
}

/// The empty nibble path, which names a root node.
pub(crate) fn root_path() -> NibblePath {
    NibblePath::from_iter(std::iter::empty())
}

/// What the Merkle tree reads through.
///
/// `jmt` builds version `v` on the root of version `v - 1`. Block heights
/// may skip (the first commit is at the chain's initial height, not 0), so
/// when the base is another version this view answers a request for the
/// root of `v - 1` with the base's root, or with the empty tree if nothing
/// is committed yet. A view may also lay uncommitted nodes over the
/// database, so that one version can be built in two passes.
pub(crate) struct TreeView<'a> {
    inner: &'a Inner,
    /// The tree read.
    tree: Tree,
    /// `(v - 1, root)`: requests for the root of `v - 1` get `root` instead
    /// (`None`: the empty tree, which is never stored).
    root_alias: Option<(u64, Option<NodeKey>)>,
    /// Uncommitted nodes, read before the database.
    overlay: Option<&'a BTreeMap<NodeKey, Node>>,
}

impl<'a> TreeView<'a> {
    /// A view of `tree` with no substitution, for reading committed versions.
    pub(crate) fn plain(inner: &'a Inner, tree: Tree) -> Self {
        TreeView {
            inner,
            tree,
            root_alias: None,
            overlay: None,
        }
    }

    /// A view for building `version` of `tree` on top of its root at the
    /// committed `base` (`None`: on the empty tree).
    pub(crate) fn building(inner: &'a Inner, tree: Tree, version: u64, base: Option<u64>) -> Self {
        let root_alias = match version.checked_sub(1) {
            Some(parent) if base != Some(parent) => {
                Some((parent, base.map(|b| NodeKey::new(b, root_path()))))
            }
            _ => None,
        };
        TreeView {
            inner,
            tree,
            root_alias,
            overlay: None,
        }
    }

    /// A view for a second pass over `version`, on top of the uncommitted
    /// `nodes` of a first pass, whose root is the root of `version`.
    pub(crate) fn second_pass(
        inner: &'a Inner,
        tree: Tree,
        version: u64,
        nodes: &'a BTreeMap<NodeKey, Node>,
    ) -> Self {
        TreeView {
            inner,
            tree,
            root_alias: version
                .checked_sub(1)
                .map(|parent| (parent, Some(NodeKey::new(version, root_path())))),
            overlay: Some(nodes),
        }
    }

    /// Where a node jmt asks for really is: `None` means the empty tree's
    /// root, which is never stored.
    pub(crate) fn resolve(&self, key: &NodeKey) -> Option<NodeKey> {
        if let Some((parent, root)) = &self.root_alias {
            if key.version() == *parent && key.nibble_path().num_nibbles() == 0 {
                return root.clone();
            }
        }
        Some(key.clone())
    }
}

impl TreeReader for TreeView<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let Some(key) = self.resolve(node_key) else {
            return Ok(Some(Node::Null));
        };
        if let Some(node) = self.overlay.and_then(|nodes| nodes.get(&key)) {
            return Ok(Some(node.clone()));
        }
        Ok(self.inner.read_node(
            self.tree,
            &encoding::node_key(key.version(), key.nibble_path()),
        )?)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        // A preimage is the key in the tree, which for the substore is not
        // the raw key its value is stored under.
        match self.inner.preimage(&key_hash)? {
            Some(key) => Ok(self
                .inner
                .read_value(&self.tree.raw_key(&key), max_version)?),
            None => Ok(None),
        }
    }

    /// The leaf with the greatest key hash in this tree at the latest committed version.
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        let Some(latest) = self.inner.latest() else {
            return Ok(None);
        };
        let mut key = NodeKey::new(latest.version, root_path());
        // A path has at most 64 nibbles; the bound guards against a cycle in a corrupt tree.
        for _ in 0..=64 {
            match self.get_node_option(&key)? {
                None | Some(Node::Null) => return Ok(None),
                Some(Node::Leaf(leaf)) => return Ok(Some((key, leaf))),
                Some(Node::Internal(internal)) => {
                    let Some((nibble, child)) = internal.children_sorted().last() else {
                        return Ok(None);
                    };
                    let path: NibblePath = key
                        .nibble_path()
                        .nibbles()
                        .chain(std::iter::once(nibble))
                        .collect();
                    key = NodeKey::new(child.version, path);
                }
            }
        }
        Err(StoreError::Corrupt("tree deeper than 64 nibbles".into()).into())
    }
}

impl HasPreimage for TreeView<'_> {
    fn preimage(&self, key_hash: KeyHash) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.inner.preimage(&key_hash)?)
    }
}
