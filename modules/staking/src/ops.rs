//! The operations messages and block hooks are built from: delegating,
//! unbonding shares, moving tokens between the two pools, and the queues
//! that return stake when its time comes.
//!
//! Where the tokens are: a validator's tokens sit in the bonded pool while
//! it is bonded and in the not-bonded pool otherwise; unbonding tokens sit
//! in the not-bonded pool until they return. So the bonded pool holds
//! exactly the bonded validators' tokens, and the not-bonded pool the
//! others' plus every unbonding entry's balance (`check_pools` checks it).

use deai_bank::BankWrite;
use deai_types::{module::BlockTime, Address, Coin, Event, StateRead, StateWrite};

use crate::{
    dec::Dec,
    event,
    hooks::Notify,
    state_key as key,
    types::{
        BondStatus, Delegation, Redelegation, RedelegationEntry, Unbonding, UnbondingEntry,
        Validator,
    },
    StakingError, StakingParams, StakingRead, StakingWrite, ValoperAddress,
    MAX_DELEGATIONS_PER_DELEGATOR,
};

/// The pool holding the tokens of a validator of `status`.
pub fn pool_of(status: BondStatus) -> Address {
    match status {
        BondStatus::Bonded => crate::bonded_pool(),
        BondStatus::Unbonding | BondStatus::Unbonded => crate::not_bonded_pool(),
    }
}

/// `t` plus `seconds`, saturating.
pub fn add_seconds(t: BlockTime, seconds: u64) -> BlockTime {
    BlockTime {
        seconds: t
            .seconds
            .saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX)),
        nanos: t.nanos,
    }
}

/// Moves `amount` bond-denom tokens between accounts (nothing for zero).
pub fn move_tokens<S: StateWrite + ?Sized>(
    state: &mut S,
    from: &Address,
    to: &Address,
    amount: u128,
    denom: &str,
) -> Result<Vec<Event>, StakingError> {
    if amount == 0 || from == to {
        return Ok(Vec::new());
    }
    Ok(state.send(from, to, &[Coin::new(amount, denom)])?)
}

/// Whether `prefix` (a delegator's delegations or unbondings) already holds
/// [`MAX_DELEGATIONS_PER_DELEGATOR`] entries; reads at most that many.
fn full<S: StateRead + ?Sized>(state: &S, prefix: &[u8]) -> Result<bool, StakingError> {
    Ok(state
        .prefix_raw(prefix, None, MAX_DELEGATIONS_PER_DELEGATOR)?
        .len()
        >= MAX_DELEGATIONS_PER_DELEGATOR)
}

/// Adds `amount` tokens to `v` for `delegator`'s delegation, which buys
/// shares at `v`'s rate. The tokens must already be in (or be moved by the
/// caller into) `v`'s pool. Returns the shares issued. A delegator holding
/// delegations to [`MAX_DELEGATIONS_PER_DELEGATOR`] validators gets no
/// delegation to another.
pub fn add_delegation<S: StateWrite + ?Sized>(
    state: &mut S,
    delegator: &Address,
    v: &mut Validator,
    amount: u128,
    n: &mut Notify<'_>,
) -> Result<Dec, StakingError> {
    let held = state.delegation(delegator, &v.operator)?;
    if held.is_none() && full(state, &key::delegations_of(delegator))? {
        return Err(StakingError::TooManyDelegations(
            MAX_DELEGATIONS_PER_DELEGATOR,
        ));
    }
    let before = v.clone();
    let shares = v.shares_for_tokens(amount)?;
    if shares.is_zero() {
        return Err(StakingError::Invalid(format!(
            "{amount} tokens buy no shares of {}",
            v.operator.to_valoper()
        )));
    }
    v.tokens = v
        .tokens
        .checked_add(amount)
        .ok_or_else(|| StakingError::Invalid("validator tokens overflow".into()))?;
    v.shares = v
        .shares
        .checked_add(shares)
        .ok_or_else(|| StakingError::Invalid("validator shares overflow".into()))?;
    let mut d = held.unwrap_or(Delegation {
        delegator: *delegator,
        validator: v.operator,
        shares: Dec::ZERO,
    });
    d.shares = d
        .shares
        .checked_add(shares)
        .ok_or_else(|| StakingError::Invalid("delegation shares overflow".into()))?;
    n.before_delegation_modified(state, delegator, &v.operator)?;
    state.put_delegation(&d)?;
    state.put_validator(v, Some(&before))?;
    n.after_delegation_modified(state, delegator, &v.operator)?;
    Ok(shares)
}

/// Takes `shares` of `delegator`'s delegation out of `v`, returning the
/// tokens they were worth (still in `v`'s pool). The operator's own
/// delegation falling below its promised minimum jails the validator.
pub fn remove_shares<S: StateWrite + ?Sized>(
    state: &mut S,
    delegator: &Address,
    v: &mut Validator,
    shares: Dec,
    n: &mut Notify<'_>,
) -> Result<u128, StakingError> {
    let mut d =
        state
            .delegation(delegator, &v.operator)?
            .ok_or_else(|| StakingError::NoDelegation {
                delegator: delegator.to_bech32(),
                validator: v.operator.to_valoper(),
            })?;
    d.shares = d.shares.checked_sub(shares).ok_or_else(|| {
        StakingError::Insufficient(format!(
            "the delegation holds {} shares, fewer than the {} asked",
            d.shares, shares
        ))
    })?;
    let before = v.clone();
    let tokens = v.tokens_for_shares(shares);
    // `tokens_for_shares` never gives more than the validator holds.
    v.tokens = v
        .tokens
        .checked_sub(tokens)
        .ok_or_else(|| StakingError::Corrupt("validator tokens underflow".into()))?;
    v.shares = v.shares.checked_sub(shares).ok_or_else(|| {
        StakingError::Corrupt("validator holds fewer shares than a delegation".into())
    })?;
    if v.shares.is_zero() && v.tokens > 0 {
        // Rounding left tokens with no shares: they belong to no one, so
        // the last delegator takes them.
        return Err(StakingError::Corrupt("tokens left without shares".into()));
    }
    n.before_delegation_modified(state, delegator, &v.operator)?;
    state.put_delegation(&d)?;
    if *delegator == v.operator
        && !v.jailed
        && v.tokens_for_shares(d.shares) < v.min_self_delegation
    {
        v.jailed = true;
    }
    state.put_validator(v, Some(&before))?;
    n.after_delegation_modified(state, delegator, &v.operator)?;
    Ok(tokens)
}

/// When stake leaving `v` returns: after the unbonding time if `v` is
/// bonded, when `v`'s own unbonding ends if it is unbonding, and now if it
/// is unbonded. The flag says "now".
pub fn begin_info(v: &Validator, now: BlockTime, params: &StakingParams) -> (BlockTime, bool) {
    match v.status {
        BondStatus::Bonded => (add_seconds(now, params.unbonding_time_seconds), false),
        BondStatus::Unbonding if v.unbonding_time > now => (v.unbonding_time, false),
        _ => (now, true),
    }
}

/// The shares worth `amount` tokens of `v`, rounded up and capped at the
/// delegation's shares, so the tokens returned are never more than asked
/// (taking the whole delegation when the rest would be dust).
pub fn shares_for_amount<S: StakingRead + ?Sized>(
    state: &S,
    delegator: &Address,
    v: &Validator,
    amount: u128,
) -> Result<Dec, StakingError> {
    let d =
        state
            .delegation(delegator, &v.operator)?
            .ok_or_else(|| StakingError::NoDelegation {
                delegator: delegator.to_bech32(),
                validator: v.operator.to_valoper(),
            })?;
    if v.tokens == 0 {
        return Err(StakingError::InvalidExchangeRate(v.operator.to_valoper()));
    }
    let held = v.tokens_for_shares(d.shares);
    if amount > held {
        return Err(StakingError::Insufficient(format!(
            "the delegation is worth {held}{}, less than the {amount} asked",
            deai_types::BASE_DENOM
        )));
    }
    if amount == held {
        return Ok(d.shares);
    }
    let shares = crate::dec::mul_div_ceil(v.shares.atomics(), amount, v.tokens)
        .map(Dec::from_atomics)
        .ok_or_else(|| StakingError::Invalid("amount too large".into()))?;
    Ok(shares.min(d.shares))
}

/// Undelegates `amount` tokens of `delegator` from `op`: the tokens leave
/// the validator at once and return when [`begin_info`] says. Returns the
/// completion time and the events. A delegator already unbonding from
/// [`MAX_DELEGATIONS_PER_DELEGATOR`] validators cannot begin unbonding from
/// another.
pub fn undelegate<S: StateWrite + ?Sized>(
    state: &mut S,
    delegator: &Address,
    op: &Address,
    amount: u128,
    (height, now): (u64, BlockTime),
    n: &mut Notify<'_>,
) -> Result<(BlockTime, Vec<Event>), StakingError> {
    let params = state.staking_params()?;
    let mut v = state
        .validator(op)?
        .ok_or_else(|| StakingError::NoValidator(op.to_valoper()))?;
    let mut u = match state.unbonding(delegator, op)? {
        Some(u) => u,
        None if full(state, &key::unbondings_of(delegator))? => {
            return Err(StakingError::TooManyUnbondings(
                MAX_DELEGATIONS_PER_DELEGATOR,
            ))
        }
        None => Unbonding {
            delegator: *delegator,
            validator: *op,
            entries: Vec::new(),
        },
    };
    if u.entries.len() >= params.max_entries as usize {
        return Err(StakingError::TooManyEntries(params.max_entries));
    }
    let shares = shares_for_amount(state, delegator, &v, amount)?;
    let tokens = remove_shares(state, delegator, &mut v, shares, n)?;
    if tokens == 0 {
        return Err(StakingError::Invalid(
            "the amount is worth no tokens".into(),
        ));
    }
    let mut events = move_tokens(
        state,
        &pool_of(v.status),
        &crate::not_bonded_pool(),
        tokens,
        &params.bond_denom,
    )?;
    let (completion, _) = begin_info(&v, now, &params);
    u.entries.push(UnbondingEntry {
        creation_height: height,
        completion_time: completion,
        initial_balance: tokens,
        balance: tokens,
    });
    state.put_unbonding(&u)?;
    state.put_raw(key::unbonding_queue(completion, delegator, op), Vec::new())?;
    remove_if_empty(state, &v, n)?;
    events.push(event::unbond(op, delegator, tokens, completion));
    Ok((completion, events))
}

/// Removes a validator that has no shares left and is unbonded.
pub fn remove_if_empty<S: StateWrite + ?Sized>(
    state: &mut S,
    v: &Validator,
    n: &mut Notify<'_>,
) -> Result<(), StakingError> {
    if v.shares.is_zero() && v.status == BondStatus::Unbonded {
        state.remove_validator(v)?;
        n.after_validator_removed(state, &v.operator)?;
    }
    Ok(())
}

/// Moves `amount` tokens of `delegator`'s stake from `src` to `dst`
/// without unbonding. Until it matures the stake cannot move again.
pub fn redelegate<S: StateWrite + ?Sized>(
    state: &mut S,
    delegator: &Address,
    (src, dst): (&Address, &Address),
    amount: u128,
    (height, now): (u64, BlockTime),
    n: &mut Notify<'_>,
) -> Result<(BlockTime, Vec<Event>), StakingError> {
    if src == dst {
        return Err(StakingError::Invalid(
            "cannot redelegate to the same validator".into(),
        ));
    }
    let params = state.staking_params()?;
    let mut from = state
        .validator(src)?
        .ok_or_else(|| StakingError::NoValidator(src.to_valoper()))?;
    let mut to = state
        .validator(dst)?
        .ok_or_else(|| StakingError::NoValidator(dst.to_valoper()))?;
    if state.has_incoming_redelegation(delegator, src)? {
        return Err(StakingError::TransitiveRedelegation(src.to_valoper()));
    }
    let mut r = state
        .redelegation(delegator, src, dst)?
        .unwrap_or(Redelegation {
            delegator: *delegator,
            src: *src,
            dst: *dst,
            entries: Vec::new(),
        });
    if r.entries.len() >= params.max_entries as usize {
        return Err(StakingError::TooManyEntries(params.max_entries));
    }
    let shares = shares_for_amount(state, delegator, &from, amount)?;
    let tokens = remove_shares(state, delegator, &mut from, shares, n)?;
    if tokens == 0 {
        return Err(StakingError::Invalid(
            "the amount is worth no tokens".into(),
        ));
    }
    let mut events = move_tokens(
        state,
        &pool_of(from.status),
        &pool_of(to.status),
        tokens,
        &params.bond_denom,
    )?;
    let shares_dst = add_delegation(state, delegator, &mut to, tokens, n)?;
    let (completion, now_done) = begin_info(&from, now, &params);
    if !now_done {
        r.entries.push(RedelegationEntry {
            creation_height: height,
            completion_time: completion,
            initial_balance: tokens,
            shares_dst,
        });
        state.put_redelegation(&r)?;
        state.put_raw(
            key::redelegation_queue(completion, delegator, src, dst),
            Vec::new(),
        )?;
    }
    remove_if_empty(state, &from, n)?;
    events.push(event::redelegate(src, dst, delegator, tokens, completion));
    Ok((completion, events))
}

/// Puts `amount` of the unbonding entry created at `creation_height` back
/// into `op`.
pub fn cancel_unbonding<S: StateWrite + ?Sized>(
    state: &mut S,
    delegator: &Address,
    op: &Address,
    amount: u128,
    creation_height: u64,
    n: &mut Notify<'_>,
) -> Result<Vec<Event>, StakingError> {
    let params = state.staking_params()?;
    let mut v = state
        .validator(op)?
        .ok_or_else(|| StakingError::NoValidator(op.to_valoper()))?;
    let missing = || StakingError::NoUnbondingEntry {
        delegator: delegator.to_bech32(),
        validator: op.to_valoper(),
        height: creation_height,
    };
    let mut u = state.unbonding(delegator, op)?.ok_or_else(missing)?;
    let i = u
        .entries
        .iter()
        .position(|e| e.creation_height == creation_height)
        .ok_or_else(missing)?;
    u.entries[i].balance = match u.entries[i].balance.checked_sub(amount) {
        Some(left) if amount != 0 => left,
        _ => {
            return Err(StakingError::Insufficient(format!(
                "the entry holds {}, the amount must be 1 to that",
                u.entries[i].balance
            )))
        }
    };
    if u.entries[i].balance == 0 {
        u.entries.remove(i);
    }
    let mut events = move_tokens(
        state,
        &crate::not_bonded_pool(),
        &pool_of(v.status),
        amount,
        &params.bond_denom,
    )?;
    add_delegation(state, delegator, &mut v, amount, n)?;
    state.put_unbonding(&u)?;
    events.push(event::cancel_unbonding(
        op,
        delegator,
        amount,
        creation_height,
    ));
    Ok(events)
}
