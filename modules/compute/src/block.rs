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
    BlockCtx, ComputeError, ComputeParams, ComputeRead, ComputeWrite,
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
/// `candidates` must be in a fixed order (the providers' key order). Returns
/// `None` if there are fewer than `r` candidates with positive weight.
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

/// Assigns providers to the jobs waiting since earlier blocks (lowest id
/// first, at most `max_assignments_per_block` examined). A job with fewer
/// than `R` eligible providers waits; once it has waited more than
/// `max_pending_blocks`, or once its deadline leaves too little time for its
/// phases ([`crate::deadline::place`]), it expires and its escrow is refunded.
pub fn begin_block<S: StateWrite>(
    state: &mut S,
    ctx: &BlockCtx,
) -> Result<Vec<Event>, ComputeError> {
    let params = state.compute_params()?;
    let pending = state.pending_jobs(usize_of(params.max_assignments_per_block))?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    // Every provider is read once per block: assignment is linear in the
    // provider count for each job examined.
    let eligible: Vec<(Address, u128)> = state
        .providers(None, usize::MAX)?
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| !p.is_jailed(ctx.height) && p.bond >= params.min_provider_bond)
        .map(|p| (p.address, p.bond))
        .collect();
    let mut events = Vec::new();
    for id in pending {
        let Some(mut job) = state.job(id)? else {
            state.remove_pending(id)?;
            continue;
        };
        if job.status != JobStatus::Pending {
            state.remove_pending(id)?;
            continue;
        }
        if job.submitted_height >= ctx.height {
            continue;
        }
        let Some((commit_deadline, reveal_deadline)) =
            crate::deadline::place(ctx.height, job.deadline, &params)?
        else {
            expire(state, &mut job, ctx.height, "deadline", &mut events)?;
            continue;
        };
        let candidates: Vec<(Address, u128)> = eligible
            .iter()
            .copied()
            .filter(|(a, _)| *a != job.requester)
            .collect();
        let drawn = select_providers(
            &ctx.prev_app_hash,
            id,
            &candidates,
            usize_of(job.replication),
        );
        let Some(drawn) = drawn else {
            let waited = ctx.height.saturating_sub(job.submitted_height);
            if waited > params.max_pending_blocks {
                expire(state, &mut job, ctx.height, "no_providers", &mut events)?;
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
        job.assigned_height = ctx.height;
        job.commit_deadline = commit_deadline;
        job.reveal_deadline = reveal_deadline;
        for a in &drawn {
            let mut p = state
                .provider(a)?
                .ok_or_else(|| ComputeError::ProviderNotFound(a.to_bech32()))?;
            p.open_jobs = p
                .open_jobs
                .checked_add(1)
                .ok_or_else(|| overflow("open jobs"))?;
            state.put_provider(&p)?;
        }
        state.remove_pending(id)?;
        state.push_settlement(job.reveal_deadline, id)?;
        state.put_job(&job)?;
        events.push(event::job_assigned(&job));
    }
    Ok(events)
}

/// Settles jobs whose reveal deadline has come (at most
/// `max_settlements_per_block`; the rest wait for the next block), then pays
/// out due unbondings and releases due jail terms (the same bound each).
pub fn end_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx) -> Result<Vec<Event>, ComputeError> {
    let params = state.compute_params()?;
    let limit = usize_of(params.max_settlements_per_block);
    let mut events = Vec::new();
    for (deadline, id) in state.due_settlements(ctx.height, limit)? {
        state.remove_settlement(deadline, id)?;
        let Some(mut job) = state.job(id)? else {
            continue;
        };
        if job.status != JobStatus::Assigned {
            continue;
        }
        events.extend(settle(state, &mut job, &params, ctx.height)?);
        state.put_job(&job)?;
    }
    for u in state.due_unbondings(ctx.height, limit)? {
        state.remove_unbonding(u.completion_height, &u.provider)?;
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
    for (h, addr) in state.due_jail_releases(ctx.height, limit)? {
        state.remove_jail_release(h, &addr)?;
        if let Some(mut p) = state.provider(&addr)? {
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
    state.remove_pending(job.id)?;
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

/// Takes `ppm` of `provider`'s bond to the treasury; returns the amount.
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

/// Jails `provider` until `height + jail_period` (extending a longer term never shortens it).
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
    let until = height
        .checked_add(params.jail_period)
        .ok_or_else(|| overflow("jail height"))?;
    if until <= p.jailed_until {
        return Ok(());
    }
    if p.jailed_until > 0 {
        state.remove_jail_release(p.jailed_until, provider)?;
    }
    p.jailed_until = until;
    state.put_provider(&p)?;
    state.push_jail_release(until, provider)?;
    events.push(event::provider_jailed(provider, until));
    Ok(())
}

/// Settles an assigned job at `height`. If strictly more than half of `R`
/// revealed the same result hash, that result is final: each provider who
/// revealed it gets the price from escrow plus `reward_per_work_unit × work
/// units` minted; each who revealed another result loses
/// `slash_fraction_wrong`. Without such a majority the job is disputed (or
/// expired, if nobody revealed) and nobody who revealed is slashed. In both cases providers who never
/// committed or never revealed lose `slash_fraction_missed` and are jailed,
/// and whatever escrow is left goes back to the requester. The caller
/// stores the job and keeps the settlement queue.
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
        *n = n.checked_add(1).ok_or_else(|| overflow("tally"))?;
    }
    let majority = tally
        .iter()
        .find(|(_, n)| n.saturating_mul(2) > u64::from(job.replication))
        .map(|(h, _)| *h);
    let reward = params
        .reward_per_work_unit
        .checked_mul(u128::from(job.work_units))
        .ok_or_else(|| overflow("reward"))?;
    let assignments = std::mem::take(&mut job.assignments);
    for a in &assignments {
        match (a.result_hash, majority) {
            (Some(h), Some(m)) if h == m => {
                job.escrow = job
                    .escrow
                    .checked_sub(job.price_per_replica)
                    .ok_or_else(|| overflow("escrow below the price"))?;
                events.extend(state.send(
                    &crate::module_address(),
                    &a.provider,
                    &udeai(job.price_per_replica),
                )?);
                if reward > 0 {
                    events.extend(state.mint(&a.provider, &udeai(reward))?);
                }
                events.push(event::provider_paid(
                    job.id,
                    &a.provider,
                    job.price_per_replica,
                    reward,
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
    job.result_hash = majority;
    job.status = if majority.is_some() {
        JobStatus::Finalized
    } else if tally.is_empty() {
        JobStatus::Expired
    } else {
        JobStatus::Disputed
    };
    job.settled_height = height;
    let refund = refund_escrow(state, job, &mut events)?;
    events.push(event::job_settled(job, refund));
    Ok(events)
}
