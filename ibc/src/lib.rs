//! IBC on DeAI chain: ibc-rs hosted on the chain's state ([`host`]), with
//! the provable IBC state in its own substore ([`state_key`]); core
//! messages with ibc-go's type URLs ([`msg`]) routed to applications by
//! port ([`router`]); ibc-go's core query services for relayers ([`query`]).

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod component;
pub mod error;
pub mod host;
pub mod msg;
pub mod query;
pub mod router;
pub mod state_key;

pub use component::IbcModule;
pub use error::IbcError;
pub use host::{HostBlock, IbcHost};

/// The module's name, in its codespace.
pub const MODULE_NAME: &str = "ibc";

#[cfg(test)]
mod query_tests;
#[cfg(test)]
mod tests;
