//! The block hooks: assignment in `begin_block`; settlement, unbonding
//! payouts and jail releases in `end_block`; and settlement itself, which a
//! reveal of an `R = 1` job also calls.

use std::collections::BTreeMap;

use deai_bank::BankWrite;
use deai_types::{Address, Coin, Event, StateWrite, BASE_DENOM};

use crate::{
    event,
    params::apply_ppm,
    record::{sha3, Assignment, Hash, Job, JobStatus},
    sampler, BlockCtx, ComputeError, ComputeParams, ComputeRead, ComputeWrite,
};

fn udeai(amount: u128) -> Vec<Coin> {
    vec![Coin::new(amount, BASE_DENOM)]
}

fn usize_of(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn overflow(what: &str) -> ComputeError {
    ComputeError::Overflow(what.to_string())
}

/// Draws `r` distinct providers from `candidates` (address, bond weight),
/// without replacement, each draw weighted by bond. Draw `i` takes the first
/// 16 bytes of `SHA3-256(seed || i as 8 bytes big-endian)` as a big-endian number modulo the
/// remaining total weight (the modulo bias is below 2^-64 for any real
/// supply), where `seed = SHA3-256(prev_app_hash || job id big-endian)`.
/// `candidates` must be in a fixed order. Returns `None` if there are fewer
/// than `r` candidates with positive weight. This is the specification of
/// the draw: `begin_block` makes the same draw over the eligible providers
/// in slot order without the requester, through the sampling index
/// ([`crate::sampler::draw`]), without listing them.
pub fn select_providers(
    prev_app_hash: &[u8],
    job_id: u64,
    candidates: &[(Address, u128)],
    r: usize,
) -> Option<Vec<Address>> {
    let mut pool: Vec<(Address, u128)> =
        candidates.iter().copied().filter(|(_, w)| *w > 0).collect();
    if pool.len() < r {
        return None;
    }
    let seed = sha3(&[prev_app_hash, &job_id.to_be_bytes()]);
    let mut chosen = Vec::with_capacity(r);
    for i in 0..r {
        let total = pool
            .iter()
            .try_fold(0u128, |acc, (_, w)| acc.checked_add(*w))?;
        let draw = sha3(&[&seed, &u64::try_from(i).ok()?.to_be_bytes()]);
        let mut head = [0u8; 16];
        head.copy_from_slice(&draw[..16]);
        let mut x = u128::from_be_bytes(head).checked_rem(total)?;
        let mut pick = pool.len().checked_sub(1)?;
        for (idx, (_, w)) in pool.iter().enumerate() {
            if x < *w {
                pick = idx;
                break;
            }
            x = x.checked_sub(*w)?;
        }
        chosen.push(pool.remove(pick).0);
    }
    Some(chosen)
}

/// Assigns providers to the jobs due for examination at this height (at
/// most `max_assignments_per_block`, earliest due first). Providers are
/// drawn from the sampling index ([`crate::sampler::draw`]): `O(R log N)`
/// reads a job, whatever the provider count `N`. A job that cannot be
/// assigned now (fewer than `R` eligible providers besides its requester)
/// is not left at the head of the queue: it is put back to be examined
/// again after as many blocks as it has already waited, so jobs behind it
/// are examined, and it expires with a full refund once it has waited more
/// than `max_pending_blocks` or its deadline leaves too little time for its
/// phases ([`crate::deadline::place`]).
///
/// Nothing a user or governance can put in state makes this fail: heights
/// saturate and params are read clamped; only a storage error or a broken
/// invariant of the module's own records (see the crate docs) comes out.
pub fn begin_block<S: StateWrite>(
    state: &mut S,
    ctx: &BlockCtx,
) -> Result<Vec<Event>, ComputeError> {
    let params = state.compute_params()?;
    let h = ctx.height;
    let mut events = Vec::new();
    for (_, id) in state.take_due_pending(h, usize_of(params.max_assignments_per_block))? {
        let Some(mut job) = state.job(id)? else {
            continue;
        };
        if job.status != JobStatus::Pending {
            continue;
        }
        if job.submitted_height >= h {
            // Submitted in this very block (only a queue written out of
            // order could show it here): its providers could not know yet.
            state.push_pending(h.saturating_add(1), id)?;
            continue;
        }
        let Some((commit_deadline, reveal_deadline)) =
            crate::deadline::place(h, job.deadline, &params)?
        else {
            expire(state, &mut job, h, "deadline", &mut events)?;
            continue;
        };
        let drawn = sampler::draw(
            state,
            &ctx.prev_app_hash,
            id,
            &job.requester,
            usize_of(job.replication),
        )?;
        let Some(drawn) = drawn else {
            let waited = h.saturating_sub(job.submitted_height);
            if waited > params.max_pending_blocks {
                expire(state, &mut job, h, "no_providers", &mut events)?;
            } else {
                let next = retry_height(&job, h, &params);
                state.push_pending(next, id)?;
                events.push(event::job_waiting(id, next));
            }
            continue;
        };
        job.assignments = drawn
            .iter()
            .map(|a| Assignment {
                provider: *a,
                commitment: None,
                result_hash: None,
                output: Vec::new(),
            })
            .collect();
        job.status = JobStatus::Assigned;
        job.assigned_height = h;
        job.commit_deadline = commit_deadline;
        job.reveal_deadline = reveal_deadline;
        for a in &drawn {
            let mut p = state
                .provider(a)?
                .ok_or_else(|| ComputeError::ProviderNotFound(a.to_bech32()))?;
            p.open_jobs = p.open_jobs.saturating_add(1);
            state.put_provider(&p)?;
        }
        state.push_settlement(job.reveal_deadline, id)?;
        state.put_job(&job)?;
        events.push(event::job_assigned(&job));
    }
    Ok(events)
}

/// When a job that could not be assigned at `h` is examined again: after
/// as many blocks as it has waited (so a job nobody can take is looked at
/// `O(log max_pending_blocks)` times, not every block), but no later than
/// the block where it expires, nor than the last block its deadline allows
/// an assignment in, and never at `h` itself.
fn retry_height(job: &Job, h: u64, params: &ComputeParams) -> u64 {
    let waited = h.saturating_sub(job.submitted_height).max(1);
    let expiry = job
        .submitted_height
        .saturating_add(params.max_pending_blocks)
        .saturating_add(1);
    let mut next = h.saturating_add(waited).min(expiry);
    if let Some(d) = job.deadline {
        let phases = params.min_phase_window.max(1).saturating_mul(2);
        next = next.min(d.saturating_sub(phases));
    }
    next.max(h.saturating_add(1))
}

/// Settles jobs whose reveal deadline has come (at most
/// `max_settlements_per_block`; the rest wait for the next block), then pays
/// out due unbondings and releases due jail terms (the same bound each).
/// Each queue is read from its cursor ([`ComputeWrite::take_due`]), so an
/// empty block costs the same however many entries the queues once held.
pub fn end_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx) -> Result<Vec<Event>, ComputeError> {
    let params = state.compute_params()?;
    let limit = usize_of(params.max_settlements_per_block);
    let mut events = Vec::new();
    for (_, id) in state.take_due_settlements(ctx.height, limit)? {
        let Some(mut job) = state.job(id)? else {
            continue;
        };
        // An R = 1 job settles on its reveal and leaves its entry here.
        if job.status != JobStatus::Assigned {
            continue;
        }
        events.extend(settle(state, &mut job, &params, ctx.height)?);
        state.put_job(&job)?;
    }
    for u in state.take_due_unbondings(ctx.height, limit)? {
        let mut p = state
            .provider(&u.provider)?
            .ok_or_else(|| ComputeError::ProviderNotFound(u.provider.to_bech32()))?;
        p.unbonding = p
            .unbonding
            .checked_sub(u.amount)
            .ok_or_else(|| overflow("unbonding below a queued withdrawal"))?;
        state.put_provider(&p)?;
        events.extend(state.send(&crate::module_address(), &u.provider, &udeai(u.amount))?);
        events.push(event::provider_unbonded(&u.provider, u.amount));
    }
    for (h, addr) in state.take_due_jail_releases(ctx.height, limit)? {
        if let Some(mut p) = state.provider(&addr)? {
            // A term extended later left this entry behind: skip it.
            if p.jailed_until == h {
                p.jailed_until = 0;
                state.put_provider(&p)?;
                events.push(event::provider_unjailed(&addr));
            }
        }
    }
    Ok(events)
}

/// Expires a pending job at `height`, refunding its escrow in full;
/// `reason` is `no_providers` or `deadline`.
fn expire<S: StateWrite>(
    state: &mut S,
    job: &mut Job,
    height: u64,
    reason: &str,
    events: &mut Vec<Event>,
) -> Result<(), ComputeError> {
    job.status = JobStatus::Expired;
    job.settled_height = height;
    let refund = refund_escrow(state, job, events)?;
    state.put_job(job)?;
    events.push(event::job_expired(job.id, &job.requester, refund, reason));
    Ok(())
}

/// Returns the job's remaining escrow to its requester.
fn refund_escrow<S: StateWrite>(
    state: &mut S,
    job: &mut Job,
    events: &mut Vec<Event>,
) -> Result<u128, ComputeError> {
    let refund = job.escrow;
    if refund > 0 {
        events.extend(state.send(&crate::module_address(), &job.requester, &udeai(refund))?);
        job.escrow = 0;
    }
    Ok(refund)
}

/// Takes `ppm` of `provider`'s bond to the treasury.
fn slash<S: StateWrite>(
    state: &mut S,
    job_id: u64,
    provider: &Address,
    ppm: u32,
    reason: &str,
    events: &mut Vec<Event>,
) -> Result<(), ComputeError> {
    let mut p = state
        .provider(provider)?
        .ok_or_else(|| ComputeError::ProviderNotFound(provider.to_bech32()))?;
    let amount = apply_ppm(p.bond, ppm);
    if amount == 0 {
        return Ok(());
    }
    p.bond = p
        .bond
        .checked_sub(amount)
        .ok_or_else(|| overflow("slash above the bond"))?;
    state.put_provider(&p)?;
    events.extend(state.send(
        &crate::module_address(),
        &crate::treasury_address(),
        &udeai(amount),
    )?);
    events.push(event::provider_slashed(job_id, provider, amount, reason));
    Ok(())
}

/// Jails `provider` until `height + jail_period` (saturating; a longer term
/// already running is never shortened).
fn jail<S: StateWrite>(
    state: &mut S,
    provider: &Address,
    params: &ComputeParams,
    height: u64,
    events: &mut Vec<Event>,
) -> Result<(), ComputeError> {
    let mut p = state
        .provider(provider)?
        .ok_or_else(|| ComputeError::ProviderNotFound(provider.to_bech32()))?;
    let until = height.saturating_add(params.jail_period);
    if until <= p.jailed_until {
        return Ok(());
    }
    p.jailed_until = until;
    state.put_provider(&p)?;
    state.push_jail_release(until, provider)?;
    events.push(event::provider_jailed(provider, until));
    Ok(())
}

/// Mints up to `want` to `provider` within the epoch's cap
/// (`max_minted_per_epoch` per `epoch_blocks`); returns what was minted. When
/// the cap leaves less than `want`, the rest is not minted and a
/// `compute_mint_capped` event says so.
fn mint_capped<S: StateWrite>(
    state: &mut S,
    job_id: u64,
    provider: &Address,
    want: u128,
    params: &ComputeParams,
    height: u64,
    events: &mut Vec<Event>,
) -> Result<u128, ComputeError> {
    if want == 0 {
        return Ok(0);
    }
    let epoch = height.checked_div(params.epoch_blocks.max(1)).unwrap_or(0);
    let (stored_epoch, stored_minted) = state.epoch_minted()?;
    let minted = if stored_epoch == epoch {
        stored_minted
    } else {
        0
    };
    let grant = want.min(params.max_minted_per_epoch.saturating_sub(minted));
    if grant > 0 {
        events.extend(state.mint(provider, &udeai(grant))?);
        state.put_epoch_minted(epoch, minted.saturating_add(grant))?;
    }
    if grant < want {
        events.push(event::mint_capped(job_id, provider, want, grant, epoch));
    }
    Ok(grant)
}

/// What a settlement decided, as the `outcome` attribute of `compute_job_settled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A strict majority agreed on a result.
    Result,
    /// A strict majority agreed that the input cannot be run
    /// ([`crate::input::invalid_input_result_hash`]).
    InvalidInput,
    /// Some revealed, but no strict majority agreed.
    Disputed,
    /// Nobody revealed.
    NoReveals,
}

impl Outcome {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Result => "result",
            Outcome::InvalidInput => "invalid_input",
            Outcome::Disputed => "disputed",
            Outcome::NoReveals => "no_reveals",
        }
    }
}

/// Settles an assigned job at `height`.
///
/// * Nobody revealed: nobody is slashed or jailed (an input nobody could
///   run looks exactly like this, and slashing honest providers for it is
///   what an attacker would want); the job expires and the whole escrow goes
///   back to the requester.
/// * Strictly more than half of `R` revealed the same result hash: it is
///   final. Each provider who revealed it gets the price from escrow. Only a
///   job with `R ≥ 3` (so at least two providers agreed independently) and
///   a real result earns a minted reward, `reward_per_work_unit × work
///   units` capped at the price and at what is left of the epoch's
///   `max_minted_per_epoch`. Each who revealed another result loses
///   `slash_fraction_wrong`.
/// * The majority result is the canonical invalid-input answer: the
///   majority is paid the price (they did the check the requester asked
///   for) and nothing is minted. Paying them means a requester cannot make
///   providers work for free with inputs that pass the chain's checks but
///   cannot run; minting nothing means providers gain no more by calling
///   an input invalid than by answering it, and a majority that lies about
///   it could as well lie about any result, which replication already
///   bounds.
/// * Some revealed but no strict majority: the job is disputed and nobody
///   who revealed is slashed.
///
/// Whenever someone revealed, providers who never committed or never
/// revealed lose `slash_fraction_missed` and are jailed. Whatever escrow is
/// left goes back to the requester. The caller stores the job; its
/// settlement queue entry is left to be skipped when due.
pub fn settle<S: StateWrite>(
    state: &mut S,
    job: &mut Job,
    params: &ComputeParams,
    height: u64,
) -> Result<Vec<Event>, ComputeError> {
    let mut events = Vec::new();
    let mut tally = BTreeMap::<Hash, u64>::new();
    for h in job.assignments.iter().filter_map(|a| a.result_hash) {
        let n = tally.entry(h).or_insert(0);
        *n = n.saturating_add(1);
    }
    let majority = tally
        .iter()
        .find(|(_, n)| n.saturating_mul(2) > u64::from(job.replication))
        .map(|(h, n)| (*h, *n));
    let outcome = match majority {
        Some((h, _)) if h == crate::input::invalid_input_result_hash() => Outcome::InvalidInput,
        Some(_) => Outcome::Result,
        None if tally.is_empty() => Outcome::NoReveals,
        None => Outcome::Disputed,
    };
    let independent = job.replication >= 3 && majority.is_some_and(|(_, n)| n >= 2);
    let reward = if outcome == Outcome::Result && independent {
        params
            .reward_per_work_unit
            .saturating_mul(u128::from(job.work_units))
            .min(job.price_per_replica)
    } else {
        0
    };
    let assignments = std::mem::take(&mut job.assignments);
    for a in &assignments {
        match (a.result_hash, majority) {
            _ if outcome == Outcome::NoReveals => {}
            (Some(h), Some((m, _))) if h == m => {
                job.escrow = job
                    .escrow
                    .checked_sub(job.price_per_replica)
                    .ok_or_else(|| overflow("escrow below the price"))?;
                events.extend(state.send(
                    &crate::module_address(),
                    &a.provider,
                    &udeai(job.price_per_replica),
                )?);
                let minted = mint_capped(
                    state,
                    job.id,
                    &a.provider,
                    reward,
                    params,
                    height,
                    &mut events,
                )?;
                events.push(event::provider_paid(
                    job.id,
                    &a.provider,
                    job.price_per_replica,
                    minted,
                ));
                if job.output.is_empty() && !a.output.is_empty() {
                    job.output = a.output.clone();
                }
            }
            (Some(_), Some(_)) => slash(
                state,
                job.id,
                &a.provider,
                params.slash_fraction_wrong_ppm,
                "wrong",
                &mut events,
            )?,
            (Some(_), None) => {}
            (None, _) => {
                slash(
                    state,
                    job.id,
                    &a.provider,
                    params.slash_fraction_missed_ppm,
                    "missed",
                    &mut events,
                )?;
                jail(state, &a.provider, params, height, &mut events)?;
            }
        }
        let mut p = state
            .provider(&a.provider)?
            .ok_or_else(|| ComputeError::ProviderNotFound(a.provider.to_bech32()))?;
        p.open_jobs = p.open_jobs.saturating_sub(1);
        state.put_provider(&p)?;
    }
    // Outputs move to the job (final result only); the per-provider copies go.
    job.assignments = assignments
        .into_iter()
        .map(|a| Assignment {
            output: Vec::new(),
            ..a
        })
        .collect();
    job.result_hash = majority.map(|(h, _)| h);
    job.status = match outcome {
        Outcome::Result | Outcome::InvalidInput => JobStatus::Finalized,
        Outcome::Disputed => JobStatus::Disputed,
        Outcome::NoReveals => JobStatus::Expired,
    };
    job.settled_height = height;
    let refund = refund_escrow(state, job, &mut events)?;
    events.push(event::job_settled(job, refund, outcome.as_str()));
    if job.eval_suite_id != 0 && outcome == Outcome::Result {
        events.extend(crate::suite::record(state, job, height)?);
    }
    Ok(events)
}
