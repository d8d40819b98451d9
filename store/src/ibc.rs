//! The IBC substore: which keys it holds, and where its root is committed.
//!
//! Keys the app writes under [`IBC_PREFIX`] live in a second Jellyfish Merkle
//! tree, keyed by the bytes after the prefix (the IBC path, such as
//! `clients/07-tendermint-0/clientState`). Its root hash is the value of
//! [`IBC_ROOT_KEY`] in the main tree, so the app hash commits to it and a
//! counterparty verifies an IBC path with two ICS-23 proofs, as ibc-go's
//! `MerklePath{["ibc", path]}` with [`ibc_proof_specs`](crate::ibc_proof_specs).
//!
//! The store alone writes [`IBC_ROOT_KEY`]: [`Storage::prepare`](crate::Storage::prepare)
//! ignores the caller's writes and deletions of it and sets it to the
//! substore's root whenever that changes, or deletes it when the substore
//! empties. So the key is present exactly while the substore holds a key,
//! and the app hash is a function of the live entries alone: a store that
//! never writes under `ibc/` has the app hashes it had before the substore
//! existed, and a restore that feeds back every live entry, `ibc` included,
//! recomputes the same root.

/// Raw keys under this prefix live in the IBC substore, without the prefix.
pub const IBC_PREFIX: &[u8] = b"ibc/";

/// The main-tree key whose value is the IBC substore's root hash, maintained
/// by the store; also the IBC commitment prefix counterparties use.
pub const IBC_ROOT_KEY: &[u8] = b"ibc";
