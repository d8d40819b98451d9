//! [`Storage`]: opening, preparing and committing versions.

use std::{
    collections::BTreeMap,
    fmt,
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
};

use deai_types::state::Changes;
use jmt::{
    storage::{Node, NodeKey},
    KeyHash,
};
use rocksdb::{WriteBatch, WriteOptions};
use sha2::Sha256;

use crate::{
    cache::CacheUpdate,
    db::{
        root_path, Committed, Inner, Tree, TreeView, CF_DATA, CF_META, CF_PREIMAGES, META_LATEST,
    },
    encoding,
    error::StoreError,
    ibc::IBC_ROOT_KEY,
    snapshot::Snapshot,
};

/// Gives each opened storage its own id.
static NEXT_STORAGE_ID: AtomicU64 = AtomicU64::new(0);

/// Versioned, verifiable key-value storage: a Jellyfish Merkle tree over RocksDB.
///
/// Cloning is cheap and every clone shares the same database. Versions are
/// block heights; each commit writes one version, atomically.
#[derive(Clone)]
pub struct Storage {
    pub(crate) inner: Arc<Inner>,
    /// Serialises commits, so the check that a prepared commit is not stale
    /// and the write that follows it cannot interleave with another commit.
    commit_lock: Arc<Mutex<()>>,
    /// Serialises prunes.
    prune_lock: Arc<Mutex<()>>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("id", &self.inner.id)
            .field("latest_version", &self.latest_version())
            .finish_non_exhaustive()
    }
}

/// A computed but unwritten version: its root hash, and the writes that
/// [`Storage::commit`] applies in one batch.
pub struct PreparedCommit {
    /// The version this commit creates.
    pub version: u64,
    /// The app hash of that version.
    pub root_hash: [u8; 32],
    /// The latest committed version it was computed on.
    base: Option<u64>,
    /// Which storage computed it.
    storage_id: u64,
    /// Every write of the commit.
    batch: WriteBatch,
    /// What the commit does to the read cache.
    cache_update: CacheUpdate,
}

impl fmt::Debug for PreparedCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedCommit")
            .field("version", &self.version)
            .field("root_hash", &Hex(&self.root_hash))
            .field("base", &self.base)
            .field("writes", &self.batch.len())
            .finish()
    }
}

/// Formats bytes as lowercase hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Storage {
    /// Opens the storage at `path`, creating it if absent.
    pub fn open(path: &Path) -> Result<Storage, StoreError> {
        let id = NEXT_STORAGE_ID.fetch_add(1, Ordering::Relaxed);
        let inner = Inner::open(path, id)?;
        tracing::debug!(path = %path.display(), latest = ?inner.latest().map(|c| c.version), "opened storage");
        Ok(Storage {
            inner: Arc::new(inner),
            commit_lock: Arc::new(Mutex::new(())),
            prune_lock: Arc::new(Mutex::new(())),
        })
    }

    /// The latest committed version; `None` before the first commit.
    pub fn latest_version(&self) -> Option<u64> {
        self.inner.latest().map(|c| c.version)
    }

    /// The app hash (tree root) at `version`.
    pub fn root_hash(&self, version: u64) -> Result<[u8; 32], StoreError> {
        self.check_readable(version)?;
        if let Some(latest) = self.inner.latest() {
            if latest.version == version {
                return Ok(latest.root);
            }
        }
        self.inner
            .root_hash(Tree::Main, version)?
            .ok_or(StoreError::UnknownVersion(version))
    }

    /// A read view of the latest committed version; the empty tree if none.
    pub fn latest_snapshot(&self) -> Snapshot {
        match self.inner.latest() {
            Some(c) => Snapshot::new(self.inner.clone(), Some(c.version), c.root),
            None => Snapshot::new(self.inner.clone(), None, empty_root()),
        }
    }

    /// A read view of any retained committed version.
    pub fn snapshot(&self, version: u64) -> Result<Snapshot, StoreError> {
        let root = self.root_hash(version)?;
        Ok(Snapshot::new(self.inner.clone(), Some(version), root))
    }

    /// Errors unless `version` is committed and retained.
    fn check_readable(&self, version: u64) -> Result<(), StoreError> {
        match self.latest_version() {
            Some(latest) if version <= latest => self.inner.check_retained(version),
            _ => Err(StoreError::UnknownVersion(version)),
        }
    }

    /// Computes the tree update for `changes` at `version` without writing anything.
    ///
    /// `version` must be above the latest committed version (any version but
    /// `u64::MAX` when nothing is committed, e.g. the chain's initial height).
    /// Deleting an absent key is not an error. The same base and the same
    /// changes always give the same root.
    ///
    /// Keys under [`IBC_PREFIX`](crate::IBC_PREFIX) go to the IBC substore. A write or deletion
    /// of [`IBC_ROOT_KEY`] is ignored: the store sets that key to the
    /// substore's root itself (see [the crate docs](crate#the-ibc-substore)).
    pub fn prepare(&self, version: u64, changes: &Changes) -> Result<PreparedCommit, StoreError> {
        if version == u64::MAX {
            return Err(StoreError::ReservedVersion(version));
        }
        let base = self.latest_version();
        if let Some(latest) = base {
            if version <= latest {
                return Err(StoreError::VersionNotAfterLatest { version, latest });
            }
        }

        let inner = &self.inner;
        let mut applied: Vec<Change<'_>> = changes
            .iter()
            .filter(|(key, _)| key.as_slice() != IBC_ROOT_KEY)
            .map(|(raw, value)| Change::new(raw, value.as_deref()))
            .collect();
        let mut batch = WriteBatch::default();

        // The substore first: its root is a value in the main tree. Once it
        // has a root it gets one at every version, as the main tree does,
        // so that any retained version can be read and proved.
        let ibc_base = match base {
            Some(b) if inner.has_root(Tree::Ibc, b)? => Some(b),
            _ => None,
        };
        let ibc_changes = applied.iter().filter(|c| c.tree == Tree::Ibc);
        let ibc_root = if ibc_base.is_some() || ibc_changes.clone().next().is_some() {
            let update = build_tree(inner, Tree::Ibc, version, ibc_base, ibc_changes)?;
            write_tree(&mut batch, inner, Tree::Ibc, version, ibc_base, &update)?;
            let old = match ibc_base {
                Some(b) => inner.root_hash(Tree::Ibc, b)?.ok_or_else(|| {
                    StoreError::Corrupt(format!("no substore root for version {b}"))
                })?,
                None => empty_root(),
            };
            (update.root != old).then_some(update.root)
        } else {
            None
        };
        if let Some(root) = &ibc_root {
            // Absent exactly while the substore is empty, so the app hash
            // depends on the live entries only.
            let value = (*root != empty_root()).then_some(&root[..]);
            let at = applied.partition_point(|c| c.raw < IBC_ROOT_KEY);
            applied.insert(at, Change::new(IBC_ROOT_KEY, value));
        }

        let main_changes = applied.iter().filter(|c| c.tree == Tree::Main);
        let update = build_tree(inner, Tree::Main, version, base, main_changes)?;
        write_tree(&mut batch, inner, Tree::Main, version, base, &update)?;

        let data = inner.cf(CF_DATA);
        let preimages = inner.cf(CF_PREIMAGES);
        for change in &applied {
            batch.put_cf(
                data,
                encoding::data_key(change.raw, version),
                encoding::encode_value(change.value),
            );
            // A key that had a value before has its preimage already
            // (preimages are never deleted); rewriting it costs a memtable
            // insert per key at commit for nothing.
            let known = base.is_some_and(|b| inner.cache.knows_value(b, change.raw));
            if change.value.is_some() && !known {
                batch.put_cf(preimages, change.hash.0, change.key);
            }
        }
        batch.put_cf(inner.cf(CF_META), META_LATEST, version.to_be_bytes());
        // A block's changes are the records the next block is likeliest to
        // read; a restore's millions are not worth copying.
        let cache_update = if applied.len() <= inner.cache.capacity() {
            CacheUpdate::Changes(
                applied
                    .iter()
                    .map(|c| (c.raw.to_vec(), c.value.map(<[u8]>::to_vec)))
                    .collect(),
            )
        } else {
            CacheUpdate::Clear
        };

        Ok(PreparedCommit {
            version,
            root_hash: update.root,
            base,
            storage_id: inner.id,
            batch,
            cache_update,
        })
    }

    /// Writes a prepared version in one atomic RocksDB write batch.
    ///
    /// Fails if another version was committed since it was prepared, or if
    /// another storage prepared it.
    pub fn commit(&self, prepared: PreparedCommit) -> Result<(), StoreError> {
        // The lock guards no data, so a poisoned lock is still sound to take.
        let _guard = self
            .commit_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if prepared.storage_id != self.inner.id {
            return Err(StoreError::ForeignCommit);
        }
        let latest = self.latest_version();
        if latest != prepared.base {
            return Err(StoreError::StaleCommit {
                base: prepared.base,
                latest,
            });
        }
        let PreparedCommit {
            version,
            root_hash,
            base,
            batch,
            cache_update,
            ..
        } = prepared;
        let mut opts = WriteOptions::default();
        // The block is acknowledged to CometBFT once this returns.
        opts.set_sync(true);
        self.inner.db.write_opt(batch, &opts)?;
        // Before the version becomes readable, so no read of it can find
        // the cache still on the version before.
        self.inner.cache.advance(base, version, cache_update);
        self.inner.set_latest(Some(Committed {
            version,
            root: root_hash,
        }));
        tracing::debug!(version, "committed");
        Ok(())
    }

    /// Drops what only versions below `retain_from` need; those versions
    /// then fail with [`StoreError::Pruned`], snapshots already held included.
    ///
    /// The latest version is always kept. Tree nodes are found through an
    /// index of stale nodes, but values through a scan of every stored value,
    /// so this costs time in proportion to the whole state: call it every
    /// few hundred blocks, not every block. It may run beside commits.
    pub fn prune(&self, retain_from: u64) -> Result<(), StoreError> {
        let _guard = self
            .prune_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(latest) = self.latest_version() else {
            return Ok(());
        };
        let retain_from = retain_from.min(latest);
        if retain_from <= self.inner.earliest() {
            return Ok(());
        }
        let start = std::time::Instant::now();
        self.inner.prune_below(retain_from)?;
        tracing::debug!(retain_from, elapsed = ?start.elapsed(), "pruned");
        Ok(())
    }
}

/// The new nodes of a tree update: jmt's own batch when one pass made them
/// (no copy of thousands of nodes), or a map merged from two passes.
enum NewNodes {
    /// The nodes of jmt's batch.
    Batch(Box<jmt::storage::TreeUpdateBatch>),
    /// Nodes merged from two passes.
    Map(BTreeMap<NodeKey, Node>),
}

impl NewNodes {
    fn map(&self) -> &BTreeMap<NodeKey, Node> {
        match self {
            NewNodes::Batch(b) => b.node_batch.nodes(),
            NewNodes::Map(m) => m,
        }
    }
}

/// The tree part of a prepared commit.
struct TreeUpdate {
    /// The new root hash.
    root: [u8; 32],
    /// New nodes.
    nodes: NewNodes,
    /// `(since, node)`: committed nodes that are no longer in the tree from `since` on.
    stale: Vec<(u64, NodeKey)>,
}

/// One change as the store applies it: where it goes and what it writes.
struct Change<'a> {
    /// The raw state key.
    raw: &'a [u8],
    /// The tree that holds the key.
    tree: Tree,
    /// The key in that tree.
    key: &'a [u8],
    /// The hash of `key`.
    hash: KeyHash,
    /// The new value; `None` deletes.
    value: Option<&'a [u8]>,
}

impl<'a> Change<'a> {
    fn new(raw: &'a [u8], value: Option<&'a [u8]>) -> Self {
        let (tree, key) = Tree::locate(raw);
        Change {
            raw,
            tree,
            key,
            hash: KeyHash::with::<Sha256>(key),
            value,
        }
    }
}

/// Adds a tree update's new nodes and stale-node records to `batch`.
fn write_tree(
    batch: &mut WriteBatch,
    inner: &Inner,
    tree: Tree,
    version: u64,
    base: Option<u64>,
    update: &TreeUpdate,
) -> Result<(), StoreError> {
    let nodes = inner.cf(tree.nodes_cf());
    for (key, node) in update.nodes.map() {
        let bytes =
            borsh::to_vec(node).map_err(|e| StoreError::Tree(format!("encode node: {e}")))?;
        batch.put_cf(
            nodes,
            encoding::node_key(key.version(), key.nibble_path()),
            bytes,
        );
    }
    let stale = inner.cf(tree.stale_cf());
    for (since, key) in &update.stale {
        let node_key = encoding::node_key(key.version(), key.nibble_path());
        batch.put_cf(stale, encoding::stale_key(*since, &node_key), []);
    }
    // A version's root is never part of a later tree, but jmt does not
    // always say so (an empty block copies the root).
    if let Some(b) = base {
        let root_key = encoding::node_key(b, &root_path());
        batch.put_cf(stale, encoding::stale_key(version, &root_key), []);
    }
    Ok(())
}

/// Computes `tree` at `version` from its root at the committed `base`
/// (`None`: the empty tree) and `changes`, all of which belong to it.
///
/// jmt's one-key-at-a-time update rehashes the whole path from the root for
/// every key; for thousands of keys that dominates a block. Its batch update
/// hashes each new node once but cannot delete, so writes go through the
/// batch update and deletions, usually few, through a second pass on top of
/// its result. The tree's shape depends only on its key set, so the root is
/// the same whichever way it is computed.
fn build_tree<'c, 'a: 'c>(
    inner: &Inner,
    tree: Tree,
    version: u64,
    base: Option<u64>,
    changes: impl Iterator<Item = &'c Change<'a>>,
) -> Result<TreeUpdate, StoreError> {
    let mut writes = Vec::new();
    let mut deletions = Vec::new();
    for change in changes {
        match change.value {
            Some(value) => writes.push((change.hash, value.to_vec())),
            None => deletions.push((change.hash, None)),
        }
    }

    let first = TreeView::building(inner, tree, version, base);
    let mut update = TreeUpdate {
        root: empty_root(),
        nodes: NewNodes::Map(BTreeMap::new()),
        stale: Vec::new(),
    };
    if !writes.is_empty() || deletions.is_empty() {
        let tree = jmt::Sha256Jmt::new(&first);
        let (root, batch) = if writes.is_empty() {
            // An empty block still needs a root at its version.
            tree.put_value_set(std::iter::empty(), version)
                .map_err(StoreError::tree)?
        } else {
            let (roots, batch) = tree
                .batch_put_value_sets(vec![writes], None, version)
                .map_err(StoreError::tree)?;
            let root = roots
                .first()
                .copied()
                .ok_or_else(|| StoreError::Tree("batch update gave no root".into()))?;
            (root, batch)
        };
        update.root = root.0;
        update.stale = batch
            .stale_node_index_batch
            .iter()
            .filter_map(|s| {
                first
                    .resolve(&s.node_key)
                    .map(|k| (s.stale_since_version, k))
            })
            .collect();
        update.nodes = NewNodes::Batch(Box::new(batch));
    }
    if deletions.is_empty() {
        return Ok(update);
    }

    // Deletions build on the first pass's nodes when there was one.
    let first_nodes = match std::mem::replace(&mut update.nodes, NewNodes::Map(BTreeMap::new())) {
        NewNodes::Batch(b) => b.node_batch.nodes().clone(),
        NewNodes::Map(m) => m,
    };
    let second = if first_nodes.is_empty() {
        first
    } else {
        TreeView::second_pass(inner, tree, version, &first_nodes)
    };
    let (root, batch) = jmt::Sha256Jmt::new(&second)
        .put_value_set(deletions, version)
        .map_err(StoreError::tree)?;
    let mut removed = Vec::new();
    for s in &batch.stale_node_index_batch {
        match second.resolve(&s.node_key) {
            // A node of the first pass that the second replaced or removed.
            Some(key) if key.version() == version => removed.push(key),
            Some(key) => update.stale.push((s.stale_since_version, key)),
            None => {}
        }
    }
    let mut nodes = first_nodes;
    for key in &removed {
        nodes.remove(key);
    }
    nodes.extend(
        batch
            .node_batch
            .nodes()
            .iter()
            .map(|(k, n)| (k.clone(), n.clone())),
    );
    update.root = root.0;
    update.nodes = NewNodes::Map(nodes);
    Ok(update)
}

/// The root hash of the empty tree.
pub(crate) fn empty_root() -> [u8; 32] {
    jmt::Sha256Jmt::<TreeView<'static>>::EMPTY_ROOT.0
}
