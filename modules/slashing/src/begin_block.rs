//! Start of block: evidence of double-signing, then every vote of the last
//! commit, counted against its validator's signing window, then a bounded
//! share of the marks older window generations left. Only staked
//! validators are tracked (the fixed validators genesis names hold no
//! stake to slash).
//!
//! Cost: one signing record and one window mark per vote of the last
//! commit (at most the set's size), plus one slash per piece of evidence;
//! a slash walks the validator's unbonding delegations and redelegations
//! that are still answerable, and a downtime jail clears the validator's
//! current window (at most `signed_blocks_window` marks). Old generations'
//! marks: at most [`OLD_MARKS_PER_BLOCK`] deleted a block, and two counters
//! read when there are none.

use deai_staking::{slash, types::BondStatus, Notify, StakingRead, ValoperAddress};
use deai_types::{
    module::{BlockInfo, BlockTime, MisbehaviorKind},
    Address, BlockCtx, Event, StateWrite, BASE_DENOM,
};

use crate::{event, SigningInfo, SlashingError, SlashingRead, SlashingWrite};

/// How far a validator update trails the block it was decided in: power at
/// height `h` was set by the block two below it.
const UPDATE_DELAY: u64 = 2;

/// The jail end of a double-signer: never (9999-12-31T23:59:59Z, the SDK's).
pub const FOREVER: BlockTime = BlockTime {
    seconds: 253_402_300_799,
    nanos: 0,
};

/// The most marks of old window generations one block deletes (each
/// generation found empty counts as one): a window change leaves up to
/// `MAX_WINDOW` marks per validator, deleted over later blocks.
pub const OLD_MARKS_PER_BLOCK: usize = 1_000;

fn cons_of(bytes: &[u8]) -> Option<[u8; 20]> {
    bytes.try_into().ok()
}

/// Runs the module's start-of-block work.
pub fn begin_block<S: StateWrite + ?Sized>(
    state: &mut S,
    ctx: &BlockCtx<'_>,
    n: &mut Notify<'_>,
) -> Result<Vec<Event>, SlashingError> {
    let mut events = Vec::new();
    // Both kinds CometBFT reports are equivocation by the validator named:
    // two votes at one height, or a conflicting header it signed for a
    // light-client attack. The SDK's evidence module treats them alike.
    for m in &ctx.info.misbehavior {
        if !matches!(
            m.kind,
            MisbehaviorKind::DuplicateVote | MisbehaviorKind::LightClientAttack
        ) {
            continue;
        }
        let Some(cons) = cons_of(&m.validator) else {
            continue;
        };
        events.extend(double_sign(
            state,
            &cons,
            (m.height, m.power),
            ctx.info.time,
            n,
        )?);
    }
    for vote in &ctx.info.last_commit {
        let Some(cons) = cons_of(&vote.validator) else {
            continue;
        };
        events.extend(liveness(
            state,
            &cons,
            vote.power,
            vote.flag.signed(),
            ctx.info,
            n,
        )?);
    }
    state.delete_old_marks(OLD_MARKS_PER_BLOCK)?;
    Ok(events)
}

/// The staked validator behind consensus address `cons`, if any.
fn validator_of<S: StakingRead + ?Sized>(
    state: &S,
    cons: &[u8; 20],
) -> Result<Option<deai_staking::types::Validator>, SlashingError> {
    match state.validator_by_consensus(cons)? {
        Some(op) => Ok(state.validator(&op)?),
        None => Ok(None),
    }
}

/// Counts one vote of `cons` in its window; a validator past its misses
/// is slashed, jailed and its window restarted.
pub fn liveness<S: StateWrite + ?Sized>(
    state: &mut S,
    cons: &[u8; 20],
    power: u64,
    signed: bool,
    info: &BlockInfo,
    n: &mut Notify<'_>,
) -> Result<Vec<Event>, SlashingError> {
    let Some(v) = validator_of(state, cons)? else {
        return Ok(Vec::new());
    };
    let params = state.slashing_params()?;
    let height = info.height;
    let mut si = state.signing_info(cons)?.unwrap_or(SigningInfo {
        start_height: height,
        index_offset: 0,
        jailed_until: BlockTime::default(),
        tombstoned: false,
        missed: 0,
    });
    let window = params.signed_blocks_window;
    // Stored params are validated (a window of 1 to MAX_WINDOW): a zero
    // window can only be a corrupt record.
    let i = si
        .index_offset
        .checked_rem(window)
        .ok_or_else(|| SlashingError::Corrupt("signed_blocks_window is 0".into()))?;
    // One count a block: u64 cannot run out, and saturating keeps the block
    // going if it ever did.
    si.index_offset = si.index_offset.saturating_add(1);
    let was_missed = state.missed_at(cons, i)?;
    let missed = !signed;
    match (was_missed, missed) {
        (false, true) => {
            state.set_missed(cons, i, true)?;
            // Counts the window's set slots, so at most the window: never saturates.
            si.missed = si.missed.saturating_add(1);
        }
        (true, false) => {
            state.set_missed(cons, i, false)?;
            si.missed = si.missed.saturating_sub(1);
        }
        _ => {}
    }
    let mut events = Vec::new();
    if missed {
        events.push(event::liveness(cons, si.missed, height));
    }
    let past_first_window = height > si.start_height.saturating_add(window);
    if past_first_window && si.missed > params.max_missed()? && !v.jailed {
        // The stake that was bonded when the missing began answers for it.
        let infraction = height.saturating_sub(UPDATE_DELAY);
        let taken = slash::slash(
            state,
            &v.operator,
            (infraction, power),
            params.downtime_fraction()?,
            info.time,
            &deai_treasury::address(),
            n,
        )?;
        slash::jail(state, &v.operator)?;
        si.jailed_until =
            deai_staking::ops::add_seconds(info.time, params.downtime_jail_duration_seconds);
        si.missed = 0;
        si.index_offset = 0;
        si.start_height = height;
        state.clear_missed(cons)?;
        events.push(event::slash(
            cons,
            power,
            "missing_signature",
            taken.total(),
        ));
    }
    state.put_signing_info(cons, &si)?;
    Ok(events)
}

/// Slashes, jails for ever and tombstones the validator of `cons` for
/// signing two blocks at `height`, when it had `power`.
pub fn double_sign<S: StateWrite + ?Sized>(
    state: &mut S,
    cons: &[u8; 20],
    (height, power): (u64, u64),
    now: BlockTime,
    n: &mut Notify<'_>,
) -> Result<Vec<Event>, SlashingError> {
    let Some(v) = validator_of(state, cons)? else {
        return Ok(Vec::new());
    };
    if v.status == BondStatus::Unbonded && v.tokens == 0 {
        return Ok(Vec::new());
    }
    let params = state.slashing_params()?;
    let mut si = state.signing_info(cons)?.unwrap_or(SigningInfo {
        start_height: height,
        index_offset: 0,
        jailed_until: BlockTime::default(),
        tombstoned: false,
        missed: 0,
    });
    if si.tombstoned {
        return Ok(Vec::new());
    }
    let taken = slash::slash(
        state,
        &v.operator,
        (height.saturating_sub(1).max(1), power),
        params.double_sign_fraction()?,
        now,
        &deai_treasury::address(),
        n,
    )?;
    slash::jail(state, &v.operator)?;
    si.jailed_until = FOREVER;
    si.tombstoned = true;
    state.put_signing_info(cons, &si)?;
    Ok(vec![event::slash(
        cons,
        power,
        "double_sign",
        taken.total(),
    )])
}

/// Lets the jailed validator run by `op` back, once its jail time has
/// passed (never after a double-sign) and its operator holds its minimum.
pub fn unjail<S: StateWrite + ?Sized>(
    state: &mut S,
    op: &Address,
    now: BlockTime,
) -> Result<Vec<Event>, SlashingError> {
    let v = state
        .validator(op)?
        .ok_or_else(|| SlashingError::NoValidator(op.to_valoper()))?;
    if !v.jailed {
        return Err(SlashingError::NotJailed(op.to_valoper()));
    }
    let cons = deai_staking::types::consensus_address(&v.pubkey);
    if let Some(si) = state.signing_info(&cons)? {
        if si.tombstoned {
            return Err(SlashingError::Tombstoned(op.to_valoper()));
        }
        if now < si.jailed_until {
            return Err(SlashingError::StillJailed {
                validator: op.to_valoper(),
                until: deai_staking::event::rfc3339(si.jailed_until),
            });
        }
    }
    slash::unjail(state, &v)?;
    Ok(vec![event::unjail(op)])
}

/// The coins string of `amount` bond-denom tokens.
pub fn coins(amount: u128) -> String {
    format!("{amount}{BASE_DENOM}")
}
