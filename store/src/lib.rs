//! Verifiable versioned state: a Jellyfish Merkle tree over RocksDB with ICS-23 proofs.
//!
//! This crate owns the chain's persistent state. [`Storage`] keeps one
//! version per block height; its app hash is the root of a SHA-256 Jellyfish
//! Merkle tree (`jmt`). A block's changes are first [prepared](Storage::prepare)
//! (root computed, nothing written) and then [committed](Storage::commit) in a
//! single RocksDB write batch, so a crash leaves the last committed version whole.
//! [`Snapshot`]s read any retained version, answer ordered prefix scans through
//! [`deai_types::StateRead`], and give ICS-23 proofs checked by
//! [`verify_membership`] and [`verify_non_membership`].
//!
//! Besides the tree's nodes, every write is stored by raw key and version in a
//! key-ordered column family, which serves reads and prefix scans at any version
//! without walking the tree. Commits also record which nodes each version made
//! stale, which lets [`Storage::prune`] drop old versions. Values of the
//! latest version that were read or written lately are also kept in memory,
//! updated by each commit, so repeated reads skip RocksDB; a read of any
//! other version goes to RocksDB.
//!
//! # The IBC substore
//! Keys under [`IBC_PREFIX`] (`ibc/`) live in a second Jellyfish Merkle
//! tree, keyed by the IBC path after the prefix. Its root hash is the value
//! of the main-tree key [`IBC_ROOT_KEY`] (`ibc`), which the store maintains
//! itself: callers' writes to it are ignored, it is absent while the
//! substore holds no key (so a store that never writes under `ibc/` has the
//! app hashes it always had), and a restore of every live entry recomputes
//! it. Reads and prefix scans see every key by its raw bytes, `ibc` and
//! `ibc/...` included, at any retained version.
//!
//! For IBC, the commitment prefix is `ibc` and a path `p` is the
//! `MerklePath` `["ibc", p]`. [`Snapshot::get_with_ibc_proof`] gives its two
//! ICS-23 proofs, which a counterparty checks with [`ibc_proof_specs`]: the
//! substore's proof of `p` with the first spec against the substore's root,
//! then the main tree's proof of `ibc` holding that root with the second spec
//! against the app hash. Both specs are [`proof_spec`], jmt's SHA-256 spec.
//! [`verify_ibc_membership`] and [`verify_ibc_non_membership`] check them as
//! ibc-go's `MerkleProof` does.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

mod cache;
mod db;
mod encoding;
mod error;
mod ibc;
mod proof;
mod prune;
mod snapshot;
mod storage;

pub use error::StoreError;
pub use ibc::{IBC_PREFIX, IBC_ROOT_KEY};
pub use proof::{
    ibc_proof_specs, proof_spec, verify_chained_membership, verify_chained_non_membership,
    verify_ibc_membership, verify_ibc_non_membership, verify_membership, verify_non_membership,
};
pub use snapshot::Snapshot;
pub use storage::{PreparedCommit, Storage};

/// Key-value pairs in ascending key order, as prefix scans return them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;
