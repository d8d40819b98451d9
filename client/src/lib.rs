//! Everything a program needs to talk to a DeAI chain as a user: building
//! and signing txs (SIGN_MODE_DIRECT, exactly what a Cosmos wallet
//! produces, in [`tx`]), the `--gas` / `--gas-adjustment` parser ([`gas`]),
//! the node's CometBFT RPC client ([`rpc`]), the one sign-and-send path
//! (estimate gas, sign, broadcast, wait for the block: [`send`]), the
//! keyring and passphrase prompts ([`keyring`]), and the private file store
//! that keeps commit/reveal salts ([`salt_store`]).
//!
//! The CLI (`deaid tx …`), the compute daemon and the load generator all use
//! it. It never links the app, the store or RocksDB: a compute node or a
//! wallet does not carry a database. Without its `rpc` feature it only
//! builds and signs txs (what the app's benchmark needs).

pub mod gas;
pub mod keyring;
#[cfg(feature = "rpc")]
pub mod rpc;
pub mod salt_store;
#[cfg(feature = "rpc")]
pub mod send;
pub mod tx;

pub use gas::{Gas, GasError};
#[cfg(feature = "rpc")]
pub use rpc::NodeClient;
#[cfg(feature = "rpc")]
pub use send::{Landed, SendError};
pub use tx::{sign_tx, tx_hash, Key, TxParams};
