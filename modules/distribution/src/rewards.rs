//! F1 fee distribution (Ojha, "F1 Fee Distribution", as the Cosmos SDK
//! builds it): each validator's rewards are kept per *period*, the span
//! between two changes of its stake. When a period ends, the rewards it
//! gathered for delegators divided by the validator's tokens are added to a
//! cumulative ratio (rewards per token since the validator began), stored
//! with the period's number. A delegation records the period before it
//! began and its stake; what it earned is its stake times the growth of
//! the ratio since, stepping through the validator's slashes in between
//! (each cuts the stake by its fraction). So rewards cost nothing per
//! block per delegator, and settling one delegation reads only its own
//! records and the slashes since it last settled.
//!
//! Exactness: every division rounds down, so what delegations are owed
//! never exceeds what the validator's outstanding rewards hold, and a
//! withdrawal pays at most that. Whole coins are paid; the fractions left
//! (of a withdrawal, of a period whose validator had no tokens, of a
//! removed validator's books) become dust owed to the treasury, paid once
//! whole. So the module account always holds exactly the outstanding
//! rewards of every validator plus the dust (`check_books`).

use deai_bank::BankWrite;
use deai_staking::{dec::Dec, types::Validator, StakingRead, ValoperAddress};
use deai_types::{Address, Coin, Event, StateRead, StateWrite};

use crate::{
    dec_coins::{stake_times, DecCoins},
    event, state_key as key, DistributionError, DistributionRead, DistributionWrite, StartingInfo,
};

/// Most slashes one settlement reads per page.
const PAGE: usize = 64;

/// `op`'s current period and rewards, creating its books on first use: a
/// zero ratio for period 0, referred to by the current period 1.
fn current_or_init<S: StateWrite + ?Sized>(
    state: &mut S,
    op: &Address,
) -> Result<(u64, DecCoins), DistributionError> {
    if let Some(c) = state.current_rewards(op)? {
        return Ok(c);
    }
    state.put_historical_rewards(op, 0, &DecCoins::new(), 1)?;
    state.put_current_rewards(op, 1, &DecCoins::new())?;
    Ok((1, DecCoins::new()))
}

fn historical<S: StateRead + ?Sized>(
    state: &S,
    op: &Address,
    period: u64,
) -> Result<(DecCoins, u32), DistributionError> {
    state.historical_rewards(op, period)?.ok_or_else(|| {
        DistributionError::Corrupt(format!(
            "no ratio for period {period} of {}",
            op.to_valoper()
        ))
    })
}

/// Adds `delta` (±1) to the references of `op`'s ratio at `period`,
/// removing it when none are left.
fn reference<S: StateWrite + ?Sized>(
    state: &mut S,
    op: &Address,
    period: u64,
    up: bool,
) -> Result<(), DistributionError> {
    let (ratio, refs) = historical(state, op, period)?;
    let refs = if up {
        refs.checked_add(1)
    } else {
        refs.checked_sub(1)
    }
    .ok_or_else(|| DistributionError::Corrupt("reference count".into()))?;
    state.put_historical_rewards(op, period, &ratio, refs)
}

/// Adds `coins` to the dust owed to the treasury.
pub fn add_dust<S: StateWrite + ?Sized>(
    state: &mut S,
    coins: &DecCoins,
) -> Result<(), DistributionError> {
    if coins.is_empty() {
        return Ok(());
    }
    let dust = state.dust()?.saturating_add(coins);
    state.put_dust(&dust)
}

/// Ends `op`'s current period: its gathered rewards divided by the tokens
/// that earned them join the cumulative ratio. Returns the period ended.
/// With no tokens nobody could earn them, so they become dust.
pub fn increment_period<S: StateWrite + ?Sized>(
    state: &mut S,
    op: &Address,
    tokens: u128,
) -> Result<u64, DistributionError> {
    let (period, rewards) = current_or_init(state, op)?;
    let ratio = if tokens == 0 {
        add_dust(state, &rewards)?;
        DecCoins::new()
    } else {
        // What the division drops stays in the outstanding rewards.
        rewards.div_int_floor(tokens)
    };
    let prev = period
        .checked_sub(1)
        .ok_or_else(|| DistributionError::Corrupt("period 0 is never current".into()))?;
    let (cumulative, _) = historical(state, op, prev)?;
    state.put_historical_rewards(op, period, &cumulative.saturating_add(&ratio), 1)?;
    reference(state, op, prev, false)?;
    let next = period
        .checked_add(1)
        .ok_or_else(|| DistributionError::Corrupt("period overflow".into()))?;
    state.put_current_rewards(op, next, &DecCoins::new())?;
    Ok(period)
}

/// What the delegation described by `start` earned up to a cumulative
/// ratio of `end_ratio` (reached at the end of period `end_period`), its
/// stake cut by each slash in between and capped at `now_worth` (its
/// shares' value today).
fn earned<S: StateRead + ?Sized>(
    state: &S,
    op: &Address,
    start: &StartingInfo,
    (end_period, end_ratio): (u64, &DecCoins),
    now_worth: u128,
) -> Result<DecCoins, DistributionError> {
    let mut stake = start.stake;
    let mut from = start.previous_period;
    let (mut from_ratio, _) = historical(state, op, from)?;
    let mut total = DecCoins::new();
    'pages: loop {
        let slashes = state.slashes_after(op, from, PAGE)?;
        if slashes.is_empty() {
            break;
        }
        for s in slashes {
            if s.period > end_period {
                break 'pages;
            }
            let (at, _) = historical(state, op, s.period)?;
            total = total.saturating_add(&stake_times(stake, &at.saturating_sub(&from_ratio)));
            // Rounded down: a delegation never counts more stake than it kept.
            let kept = Dec::ONE.checked_sub(s.fraction).unwrap_or(Dec::ZERO);
            stake = Dec::from_atomics(
                deai_staking::dec::mul_div_floor(
                    stake.atomics(),
                    kept.atomics(),
                    deai_staking::dec::ONE_ATOMICS,
                )
                .unwrap_or(0),
            );
            from = s.period;
            from_ratio = at;
        }
    }
    let worth = Dec::from_int(now_worth).unwrap_or(Dec::from_atomics(u128::MAX));
    let stake = stake.min(worth);
    Ok(total.saturating_add(&stake_times(stake, &end_ratio.saturating_sub(&from_ratio))))
}

/// What `delegator`'s delegation to `v` has earned and not withdrawn, as
/// of now (a query: nothing is written).
pub fn pending<S: StateRead + ?Sized>(
    state: &S,
    delegator: &Address,
    v: &Validator,
) -> Result<DecCoins, DistributionError> {
    let op = v.operator;
    let Some(d) = state.delegation(delegator, &op)? else {
        return Err(DistributionError::NoDelegation {
            delegator: delegator.to_bech32(),
            validator: op.to_valoper(),
        });
    };
    let (Some(start), Some((period, current))) = (
        state.starting_info(delegator, &op)?,
        state.current_rewards(&op)?,
    ) else {
        return Ok(DecCoins::new());
    };
    let prev = period
        .checked_sub(1)
        .ok_or_else(|| DistributionError::Corrupt("period 0 is never current".into()))?;
    let (cumulative, _) = historical(state, &op, prev)?;
    let end = if v.tokens == 0 {
        cumulative
    } else {
        cumulative.saturating_add(&current.div_int_floor(v.tokens))
    };
    let earned = earned(
        state,
        &op,
        &start,
        (period, &end),
        v.tokens_for_shares(d.shares),
    )?;
    Ok(earned.min(&state.outstanding_rewards(&op)?))
}

/// Pays `coins` from the module account to `to`.
fn pay<S: StateWrite + ?Sized>(
    state: &mut S,
    to: &Address,
    coins: &[Coin],
) -> Result<Vec<Event>, DistributionError> {
    if coins.is_empty() {
        return Ok(Vec::new());
    }
    Ok(state.send(&crate::address(), to, coins)?)
}

/// Settles `delegator`'s delegation to `op`: ends the validator's period
/// and pays what the delegation earned (whole coins; the fractions become
/// dust) to the delegator's withdraw address. Its starting info is gone
/// after; [`begin_delegation`] writes a new one. A delegation not yet
/// earning (a new one) only ends the period, so that it shares none of
/// the rewards gathered before it.
pub fn withdraw<S: StateWrite + ?Sized>(
    state: &mut S,
    delegator: &Address,
    op: &Address,
) -> Result<(Vec<Coin>, Vec<Event>), DistributionError> {
    let Some(v) = state.validator(op)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let end = increment_period(state, op, v.tokens)?;
    let Some(start) = state.starting_info(delegator, op)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let worth = match state.delegation(delegator, op)? {
        Some(d) => v.tokens_for_shares(d.shares),
        None => 0,
    };
    let (end_ratio, _) = historical(state, op, end)?;
    let outstanding = state.outstanding_rewards(op)?;
    let rewards = earned(state, op, &start, (end, &end_ratio), worth)?.min(&outstanding);
    let left = outstanding
        .checked_sub(&rewards)
        .ok_or_else(|| DistributionError::Corrupt("outstanding below rewards".into()))?;
    state.put_outstanding_rewards(op, &left)?;
    reference(state, op, start.previous_period, false)?;
    state.put_starting_info(delegator, op, None)?;
    let (coins, fractions) = rewards.truncate();
    add_dust(state, &fractions)?;
    let to = state.withdraw_address(delegator)?;
    let mut events = pay(state, &to, &coins)?;
    events.push(event::withdraw_rewards(&coins, op, delegator));
    Ok((coins, events))
}

/// Starts `delegator`'s delegation to `op` earning from the current
/// period, with its shares' value as its stake (nothing when it is gone).
pub fn begin_delegation<S: StateWrite + ?Sized>(
    state: &mut S,
    delegator: &Address,
    op: &Address,
    height: u64,
) -> Result<(), DistributionError> {
    let (Some(v), Some(d)) = (state.validator(op)?, state.delegation(delegator, op)?) else {
        return Ok(());
    };
    let (period, _) = current_or_init(state, op)?;
    let previous_period = period
        .checked_sub(1)
        .ok_or_else(|| DistributionError::Corrupt("period 0 is never current".into()))?;
    reference(state, op, previous_period, true)?;
    let stake =
        Dec::from_int(v.tokens_for_shares(d.shares)).unwrap_or(Dec::from_atomics(u128::MAX));
    state.put_starting_info(
        delegator,
        op,
        Some(&StartingInfo {
            previous_period,
            stake,
            height,
        }),
    )
}

/// Records that `op` is losing `fraction` of its tokens: its period ends
/// (rewards so far were earned on the old stake) and the slash is kept
/// for the delegations that began before it.
pub fn record_slash<S: StateWrite + ?Sized>(
    state: &mut S,
    op: &Address,
    fraction: Dec,
    height: u64,
) -> Result<(), DistributionError> {
    if fraction.is_zero() {
        return Ok(());
    }
    let Some(v) = state.validator(op)? else {
        return Ok(());
    };
    let period = increment_period(state, op, v.tokens)?;
    reference(state, op, period, true)?;
    state.put_slash(
        op,
        &crate::SlashEvent {
            period,
            fraction,
            height,
        },
    )
}

/// Pays out `op`'s whole commission to the operator's withdraw address;
/// the fractions stay. Returns what was paid.
pub fn withdraw_commission<S: StateWrite + ?Sized>(
    state: &mut S,
    op: &Address,
) -> Result<(Vec<Coin>, Vec<Event>), DistributionError> {
    let commission = state.accumulated_commission(op)?;
    let (coins, rest) = commission.truncate();
    if coins.is_empty() {
        return Err(DistributionError::NoCommission(op.to_valoper()));
    }
    let paid = DecCoins::from_coins(&coins)
        .ok_or_else(|| DistributionError::Corrupt("commission overflow".into()))?;
    let left = state
        .outstanding_rewards(op)?
        .checked_sub(&paid)
        .ok_or_else(|| DistributionError::Corrupt("outstanding below commission".into()))?;
    state.put_outstanding_rewards(op, &left)?;
    state.put_accumulated_commission(op, &rest)?;
    let to = state.withdraw_address(op)?;
    let mut events = pay(state, &to, &coins)?;
    events.push(event::withdraw_commission(&coins));
    Ok((coins, events))
}

/// Closes the books of a removed validator: its whole commission is paid
/// to the operator, everything else it still holds (rounding left in
/// its ratios, commission fractions) becomes dust, and its records go.
pub fn remove_validator<S: StateWrite + ?Sized>(
    state: &mut S,
    op: &Address,
) -> Result<Vec<Event>, DistributionError> {
    let mut events = Vec::new();
    if state.accumulated_commission(op)?.truncate().0.is_empty() {
        state.put_accumulated_commission(op, &DecCoins::new())?;
    } else {
        events.extend(withdraw_commission(state, op)?.1);
    }
    // The current period's rewards are part of the outstanding ones.
    let rest = state.outstanding_rewards(op)?;
    add_dust(state, &rest)?;
    state.put_outstanding_rewards(op, &DecCoins::new())?;
    state.put_accumulated_commission(op, &DecCoins::new())?;
    state.delete_raw(key::current(op))?;
    state.delete_prefix(&key::historical_prefix(op))?;
    state.delete_prefix(&key::slashes_prefix(op))?;
    Ok(events)
}

/// Credits `reward` to validator `v`: its commission rate's share to its
/// commission, the rest to its delegators' current period. Returns the
/// commission, or `None` (and writes nothing) if its books cannot hold more.
pub fn allocate_to_validator<S: StateWrite + ?Sized>(
    state: &mut S,
    v: &Validator,
    reward: &DecCoins,
) -> Result<Option<DecCoins>, DistributionError> {
    let op = v.operator;
    let commission = reward.mul_dec_floor(v.commission.rate.min(Dec::ONE));
    let Some(shared) = reward.checked_sub(&commission) else {
        return Ok(None);
    };
    let (period, current) = current_or_init(state, &op)?;
    let (Some(current), Some(acc), Some(out)) = (
        current.checked_add(&shared),
        state.accumulated_commission(&op)?.checked_add(&commission),
        state.outstanding_rewards(&op)?.checked_add(reward),
    ) else {
        return Ok(None);
    };
    state.put_current_rewards(&op, period, &current)?;
    state.put_accumulated_commission(&op, &acc)?;
    state.put_outstanding_rewards(&op, &out)?;
    Ok(Some(commission))
}

/// Pays the whole coins of the dust to the treasury.
pub fn flush_dust<S: StateWrite + ?Sized>(state: &mut S) -> Result<Vec<Event>, DistributionError> {
    let (coins, rest) = state.dust()?.truncate();
    if coins.is_empty() {
        return Ok(Vec::new());
    }
    state.put_dust(&rest)?;
    pay(state, &deai_treasury::address(), &coins)
}
