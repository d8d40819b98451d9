//! The errors of this crate.

/// Errors from opening, reading, preparing or committing storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed (I/O error, corruption it detected, lock held by another process).
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    /// The Merkle tree computation failed, usually because a node it needed is missing.
    #[error("merkle tree: {0}")]
    Tree(String),
    /// Bytes on disk are not what this crate writes.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// `prepare` was asked for a version that does not follow the latest committed one.
    #[error("version {version} does not follow the latest committed version {latest}")]
    VersionNotAfterLatest {
        /// The version asked for.
        version: u64,
        /// The latest committed version.
        latest: u64,
    },
    /// The version is reserved by the Merkle tree (`u64::MAX` marks its pre-genesis state).
    #[error("version {0} is reserved")]
    ReservedVersion(u64),
    /// A prepared commit was built on a version that is no longer the latest.
    #[error("prepared commit is stale: built on {base:?}, latest is now {latest:?}")]
    StaleCommit {
        /// The latest version when the commit was prepared (`None`: nothing committed).
        base: Option<u64>,
        /// The latest version now.
        latest: Option<u64>,
    },
    /// A prepared commit was handed to a different storage than the one that prepared it.
    #[error("prepared commit belongs to another storage instance")]
    ForeignCommit,
    /// No tree exists at that version: never committed, or skipped between two commits.
    #[error("version {0} is not committed")]
    UnknownVersion(u64),
    /// The version was committed but has been pruned away.
    #[error("version {version} was pruned; the earliest retained is {earliest}")]
    Pruned {
        /// The version asked for.
        version: u64,
        /// The earliest version still retained.
        earliest: u64,
    },
    /// ICS-23 cannot prove anything about an empty tree (the main tree, or
    /// for an IBC path the substore): a non-existence proof needs at least
    /// one neighbouring key.
    #[error("no proof can be made against an empty tree")]
    EmptyTree,
    /// The key lies under the IBC prefix, so the main tree does not hold it:
    /// its proof comes from `Snapshot::get_with_ibc_proof`.
    #[error("the key is in the IBC substore; prove its path with get_with_ibc_proof")]
    InIbcSubstore,
}

impl StoreError {
    /// Wraps an error from the `jmt` crate.
    pub(crate) fn tree(err: anyhow::Error) -> Self {
        StoreError::Tree(format!("{err:#}"))
    }
}

impl From<StoreError> for deai_types::StateError {
    fn from(err: StoreError) -> Self {
        deai_types::StateError::Storage(err.to_string())
    }
}
