//! Slashing and jailing, as the slashing module asks them of staking.
//!
//! A slash for an infraction at height `h` by a validator that had `power`
//! then takes `fraction` of `power × 10⁶` tokens, from the stake that was
//! bonded to it at `h` and is still answerable: first the unbonding entries
//! and redelegations begun at or after `h` that have not matured (each by
//! `fraction` of what it began with), then the validator's own tokens for
//! the rest. The total never exceeds `fraction × power × 10⁶`. The tokens
//! go to `sink` (the DAO treasury, the slashing module's choice), out of
//! the pool that held them, so the pools keep holding exactly the stake.

use deai_types::{module::BlockTime, Address, StateWrite};

use crate::{
    dec::{mul_div_ceil, mul_div_floor, Dec, ONE_ATOMICS},
    hooks::Notify,
    ops::{move_tokens, pool_of, remove_if_empty},
    types::Validator,
    StakingError, StakingRead, StakingWrite, POWER_REDUCTION,
};

/// What a slash took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slashed {
    /// From unbonding entries.
    pub unbonding: u128,
    /// From redelegated stake.
    pub redelegated: u128,
    /// From the validator's tokens.
    pub validator: u128,
}

impl Slashed {
    /// The total. A slash's parts never sum past the tokens it was
    /// allowed to take (a `u128`), so the saturation never happens.
    pub fn total(&self) -> u128 {
        self.unbonding
            .saturating_add(self.redelegated)
            .saturating_add(self.validator)
    }
}

/// Slashes validator `op` for an infraction at `infraction_height` when
/// it had `power`, by `fraction`, sending the tokens to `sink`.
pub fn slash<S: StateWrite + ?Sized>(
    state: &mut S,
    op: &Address,
    (infraction_height, power): (u64, u64),
    fraction: Dec,
    now: BlockTime,
    sink: &Address,
    n: &mut Notify<'_>,
) -> Result<Slashed, StakingError> {
    let denom = state.staking_params()?.bond_denom;
    let Some(mut v) = state.validator(op)? else {
        return Ok(Slashed::default());
    };
    let fraction = fraction.min(Dec::ONE);
    let mut remaining = fraction
        .mul_int_floor(u128::from(power) * POWER_REDUCTION)
        .unwrap_or(u128::MAX);
    let mut slashed = Slashed::default();

    // Unbonding entries begun at or after the infraction, not yet matured.
    for mut u in unbondings_from(state, op, infraction_height)? {
        let mut taken = 0u128;
        for e in &mut u.entries {
            if e.creation_height < infraction_height || e.completion_time <= now || remaining == 0 {
                continue;
            }
            let take = fraction
                .mul_int_floor(e.initial_balance)
                .unwrap_or(u128::MAX)
                .min(e.balance)
                .min(remaining);
            // `take` is at most both the entry's balance and what is left
            // to take, and what is taken never sums past the first
            // `remaining`: none of these can fail.
            e.balance = e.balance.checked_sub(take).ok_or_else(overflow)?;
            remaining = remaining.checked_sub(take).ok_or_else(overflow)?;
            taken = taken.checked_add(take).ok_or_else(overflow)?;
        }
        if taken > 0 {
            move_tokens(state, &crate::not_bonded_pool(), sink, taken, &denom)?;
            state.put_unbonding(&u)?;
            slashed.unbonding = slashed.unbonding.checked_add(taken).ok_or_else(overflow)?;
        }
    }

    // Redelegations out of `op` begun at or after the infraction: the
    // stake now sits at the destination, so shares are taken there.
    for r in redelegations_from(state, op, infraction_height)? {
        for e in &r.entries {
            if e.creation_height < infraction_height || e.completion_time <= now || remaining == 0 {
                continue;
            }
            let Some(mut dst) = state.validator(&r.dst)? else {
                continue;
            };
            let Some(mut d) = state.delegation(&r.delegator, &r.dst)? else {
                continue;
            };
            let want = Dec::from_atomics(
                mul_div_floor(
                    e.shares_dst.atomics(),
                    fraction.atomics(),
                    crate::dec::ONE_ATOMICS,
                )
                .unwrap_or(0),
            );
            let mut shares = want.min(d.shares);
            let mut tokens = dst.tokens_for_shares(shares);
            if tokens > remaining {
                // Take only what is left to take.
                shares = Dec::from_atomics(
                    mul_div_floor(remaining, dst.shares.atomics(), dst.tokens.max(1)).unwrap_or(0),
                )
                .min(shares);
                tokens = dst.tokens_for_shares(shares);
            }
            if shares.is_zero() {
                continue;
            }
            let before = dst.clone();
            d.shares = d.shares.checked_sub(shares).unwrap_or(Dec::ZERO);
            dst.shares = dst.shares.checked_sub(shares).unwrap_or(Dec::ZERO);
            // `tokens_for_shares` never gives more than the validator holds.
            dst.tokens = dst.tokens.checked_sub(tokens).ok_or_else(overflow)?;
            n.before_delegation_modified(state, &r.delegator, &r.dst)?;
            state.put_delegation(&d)?;
            state.put_validator(&dst, Some(&before))?;
            n.after_delegation_modified(state, &r.delegator, &r.dst)?;
            move_tokens(state, &pool_of(dst.status), sink, tokens, &denom)?;
            remove_if_empty(state, &dst, n)?;
            remaining = remaining.saturating_sub(tokens);
            // `tokens` is at most `remaining` (taken down to it above), so
            // the parts never sum past the first `remaining`.
            slashed.redelegated = slashed
                .redelegated
                .checked_add(tokens)
                .ok_or_else(overflow)?;
        }
        // The entries stay: the stake still may not move again until they mature.
    }

    // The rest from the validator's own tokens.
    v = state.validator(op)?.unwrap_or(v);
    let take = remaining.min(v.tokens);
    if take > 0 {
        // Every delegation loses this fraction of its value (rounded up,
        // so none is credited more stake than its shares still hold).
        let lost = mul_div_ceil(take, ONE_ATOMICS, v.tokens)
            .map(Dec::from_atomics)
            .unwrap_or(Dec::ONE)
            .min(Dec::ONE);
        n.before_validator_slashed(state, op, lost)?;
        let before = v.clone();
        v.tokens = v.tokens.checked_sub(take).ok_or_else(overflow)?;
        state.put_validator(&v, Some(&before))?;
        move_tokens(state, &pool_of(v.status), sink, take, &denom)?;
        slashed.validator = take;
    }
    Ok(slashed)
}

/// The distinct records named by the height index under `prefix` from
/// `height` on (each key: the prefix, a big-endian height, then the
/// addresses `read` turns into a record). Entries begun before the
/// infraction are never read, so a slash costs what happened since it,
/// not the validator's whole history.
fn since<S: StakingRead + ?Sized, T>(
    state: &S,
    prefix: &[u8],
    height: u64,
    mut read: impl FnMut(&[u8]) -> Result<Option<T>, StakingError>,
) -> Result<Vec<T>, StakingError> {
    let mut from = prefix.to_vec();
    from.extend_from_slice(&height.to_be_bytes());
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = match &after {
            Some(a) => state.prefix_raw(prefix, Some(a), crate::state::PAGE)?,
            // The first key at or past `height`: strictly after the byte
            // string just below it.
            None => match height.checked_sub(1) {
                None => state.prefix_raw(prefix, None, crate::state::PAGE)?,
                Some(just_below) => {
                    let mut below = prefix.to_vec();
                    below.extend_from_slice(&just_below.to_be_bytes());
                    below.extend_from_slice(&[0xff; 40]);
                    state.prefix_raw(prefix, Some(&below), crate::state::PAGE)?
                }
            },
        };
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (k, _) in page {
            let addrs = k
                .get(prefix.len().saturating_add(8)..)
                .ok_or_else(|| StakingError::Corrupt("height index key".into()))?
                .to_vec();
            if seen.insert(addrs.clone()) {
                if let Some(t) = read(&addrs)? {
                    out.push(t);
                }
            }
        }
    }
    Ok(out)
}

/// A slash's token arithmetic failing: only a damaged record (or a bug)
/// could make it, for every step is bounded by a `min` or by
/// `tokens_for_shares`.
fn overflow() -> StakingError {
    StakingError::Corrupt("slash arithmetic overflow".into())
}

fn address(bytes: Option<&[u8]>) -> Result<Address, StakingError> {
    Address::from_slice(bytes.unwrap_or_default())
        .map_err(|e| StakingError::Corrupt(format!("height index: {e}")))
}

/// The unbondings from `op` with entries begun at or after `height`.
fn unbondings_from<S: StakingRead + ?Sized>(
    state: &S,
    op: &Address,
    height: u64,
) -> Result<Vec<crate::types::Unbonding>, StakingError> {
    let prefix = crate::state_key::unbondings_by_height(op);
    since(state, &prefix, height, |addrs| {
        state.unbonding(&address(Some(addrs))?, op)
    })
}

/// The redelegations out of `op` with entries begun at or after `height`.
fn redelegations_from<S: StakingRead + ?Sized>(
    state: &S,
    op: &Address,
    height: u64,
) -> Result<Vec<crate::types::Redelegation>, StakingError> {
    let prefix = crate::state_key::redelegations_by_height(op);
    since(state, &prefix, height, |addrs| {
        let (del, dst) = (address(addrs.get(..20))?, address(addrs.get(20..))?);
        state.redelegation(&del, op, &dst)
    })
}

/// Jails `op`'s validator: it leaves the set at the end of the block.
pub fn jail<S: StateWrite + ?Sized>(state: &mut S, op: &Address) -> Result<(), StakingError> {
    let Some(mut v) = state.validator(op)? else {
        return Ok(());
    };
    if !v.jailed {
        let before = v.clone();
        v.jailed = true;
        state.put_validator(&v, Some(&before))?;
    }
    Ok(())
}

/// Unjails `v` (the slashing module checked the jail time): it may join the
/// set again if its operator still holds its promised minimum.
pub fn unjail<S: StateWrite + ?Sized>(state: &mut S, v: &Validator) -> Result<(), StakingError> {
    let own = state
        .delegation(&v.operator, &v.operator)?
        .map_or(0, |d| v.tokens_for_shares(d.shares));
    if own < v.min_self_delegation {
        return Err(StakingError::Insufficient(format!(
            "the operator's own stake {own} is below its minimum {}; delegate more first",
            v.min_self_delegation
        )));
    }
    let before = v.clone();
    let mut after = v.clone();
    after.jailed = false;
    state.put_validator(&after, Some(&before))
}
