//! The staking module: validators join by transaction, token holders
//! delegate to them, and the most-staked validators make the set CometBFT
//! runs. Messages, queries and records are the Cosmos SDK's
//! `cosmos.staking.v1beta1`, so wallets (Keplr's staking page, CosmJS's
//! staking helpers) and relayers (Hermes reads `unbonding_time`) work.
//!
//! Shares: a validator issues shares for the tokens delegated to it, one
//! per token at first; its exchange rate only changes when it loses tokens
//! (slashing, not yet built). Shares are 18-decimal fixed-point numbers
//! ([`dec::Dec`]), and every conversion rounds in the pool's favour with a
//! 256-bit intermediate, so no operation creates tokens; the last shares of
//! a validator take all its tokens, so none are stranded.
//!
//! Tokens (see [`ops`]): bonded validators' tokens sit in the bonded pool,
//! the others' and unbonding stake in the not-bonded pool. Undelegated
//! stake returns after `unbonding_time` (at once from an unbonded
//! validator); redelegated stake moves at once but cannot move again until
//! the same time has passed.
//!
//! The set: at the end of every block the `max_validators` most powerful
//! validators that are not jailed (power: whole tokens, 10⁶ udeai) are the
//! set; only changes go to CometBFT, which applies them two heights later.
//! Validators that leave begin unbonding. A validator whose operator's own
//! stake falls below its promised minimum is jailed.
//!
//! Governance counts a delegator's delegated and unbonding tokens as its
//! voting power, reading them with [`StakingRead::delegator_stake`] at the
//! height a vote began (this crate knows nothing of governance).
//!
//! Every change of a delegation's shares or a validator's tokens is told
//! to a listener the app supplies ([`hooks`]; distribution settles rewards
//! there). Validators at genesis come from genesis transactions; a fixed
//! genesis list may run beside them, and its consensus keys cannot be
//! taken by a staked validator. The last `historical_entries` headers and
//! sets are kept for `HistoricalInfo` ([`historical`]).
//!
//! Bounds per delegator: delegations to at most
//! [`MAX_DELEGATIONS_PER_DELEGATOR`] validators, and unbondings from as
//! many at once, so reading everything one account has staked
//! ([`StakingRead::delegator_stake`], as governance does for a voter) costs
//! at most that many records of each kind.
//!
//! What may stop a block: only storage failures and corrupt records; every
//! bound (entries per pair, pairs per delegator, queue work per block,
//! validators in the set, power per validator) is enforced where users can
//! grow it.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]
// Money code: every operation that could overflow is a checked one.
#![deny(clippy::arithmetic_side_effects)]

pub mod component;
pub mod dec;
pub mod end_block;
pub mod error;
pub mod event;
pub mod genesis;
pub mod historical;
pub mod hooks;
pub mod invariants;
pub mod msg;
pub mod ops;
pub mod params;
pub mod query;
pub mod slash;
pub mod state;
pub mod state_key;
pub mod types;

use bech32::{Bech32, Hrp};
pub use component::StakingModule;
use deai_types::Address;
pub use error::StakingError;
pub use genesis::StakingGenesis;
pub use hooks::{NoHooks, Notify, StakingHooks};
pub use params::StakingParams;
pub use state::{DelegatorStake, StakingRead, StakingWrite};

/// The module's name, in its state keys and codespace.
pub const MODULE_NAME: &str = "staking";

/// The bech32 prefix of validator operator addresses.
pub const VALOPER_PREFIX: &str = "deaivaloper";

/// The most validators one delegator may hold delegations to, and the most
/// it may be unbonding from at once (each such pair holds at most
/// `max_entries` entries). A delegation or redelegation to a validator
/// beyond that, or an undelegation from one, is refused. Governance reads
/// a voter's stake by walking its delegations and unbondings at the height
/// a vote began ([`StakingRead::delegator_stake`]), so this bounds a
/// vote's and a tally's work per voter.
pub const MAX_DELEGATIONS_PER_DELEGATOR: usize = 100;

/// Tokens per unit of consensus power (the SDK's `DefaultPowerReduction`).
pub const POWER_REDUCTION: u128 = 1_000_000;

/// The type URL of an ed25519 consensus key.
pub const ED25519_PUBKEY_TYPE_URL: &str = "/cosmos.crypto.ed25519.PubKey";

/// Name of the module account holding bonded validators' tokens.
pub const BONDED_POOL: &str = "bonded_tokens_pool";
/// Name of the module account holding other validators' tokens and unbonding stake.
pub const NOT_BONDED_POOL: &str = "not_bonded_tokens_pool";

/// The bonded pool.
pub fn bonded_pool() -> Address {
    Address::module(BONDED_POOL)
}

/// The not-bonded pool.
pub fn not_bonded_pool() -> Address {
    Address::module(NOT_BONDED_POOL)
}

/// Type URL of `MsgCreateValidator`.
pub const MSG_CREATE_VALIDATOR_TYPE_URL: &str = "/cosmos.staking.v1beta1.MsgCreateValidator";
/// Type URL of `MsgEditValidator`.
pub const MSG_EDIT_VALIDATOR_TYPE_URL: &str = "/cosmos.staking.v1beta1.MsgEditValidator";
/// Type URL of `MsgDelegate`.
pub const MSG_DELEGATE_TYPE_URL: &str = "/cosmos.staking.v1beta1.MsgDelegate";
/// Type URL of `MsgUndelegate`.
pub const MSG_UNDELEGATE_TYPE_URL: &str = "/cosmos.staking.v1beta1.MsgUndelegate";
/// Type URL of `MsgBeginRedelegate`.
pub const MSG_BEGIN_REDELEGATE_TYPE_URL: &str = "/cosmos.staking.v1beta1.MsgBeginRedelegate";
/// Type URL of `MsgCancelUnbondingDelegation`.
pub const MSG_CANCEL_UNBONDING_TYPE_URL: &str =
    "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegation";
/// Type URL of `MsgUpdateParams`.
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/cosmos.staking.v1beta1.MsgUpdateParams";

/// Why a validator address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid validator address {0:?}: {1}")]
pub struct ValoperError(pub String, pub String);

/// A validator operator address, `deaivaloper…` (the operator account's bytes).
pub trait ValoperAddress {
    /// The `deaivaloper…` form.
    fn to_valoper(&self) -> String;
}

impl ValoperAddress for Address {
    fn to_valoper(&self) -> String {
        bech32::encode::<Bech32>(Hrp::parse_unchecked(VALOPER_PREFIX), self.as_bytes())
            .unwrap_or_default()
    }
}

/// Reads a `deaivaloper…` address.
pub fn parse_valoper(s: &str) -> Result<Address, ValoperError> {
    let (hrp, data) = bech32::decode(s).map_err(|e| ValoperError(s.to_string(), e.to_string()))?;
    if hrp.as_str() != VALOPER_PREFIX {
        return Err(ValoperError(
            s.to_string(),
            format!("the prefix must be {VALOPER_PREFIX}, not {}", hrp.as_str()),
        ));
    }
    Address::from_slice(&data).map_err(|e| ValoperError(s.to_string(), e.to_string()))
}

#[cfg(test)]
mod tests;
