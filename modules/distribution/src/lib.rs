//! The distribution module: block rewards reach validators and delegators.
//!
//! - **What is paid.** At the start of every block, the fee collector's
//!   balance (the fees the treasury did not take, plus what the mint
//!   module minted) moves to this module's account and is split among the
//!   validators of the last commit by their power in it, after the
//!   `community_tax` share, which goes to the DAO treasury (the SDK's
//!   community pool is the treasury here). See [`allocate`].
//! - **Validators** take their commission rate's share of what they are
//!   given; the rest is their delegators', self-delegation included.
//! - **Delegators** earn in proportion to their stake and the time it was
//!   bonded, with exact F1 accounting ([`rewards`]): nothing is computed
//!   per delegator per block; a delegation is settled when its shares
//!   change (staking calls [`hooks::DistributionHooks`]) or when it
//!   withdraws. Rewards are paid in whole coins to the delegator's
//!   withdraw address; fractions and rounding become dust owed to the
//!   treasury, paid as soon as it makes whole coins. No token is created
//!   or lost: the module account holds exactly the validators'
//!   outstanding rewards plus the dust ([`invariants::check_books`]).
//! - **Slashes** end the validator's period and are kept, so a delegation
//!   that was bonded through a slash earns on its cut stake from then on.
//!
//! Messages, queries and records are the Cosmos SDK's
//! `cosmos.distribution.v1beta1` (wallets' "claim rewards" works):
//! withdraw a delegation's rewards, withdraw commission, set a withdraw
//! address, and parameters by governance. Not built: `MsgFundCommunityPool`
//! and `MsgCommunityPoolSpend` (the treasury's `MsgFund` and governance
//! spends do that job), proposer bonuses (deprecated in the SDK).
//!
//! Block order: `begin_block` runs after the mint module's (so this
//! block's provision is paid at once) and before slashing's (so a
//! validator slashed at this height is paid for the commit it signed
//! first, as in the SDK).
//!
//! What may stop a block: only storage failures and corrupt records.
//! Overflows users could provoke are handled: an amount that does not fit
//! the 18-decimal books stays in the collector, a validator whose books
//! cannot take more is skipped (its share goes to the treasury), and
//! cumulative ratios saturate (paying less, never more).
//!
//! Cost per block: one validator record per vote of the last commit.
//! Settling a delegation reads its own records and the validator's
//! slashes since the delegation last settled.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]
// Money code: every operation that could overflow is a checked one.
#![deny(clippy::arithmetic_side_effects)]

pub mod allocate;
pub mod component;
pub mod dec_coins;
pub mod error;
pub mod event;
pub mod genesis;
pub mod hooks;
pub mod invariants;
pub mod msg;
pub mod params;
pub mod query;
pub mod rewards;
pub mod state;
pub mod state_key;

pub use component::DistributionModule;
use deai_types::Address;
pub use error::DistributionError;
pub use genesis::DistributionGenesis;
pub use hooks::DistributionHooks;
pub use params::DistributionParams;
pub use state::{DistributionRead, DistributionWrite, SlashEvent, StartingInfo};

/// The module's name, in its state keys, codespace and module account.
pub const MODULE_NAME: &str = "distribution";

/// The module account holding rewards not yet withdrawn.
pub fn address() -> Address {
    Address::module(MODULE_NAME)
}

/// Type URL of `MsgSetWithdrawAddress`.
pub const MSG_SET_WITHDRAW_ADDRESS_TYPE_URL: &str =
    "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress";
/// Type URL of `MsgWithdrawDelegatorReward`.
pub const MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL: &str =
    "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward";
/// Type URL of `MsgWithdrawValidatorCommission`.
pub const MSG_WITHDRAW_VALIDATOR_COMMISSION_TYPE_URL: &str =
    "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission";
/// Type URL of `MsgUpdateParams`.
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/cosmos.distribution.v1beta1.MsgUpdateParams";

#[cfg(test)]
mod tests;
