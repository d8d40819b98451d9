//! End of block: stake whose time has come returns, then the validator set
//! is recomputed and only its changes go to CometBFT.
//!
//! Cost: each queue is keyed by completion time and read from its start,
//! so a block walks only what is due (at most [`MAX_DUE_PER_BLOCK`] of
//! each; the rest waits a block). The set is read from the power index,
//! most powerful first, for `max_validators` entries, and compared with
//! the last set (at most `max_validators` records): proportional to the
//! set, never to the number of validators or delegations.
//!
//! CometBFT's rules for the update list, which the app must never break
//! (CometBFT stops on a bad one): keys are ed25519 and appear once; power 0
//! only for a key in the set; the total stays within `i64::MAX / 8` (each
//! power is capped at [`crate::types::MAX_POWER`]). When staking's set is
//! all of CometBFT's (genesis transactions made the first validators), a
//! change that would leave no validator is held back: the set stays as it
//! is until stake returns, since a chain with no validators stops. With a
//! fixed genesis list beside the staked validators, staking's part may
//! empty.

use deai_types::{module::BlockTime, Address, Event, StateRead, StateWrite, ValidatorUpdate};

use crate::{
    event,
    hooks::Notify,
    ops::{add_seconds, move_tokens, remove_if_empty},
    state::PAGE,
    state_key as key,
    types::BondStatus,
    StakingError, StakingRead, StakingWrite,
};

/// Most entries of each queue completed in one block.
pub const MAX_DUE_PER_BLOCK: usize = 1_000;

/// Queue keys due at `now` (completion time at or before it), oldest first,
/// at most `limit`.
fn due<S: StateRead + ?Sized>(
    state: &S,
    prefix: &[u8],
    now: BlockTime,
    limit: usize,
) -> Result<Vec<Vec<u8>>, StakingError> {
    let end = key::queue_end(prefix, now);
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while out.len() < limit {
        let page = state.prefix_raw(
            prefix,
            after.as_deref(),
            PAGE.min(limit.saturating_sub(out.len())),
        )?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (k, _) in page {
            if k > end {
                return Ok(out);
            }
            out.push(k);
        }
    }
    Ok(out)
}

/// Returns matured unbonding entries to their delegators.
pub fn complete_unbondings<S: StateWrite + ?Sized>(
    state: &mut S,
    now: BlockTime,
) -> Result<Vec<Event>, StakingError> {
    let denom = state.staking_params()?.bond_denom;
    let mut events = Vec::new();
    for k in due(state, key::UNBONDING_QUEUE, now, MAX_DUE_PER_BLOCK)? {
        state.delete_raw(k.clone())?;
        let Some((_, addrs)) = key::queue_addresses(key::UNBONDING_QUEUE, &k) else {
            return Err(StakingError::Corrupt("unbonding queue key".into()));
        };
        let [del, op] = addrs.as_slice() else {
            return Err(StakingError::Corrupt("unbonding queue key".into()));
        };
        // The entry may be gone already (cancelled, or paid under an
        // earlier key of the same pair).
        let Some(mut u) = state.unbonding(del, op)? else {
            continue;
        };
        let (done, left): (Vec<_>, Vec<_>) = u
            .entries
            .into_iter()
            .partition(|e| e.completion_time <= now);
        u.entries = left;
        let paid: u128 = done.iter().map(|e| e.balance).sum();
        events.extend(move_tokens(
            state,
            &crate::not_bonded_pool(),
            del,
            paid,
            &denom,
        )?);
        state.put_unbonding(&u)?;
        if !done.is_empty() {
            events.push(event::complete_unbonding(op, del, paid));
        }
    }
    Ok(events)
}

/// Drops matured redelegation entries: the stake may move again.
pub fn complete_redelegations<S: StateWrite + ?Sized>(
    state: &mut S,
    now: BlockTime,
) -> Result<Vec<Event>, StakingError> {
    let mut events = Vec::new();
    for k in due(state, key::REDELEGATION_QUEUE, now, MAX_DUE_PER_BLOCK)? {
        state.delete_raw(k.clone())?;
        let Some((_, addrs)) = key::queue_addresses(key::REDELEGATION_QUEUE, &k) else {
            return Err(StakingError::Corrupt("redelegation queue key".into()));
        };
        let [del, src, dst] = addrs.as_slice() else {
            return Err(StakingError::Corrupt("redelegation queue key".into()));
        };
        let Some(mut r) = state.redelegation(del, src, dst)? else {
            continue;
        };
        let (done, left): (Vec<_>, Vec<_>) = r
            .entries
            .into_iter()
            .partition(|e| e.completion_time <= now);
        r.entries = left;
        state.put_redelegation(&r)?;
        if !done.is_empty() {
            let tokens: u128 = done.iter().map(|e| e.initial_balance).sum();
            events.push(event::complete_redelegation(src, dst, del, tokens));
        }
    }
    Ok(events)
}

/// Validators whose unbonding ended become unbonded (and are removed when
/// no shares are left).
pub fn complete_validator_unbondings<S: StateWrite + ?Sized>(
    state: &mut S,
    now: BlockTime,
    n: &mut Notify<'_>,
) -> Result<(), StakingError> {
    for k in due(state, key::VALIDATOR_QUEUE, now, MAX_DUE_PER_BLOCK)? {
        state.delete_raw(k.clone())?;
        let Some((t, addrs)) = key::queue_addresses(key::VALIDATOR_QUEUE, &k) else {
            return Err(StakingError::Corrupt("validator queue key".into()));
        };
        let [op] = addrs.as_slice() else {
            return Err(StakingError::Corrupt("validator queue key".into()));
        };
        let Some(mut v) = state.validator(op)? else {
            continue;
        };
        // Bonded again since, or unbonding again with a later time.
        if v.status != BondStatus::Unbonding || v.unbonding_time != t {
            continue;
        }
        let before = v.clone();
        v.status = BondStatus::Unbonded;
        state.put_validator(&v, Some(&before))?;
        remove_if_empty(state, &v, n)?;
    }
    Ok(())
}

/// Recomputes the set (the `max_validators` most powerful validators that
/// are not jailed) and returns what changed since the last set, moving the
/// tokens of validators that join or leave between the pools.
pub fn apply_validator_set<S: StateWrite + ?Sized>(
    state: &mut S,
    height: u64,
    now: BlockTime,
) -> Result<(Vec<ValidatorUpdate>, Vec<Event>), StakingError> {
    apply_validator_set_keeping(state, height, now, false)
}

/// As [`apply_validator_set`]; with `keep_nonempty` (staking's set is all
/// of CometBFT's), a change that would leave no validator is not made: the
/// set stays as it is, for a chain without validators makes no more blocks.
pub fn apply_validator_set_keeping<S: StateWrite + ?Sized>(
    state: &mut S,
    height: u64,
    now: BlockTime,
    keep_nonempty: bool,
) -> Result<(Vec<ValidatorUpdate>, Vec<Event>), StakingError> {
    let params = state.staking_params()?;
    let mut set: Vec<(Address, u64)> = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while set.len() < params.max_validators as usize {
        let want = (params.max_validators as usize)
            .saturating_sub(set.len())
            .min(PAGE);
        let page = state.prefix_raw(key::POWER_INDEX, after.as_deref(), want)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (k, _) in page {
            let op = key::parse_power_index(&k)
                .ok_or_else(|| StakingError::Corrupt("power index key".into()))?;
            let v = state
                .validator(&op)?
                .ok_or_else(|| StakingError::Corrupt("power index names no validator".into()))?;
            set.push((op, v.power()));
        }
    }
    let last = state.last_powers()?;
    if keep_nonempty && set.is_empty() && !last.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut updates = Vec::new();
    let mut events = Vec::new();
    for (op, power) in &set {
        let was = last.iter().find(|(o, _)| o == op).map_or(0, |(_, p)| *p);
        let mut v = state
            .validator(op)?
            .ok_or_else(|| StakingError::Corrupt("set member without a record".into()))?;
        if v.status != BondStatus::Bonded {
            let before = v.clone();
            events.extend(move_tokens(
                state,
                &crate::not_bonded_pool(),
                &crate::bonded_pool(),
                v.tokens,
                &params.bond_denom,
            )?);
            if v.status == BondStatus::Unbonding {
                state.delete_raw(key::validator_queue(v.unbonding_time, op))?;
            }
            v.status = BondStatus::Bonded;
            v.unbonding_height = 0;
            v.unbonding_time = BlockTime::default();
            state.put_validator(&v, Some(&before))?;
        }
        if was != *power {
            updates.push(ValidatorUpdate {
                pub_key: v.pubkey,
                power: *power,
            });
            events.push(event::validator_set_updated(op, *power));
            state.set_last_power(op, *power)?;
        }
    }
    for (op, _) in &last {
        if set.iter().any(|(o, _)| o == op) {
            continue;
        }
        let mut v = state
            .validator(op)?
            .ok_or_else(|| StakingError::Corrupt("last set member without a record".into()))?;
        updates.push(ValidatorUpdate {
            pub_key: v.pubkey,
            power: 0,
        });
        events.push(event::validator_set_updated(op, 0));
        state.set_last_power(op, 0)?;
        let before = v.clone();
        events.extend(move_tokens(
            state,
            &crate::bonded_pool(),
            &crate::not_bonded_pool(),
            v.tokens,
            &params.bond_denom,
        )?);
        v.status = BondStatus::Unbonding;
        v.unbonding_height = height;
        v.unbonding_time = add_seconds(now, params.unbonding_time_seconds);
        state.put_raw(key::validator_queue(v.unbonding_time, op), Vec::new())?;
        state.put_validator(&v, Some(&before))?;
    }
    Ok((updates, events))
}
