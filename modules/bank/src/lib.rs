//! The bank module owns balances (per address and denomination) and the total
//! supply of each denomination, and executes the Cosmos SDK's standard
//! `MsgSend` and `MsgMultiSend`, so `SigningStargateClient.sendTokens` works
//! unchanged. Every change keeps the invariant that the total supply of a
//! denom equals the sum of its balances; only `mint` and `burn` change supply.
//!
//! For governance, an address's udeai balance may be *linked* to another
//! address ([`BankWrite::set_link`]): the bank then keeps, for each
//! collector, the sum of the balances linked to it, updated on every
//! balance change, so a delegate's lent voting power is one read at any
//! height however many delegate to it. Every `Params` field is bounded
//! ([`params::BankParams::validate`]); the bank has no block hooks.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod component;
pub mod error;
pub mod event;
pub mod genesis;
pub mod metadata;
pub mod msg;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;

pub use component::BankModule;
pub use error::BankError;
pub use genesis::{BankGenesis, GenesisBalance};
pub use params::BankParams;
pub use state::{BankRead, BankWrite};

/// The module's name, as in the `message` event.
pub const MODULE_NAME: &str = "bank";

/// Type URL of `MsgSend`.
pub const MSG_SEND_TYPE_URL: &str = "/cosmos.bank.v1beta1.MsgSend";
/// Type URL of `MsgMultiSend`.
pub const MSG_MULTI_SEND_TYPE_URL: &str = "/cosmos.bank.v1beta1.MsgMultiSend";
/// Type URL of the bank's own `MsgUpdateParams` (governance only).
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/deai.bank.v1.MsgUpdateParams";
