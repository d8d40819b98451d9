//! The auth module owns accounts: each address that has received tokens or
//! signed a transaction has an account number (assigned once, in order), a
//! sequence (bumped by every transaction it signs, so a signed transaction
//! cannot be replayed) and, after its first transaction, its public key.
//! Accounts are stored as `cosmos.auth.v1beta1.BaseAccount` without the
//! address, whose raw bytes are the record's key (no bech32 on the block
//! path); the account query answers the whole `BaseAccount`, address
//! included, so wallets and CosmJS read it unchanged. It also owns the auth
//! parameters (memo and size limits, signature limit, minimum gas price),
//! each bounded to values the node can run with
//! ([`params::AuthParams::validate`]: a transaction limit that fits a
//! CometBFT block, gas that fits CometBFT's signed 64-bit counters). Its one
//! message sets those parameters (governance only). Auth has no block hooks.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod component;
pub mod error;
pub mod genesis;
pub mod msg;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;

pub use component::AuthModule;
pub use error::AuthError;
pub use genesis::AuthGenesis;
pub use params::AuthParams;
pub use state::{Account, AuthRead, AuthWrite};

/// The module's name, as in the `message` event.
pub const MODULE_NAME: &str = "auth";

/// Type URL of the auth module's `MsgUpdateParams` (governance only).
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/deai.auth.v1.MsgUpdateParams";

/// Type URL of a secp256k1 public key inside an `Any`.
pub const SECP256K1_PUBKEY_TYPE_URL: &str = "/cosmos.crypto.secp256k1.PubKey";
/// Type URL of a base account inside an `Any`.
pub const BASE_ACCOUNT_TYPE_URL: &str = "/cosmos.auth.v1beta1.BaseAccount";
