//! IBC on DeAI chain: ibc-rs hosted on the chain's state ([`host`]), with
//! the provable IBC state in its own substore ([`state_key`]); core
//! messages with ibc-go's type URLs ([`msg`]) routed to applications by
//! port ([`router`]): ICS-20 token transfer on port `transfer`
//! ([`transfer`], queries in [`transfer_query`]), compute jobs from other
//! chains on port `compute` ([`compute`]); ibc-go's core query services for
//! relayers ([`query`]).

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod component;
pub mod compute;
pub mod error;
pub mod host;
pub mod msg;
pub mod query;
pub mod router;
pub mod shared;
pub mod state_key;
pub mod transfer;
pub mod transfer_query;

pub use component::IbcModule;
pub use error::IbcError;
pub use host::{HostBlock, IbcHost};

/// The module's name, in its codespace.
pub const MODULE_NAME: &str = "ibc";

#[cfg(test)]
mod query_tests;
#[cfg(test)]
mod tests;
