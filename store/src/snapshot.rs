//! [`Snapshot`]: a read view of one committed version.

use std::{fmt, sync::Arc};

use deai_types::{StateError, StateRead};

use crate::{
    db::{Inner, Tree, TreeView},
    error::StoreError,
    ibc::{IBC_PREFIX, IBC_ROOT_KEY},
    storage::empty_root,
    Entries,
};

/// A read view of one committed version (or of the empty tree before the
/// first commit). Cheap to clone; later commits do not change what it sees.
#[derive(Clone)]
pub struct Snapshot {
    inner: Arc<Inner>,
    version: Option<u64>,
    root: [u8; 32],
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// A view of `version` whose root is `root`.
    pub(crate) fn new(inner: Arc<Inner>, version: Option<u64>, root: [u8; 32]) -> Self {
        Snapshot {
            inner,
            version,
            root,
        }
    }

    /// Passes on the result of a read at `version` unless the version was
    /// pruned, in which case the read may have seen half-deleted data.
    /// Pruning records the new earliest version before deleting anything,
    /// so checking after the read is enough.
    fn checked<T>(&self, version: u64, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.inner.check_retained(version)?;
        result
    }

    /// The version seen; `None` for the empty store.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// The app hash of the version seen.
    pub fn root_hash(&self) -> [u8; 32] {
        self.root
    }

    /// The value under `key` at this version.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(version) = self.version else {
            return Ok(None);
        };
        if let Some(hit) = self.inner.cache.get(version, key) {
            return self.checked(version, Ok(hit));
        }
        let read = self.inner.read_value(key, version);
        if let Ok(value) = &read {
            self.inner.cache.insert(version, key, value);
        }
        self.checked(version, read)
    }

    /// The value under `key` and an ICS-23 proof against [`Snapshot::root_hash`]:
    /// an existence proof if the key is present, a non-existence proof if not.
    ///
    /// Fails with [`StoreError::EmptyTree`] when the tree holds no key at all,
    /// since ICS-23 proves absence through neighbouring keys, and with
    /// [`StoreError::InIbcSubstore`] for a key under [`IBC_PREFIX`], which
    /// the main tree does not hold: prove those with [`Snapshot::get_with_ibc_proof`].
    pub fn get_with_proof(
        &self,
        key: &[u8],
    ) -> Result<(Option<Vec<u8>>, ics23::CommitmentProof), StoreError> {
        if key.starts_with(IBC_PREFIX) {
            return Err(StoreError::InIbcSubstore);
        }
        let version = match self.version {
            Some(v) if self.root != empty_root() => v,
            _ => return Err(StoreError::EmptyTree),
        };
        let view = TreeView::plain(&self.inner, Tree::Main);
        let result = jmt::Sha256Jmt::new(&view)
            .get_with_ics23_proof(key.to_vec(), version)
            .map_err(StoreError::tree);
        self.checked(version, result)
    }

    /// The value of the IBC path `path` (the raw key [`IBC_PREFIX`] ++ `path`)
    /// and its two ICS-23 proofs, in the order of ibc-go's `MerkleProof`:
    /// the substore's proof of `path` (existence or non-existence) against
    /// the substore's root, then the main tree's existence proof of
    /// [`IBC_ROOT_KEY`] holding that root, against [`Snapshot::root_hash`].
    /// Check them with [`verify_ibc_membership`](crate::verify_ibc_membership)
    /// or [`verify_ibc_non_membership`](crate::verify_ibc_non_membership).
    ///
    /// Fails with [`StoreError::EmptyTree`] while the substore holds no key.
    /// ICS-23 refuses empty keys and values, so an empty path or value
    /// cannot be proved, nor can the empty path serve as a neighbour in a
    /// proof of absence: IBC paths are never empty.
    pub fn get_with_ibc_proof(
        &self,
        path: &[u8],
    ) -> Result<(Option<Vec<u8>>, [ics23::CommitmentProof; 2]), StoreError> {
        let Some(version) = self.version else {
            return Err(StoreError::EmptyTree);
        };
        let result = self
            .inner
            .read_value(IBC_ROOT_KEY, version)
            .and_then(|root| {
                if root.is_none() {
                    return Err(StoreError::EmptyTree);
                }
                let main = TreeView::plain(&self.inner, Tree::Main);
                let (_, root_proof) = jmt::Sha256Jmt::new(&main)
                    .get_with_ics23_proof(IBC_ROOT_KEY.to_vec(), version)
                    .map_err(StoreError::tree)?;
                let ibc = TreeView::plain(&self.inner, Tree::Ibc);
                let (value, path_proof) = jmt::Sha256Jmt::new(&ibc)
                    .get_with_ics23_proof(path.to_vec(), version)
                    .map_err(StoreError::tree)?;
                Ok((value, [path_proof, root_proof]))
            });
        self.checked(version, result)
    }

    /// Live entries under `prefix` at this version, ascending, strictly after
    /// `start_after`, at most `limit` of them.
    pub fn prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        match self.version {
            Some(version) => self.checked(
                version,
                self.inner.scan_prefix(version, prefix, start_after, limit),
            ),
            None => Ok(Vec::new()),
        }
    }
}

impl StateRead for Snapshot {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.get(key)?)
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StateError> {
        Ok(self.prefix(prefix, start_after, limit)?)
    }
}
