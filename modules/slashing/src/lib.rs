//! The slashing module: the chain punishes its validators itself.
//!
//! - **Downtime.** Every vote of the decided last commit counts in its
//!   validator's window of `signed_blocks_window` blocks. A validator that
//!   misses more than the window less `min_signed_per_window` of it (after
//!   its first full window) loses `slash_fraction_downtime` of the stake
//!   bonded to it when the missing began, is jailed (it leaves the set at
//!   the end of the block) and may send `MsgUnjail` after
//!   `downtime_jail_duration`.
//! - **Double-signing.** `DUPLICATE_VOTE` evidence that CometBFT puts in a
//!   block takes `slash_fraction_double_sign` of the stake bonded at the
//!   infraction, including unbonding and redelegated stake that was bonded
//!   then and has not matured, jails the validator for ever and tombstones
//!   it: it can never unjail.
//! - **Where the tokens go.** To the DAO treasury, not burned: the DAO
//!   decides what restitution or reuse they serve (our choice; the SDK
//!   burns them).
//! - **A new window length.** When governance changes
//!   `signed_blocks_window`, every validator's window starts afresh (its
//!   old marks no longer line up): it counts from index 0 with nothing
//!   missed, keeping its start height. The change itself is O(1): it
//!   starts a new window *generation*; marks are keyed generation first,
//!   each record is reset at its next use (queries show it reset at once),
//!   and begin block deletes the old generations' marks, at most
//!   [`begin_block::OLD_MARKS_PER_BLOCK`] a block (see [`state`]).
//!
//! Only staked validators are tracked: the fixed validators genesis names
//! (until they become staked ones) hold no stake to slash.
//!
//! Params and defaults are the SDK's (window 100, 50% signed, 10 minutes of
//! jail, 5% for a double-sign, 1% for downtime), with bounds.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]
// Money code: every operation that could overflow is a checked one.
#![deny(clippy::arithmetic_side_effects)]

pub mod begin_block;
pub mod component;
pub mod error;
pub mod event;
pub mod genesis;
pub mod msg;
pub mod params;
pub mod query;
pub mod state;

use bech32::{Bech32, Hrp};
pub use component::SlashingModule;
pub use error::SlashingError;
pub use genesis::SlashingGenesis;
pub use params::SlashingParams;
pub use state::{SigningInfo, SlashingRead, SlashingWrite};

/// The module's name, in its state keys and codespace.
pub const MODULE_NAME: &str = "slashing";

/// The bech32 prefix of validator consensus addresses.
pub const VALCONS_PREFIX: &str = "deaivalcons";

/// Type URL of `MsgUnjail`.
pub const MSG_UNJAIL_TYPE_URL: &str = "/cosmos.slashing.v1beta1.MsgUnjail";
/// Type URL of `MsgUpdateParams`.
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/cosmos.slashing.v1beta1.MsgUpdateParams";

/// A consensus address as `deaivalcons…`.
pub fn to_valcons(cons: &[u8; 20]) -> String {
    bech32::encode::<Bech32>(Hrp::parse_unchecked(VALCONS_PREFIX), cons).unwrap_or_default()
}

/// Reads a `deaivalcons…` address.
pub fn parse_valcons(s: &str) -> Result<[u8; 20], String> {
    let (hrp, data) = bech32::decode(s).map_err(|e| e.to_string())?;
    if hrp.as_str() != VALCONS_PREFIX {
        return Err(format!(
            "the prefix must be {VALCONS_PREFIX}, not {}",
            hrp.as_str()
        ));
    }
    data.as_slice()
        .try_into()
        .map_err(|_| format!("a consensus address is 20 bytes, got {}", data.len()))
}

#[cfg(test)]
mod tests;
