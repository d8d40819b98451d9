//! The mint module: the chain pays for its security with new tokens, as the
//! Cosmos SDK's x/mint does.
//!
//! It owns the parameters (the SDK's: the denom minted, how fast inflation
//! may move, its floor and ceiling, the bonded share aimed at, blocks per
//! year) and the minter (the current annual inflation rate and the annual
//! provisions it gives). All keys start with `mint/`.
//!
//! - **Every block, at begin block,** before distribution pays the fee
//!   collector out: inflation moves by `(1 − bonded share ÷ goal_bonded) ×
//!   inflation_rate_change` a year (a `blocks_per_year`th of it a block),
//!   up toward `inflation_max` while less than `goal_bonded` of the supply
//!   is bonded and down toward `inflation_min` while more is, and the
//!   block's share of a year's provisions (inflation × supply ÷
//!   `blocks_per_year`, rounded down to whole tokens) is minted into the
//!   fee collector (`Address::module(FEE_COLLECTOR)`). The arithmetic is
//!   the SDK's `LegacyDec` arithmetic to the last 10⁻¹⁸ (see [`minter`]).
//! - **Nothing bonded, or no supply:** nothing is minted and the minter is
//!   left as it is. With no stake there is nobody to reward, and chains run
//!   by genesis's fixed validators mint nothing, as before this module.
//! - **What may stop a block:** only a storage error or a record that does
//!   not decode. Annual provisions too large for 128 bits (inflation ×
//!   supply past about 3.4·10²⁰ base units) mint nothing that block, leave
//!   the minter as it is and say so in a `mint_skipped` event.
//! - **Cost:** constant, whatever the chain holds: it reads the parameters,
//!   the minter, two balances and the supply, and writes the minter, the
//!   supply and the fee collector's balance.
//!
//! The module has no module account of its own: the bank mints straight
//! into the fee collector.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]
// Money code: every operation that could overflow is a checked one.
#![deny(clippy::arithmetic_side_effects)]

pub mod begin_block;
pub mod component;
pub mod error;
pub mod event;
pub mod genesis;
pub mod minter;
pub mod msg;
pub mod params;
pub mod query;
pub mod state;

pub use component::MintModule;
use deai_types::{module::FEE_COLLECTOR, Address};
pub use error::MintError;
pub use genesis::{GenesisMinter, MintGenesis};
pub use minter::Minter;
pub use params::{MintParams, Rates};
pub use state::{MintRead, MintWrite};

/// The module's name, in its state keys and codespace.
pub const MODULE_NAME: &str = "mint";

/// Type URL of `MsgUpdateParams`.
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/cosmos.mint.v1beta1.MsgUpdateParams";

/// The account new tokens are minted into: the fee collector, which
/// distribution pays out.
pub fn fee_collector() -> Address {
    Address::module(FEE_COLLECTOR)
}

#[cfg(test)]
mod tests;
