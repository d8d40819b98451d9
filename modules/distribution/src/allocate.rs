//! Start of block: the rewards collected since the last allocation (the
//! fee collector's balance: the fees the treasury did not take, and what
//! the mint module minted) are split among the validators that were in
//! the last commit, by their power in it, after the community tax.
//!
//! Who gets what: the community tax, the shares of validators in the
//! commit that hold no stake (the fixed validators genesis may name) and
//! every rounding remainder go to the DAO treasury (the SDK's community
//! pool). When no staked validator is in the commit, nothing moves: the
//! collector keeps its balance until one is.
//!
//! Cost: one record per vote of the last commit (at most the set's size),
//! and at most [`MAX_DENOMS`] denoms of the collector per block.

use deai_bank::{BankRead, BankWrite};
use deai_staking::StakingRead;
use deai_types::{module::FEE_COLLECTOR, Address, BlockCtx, Coin, Event, StateWrite};

use crate::{
    dec_coins::DecCoins,
    event,
    rewards::{add_dust, allocate_to_validator, flush_dust},
    DistributionError, DistributionRead,
};

/// The most denoms of the collector's balance one block allocates (the
/// rest wait for the next blocks); fees come in the fee denom, so one.
pub const MAX_DENOMS: usize = 8;

/// Runs the module's start-of-block work.
pub fn begin_block<S: StateWrite + ?Sized>(
    state: &mut S,
    ctx: &BlockCtx<'_>,
) -> Result<Vec<Event>, DistributionError> {
    let votes = &ctx.info.last_commit;
    let total_power: u128 = votes.iter().map(|v| u128::from(v.power)).sum();
    if total_power == 0 {
        return Ok(Vec::new());
    }
    let mut staked = Vec::new();
    for vote in votes {
        let Ok(cons) = <[u8; 20]>::try_from(vote.validator.as_slice()) else {
            continue;
        };
        let Some(op) = state.validator_by_consensus(&cons)? else {
            continue;
        };
        if let Some(v) = state.validator(&op)? {
            staked.push((v, vote.power));
        }
    }
    if staked.is_empty() {
        return Ok(Vec::new());
    }
    let collector = Address::module(FEE_COLLECTOR);
    let mut collected: Vec<Coin> = Vec::new();
    let mut fees = DecCoins::new();
    for c in state.balances(&collector, None, MAX_DENOMS)? {
        // An amount too large for 18 decimals (over 3.4 × 10²⁰) stays put.
        if let Some(sum) =
            DecCoins::from_coins(std::slice::from_ref(&c)).and_then(|d| fees.checked_add(&d))
        {
            fees = sum;
            collected.push(c);
        }
    }
    if collected.is_empty() {
        return Ok(Vec::new());
    }
    let mut events = state.send(&collector, &crate::address(), &collected)?;
    let tax = state.distribution_params()?.tax()?;
    let to_validators = fees.saturating_sub(&fees.mul_dec_floor(tax));
    let mut left = fees;
    for (v, power) in staked {
        let reward = to_validators.mul_ratio_floor(u128::from(power), total_power);
        if reward.is_empty() {
            continue;
        }
        let Some(commission) = allocate_to_validator(state, &v, &reward)? else {
            continue;
        };
        left = left.saturating_sub(&reward);
        events.push(event::commission(&commission, &v.operator));
        events.push(event::rewards(&reward, &v.operator));
    }
    add_dust(state, &left)?;
    events.extend(flush_dust(state)?);
    Ok(events)
}
