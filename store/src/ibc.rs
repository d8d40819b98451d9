//! Where IBC state is committed: under [`IBC_PREFIX`] in a substore whose
//! root hash is the value of [`IBC_ROOT_KEY`] in the main tree, so that an
//! IBC path is the `MerklePath` `["ibc", path]` of ibc-go.

/// Raw keys under this prefix are IBC state, keyed in the substore by the bytes after it.
pub const IBC_PREFIX: &[u8] = b"ibc/";

/// The main-tree key whose value is the IBC substore's root hash; also the
/// IBC commitment prefix counterparties use.
pub const IBC_ROOT_KEY: &[u8] = b"ibc";
