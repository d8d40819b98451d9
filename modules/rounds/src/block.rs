//! End-of-block work: each round whose phase ends at this height moves on
//! (join -> submit -> reveal) or finishes: unmasking, the learning rule,
//! evaluation, the acceptance gate, payment or refund.
//!
//! Work per block is proportional to what is due: the rounds whose phase
//! ends now (at most [`MAX_OPEN_ROUNDS`](crate::params::MAX_OPEN_ROUNDS),
//! read from a queue keyed by height), and for each finishing round its
//! submitters' vectors, one ChaCha20 expansion per revealed seed, and two
//! bounded evaluations (or, for an evaluation set of texts, two compute
//! jobs submitted, then two job records read each block until both have
//! settled).

use deai_bank::{BankRead, BankWrite};
use deai_proto::rounds::v1 as pb;
use deai_types::{Address, Coin, Event, Overlay, StateWrite, BASE_DENOM};

use crate::{
    dp, event, head, mask, msg::commitment_slot, params, state_key, ClassifyJob, JobOutcome,
    Providers, RoundsError, RoundsRead, RoundsWrite, STATUS_ACCEPTED, STATUS_EVALUATING,
    STATUS_FAILED, STATUS_JOINING, STATUS_REJECTED, STATUS_REVEALING, STATUS_SUBMITTING,
};

/// The block being ended, and the app's view of compute.
#[derive(Clone, Copy)]
pub struct EndBlock<'a> {
    /// Its height.
    pub height: u64,
    /// The previous block's app hash.
    pub prev_app_hash: &'a [u8],
    /// Compute's providers, models and jobs.
    pub providers: &'a dyn Providers,
}

/// Moves every round whose phase ends at `b.height` on. Errors only on a
/// storage failure or the module's own corrupt records.
pub fn end_block(state: &mut dyn StateWrite, b: EndBlock<'_>) -> Result<Vec<Event>, RoundsError> {
    let height = b.height;
    let mut events = Vec::new();
    for id in state.due_at(height)? {
        state.delete_raw(state_key::due(height, id))?;
        let Some(mut round) = state.round(id)? else {
            return Err(RoundsError::Corrupt(format!("due round {id} is missing")));
        };
        let min = round.config.as_ref().map_or(0, |c| c.min_contributors);
        match round.status.as_str() {
            STATUS_JOINING if round.joined < min => {
                events.extend(fail(
                    state,
                    &mut round,
                    STATUS_FAILED,
                    "too few contributors joined",
                )?);
            }
            STATUS_JOINING => {
                round.status = STATUS_SUBMITTING.into();
                state.put_raw(state_key::due(round.submit_end, id), Vec::new())?;
                state.put_round(&round)?;
            }
            STATUS_SUBMITTING if round.submitted < min => {
                events.extend(fail(
                    state,
                    &mut round,
                    STATUS_FAILED,
                    "too few contributors submitted",
                )?);
            }
            STATUS_SUBMITTING if round.submitted < round.joined => {
                round.status = STATUS_REVEALING.into();
                state.put_raw(state_key::due(round.reveal_end, id), Vec::new())?;
                state.put_round(&round)?;
            }
            STATUS_SUBMITTING | STATUS_REVEALING => {
                events.extend(finish(state, &mut round, b)?);
            }
            STATUS_EVALUATING => {
                events.extend(evaluated(state, &mut round, b)?);
            }
            other => {
                return Err(RoundsError::Corrupt(format!(
                    "round {id} is due in status {other}"
                )))
            }
        }
    }
    Ok(events)
}

/// The unmasked sum of a round's submitted updates (each clipped and
/// noised by its contributor), as signed integers: the masked vectors
/// summed mod 2^32, the masks of revealed seeds removed, each word read as
/// an i32. `Ok(Err(why))` when the round cannot be unmasked: a pair of
/// submitters committed different seeds, or a seed with a dropped peer was
/// not revealed.
pub fn aggregate<S: RoundsRead + ?Sized>(
    state: &S,
    round: &pb::Round,
) -> Result<Result<Vec<i64>, String>, RoundsError> {
    let classes = round.config.as_ref().map_or(0, |c| c.classes);
    let words = params::words(classes);
    let contributors = state.contributors(round.id)?;
    let addrs = contributors
        .iter()
        .map(|c| {
            c.address
                .parse::<Address>()
                .map_err(|e| RoundsError::Corrupt(format!("contributor address: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut sum = vec![0u32; words];
    for (i, c) in contributors.iter().enumerate() {
        if !c.submitted {
            continue;
        }
        let update = state
            .update(round.id, c.index)?
            .filter(|u| u.len() == words)
            .ok_or_else(|| RoundsError::Corrupt(format!("update of {} missing", c.address)))?;
        for (s, u) in sum.iter_mut().zip(&update) {
            *s = s.wrapping_add(*u);
        }
        for (j, peer) in contributors.iter().enumerate() {
            if j == i {
                continue;
            }
            if peer.submitted {
                // Both committed to their shared seed: they must agree, or
                // their masks cannot cancel.
                if j > i && commitment(c, peer.index) != commitment(peer, c.index) {
                    return Ok(Err(format!(
                        "{} and {} committed to different seeds",
                        c.address, peer.address
                    )));
                }
                continue;
            }
            let Some(seed) = state.revealed(round.id, c.index, peer.index)? else {
                return Ok(Err(format!(
                    "{} did not reveal its seed with {}",
                    c.address, peer.address
                )));
            };
            let m = mask::expand(&seed, words);
            let added = mask::adds(&addrs[i], &addrs[j]);
            for (s, w) in sum.iter_mut().zip(&m) {
                *s = if added {
                    s.wrapping_sub(*w)
                } else {
                    s.wrapping_add(*w)
                };
            }
        }
    }
    Ok(Ok(sum.into_iter().map(|w| i64::from(w as i32)).collect()))
}

/// Contributor `c`'s commitment for the peer with join index `peer`.
fn commitment(c: &pb::Contributor, peer: u32) -> Option<&[u8]> {
    let slot = commitment_slot(c.index, peer)?;
    c.seed_commitments
        .get(slot.saturating_mul(32)..slot.saturating_add(1).saturating_mul(32))
}

/// The bound the chain checks the unmasked sum against: its squared L2 norm
/// must be at most `(n ceil(sqrt(B)) + ceil(sqrt(2 d sigma^2 + d)))^2`,
/// where `sigma^2 = 2 n lambda` is the summed noise's variance per
/// coordinate (its squared norm has mean `d sigma^2`; twice that is dozens
/// of standard deviations out for `d >= 768`).
pub fn aggregate_bound_squared(round: &pb::Round, n: u32) -> u128 {
    let c = round.config.clone().unwrap_or_default();
    let d = u128::try_from(params::words(c.classes)).unwrap_or(u128::MAX);
    let r = u128::from(c.clip_l2_squared).isqrt().saturating_add(1);
    let sigma2 = u128::from(round.noise_lambda)
        .saturating_mul(2)
        .saturating_mul(u128::from(n));
    let noise = d
        .saturating_mul(sigma2)
        .saturating_mul(2)
        .saturating_add(d)
        .isqrt()
        .saturating_add(1);
    let b = u128::from(n).saturating_mul(r).saturating_add(noise);
    b.saturating_mul(b)
}

fn finish(
    state: &mut dyn StateWrite,
    round: &mut pb::Round,
    b: EndBlock<'_>,
) -> Result<Vec<Event>, RoundsError> {
    let sum = match aggregate(state, round)? {
        Ok(sum) => sum,
        Err(why) => return fail(state, round, STATUS_FAILED, &why),
    };
    let c = round.config.clone().unwrap_or_default();
    // The sum is public from here on (anyone can recompute it from the
    // chain): its privacy cost counts whatever the gate decides.
    let rdp = dp::round_rdp_q32(
        c.clip_l2_squared,
        c.classes,
        round.noise_lambda,
        round.submitted,
    );
    round.epsilon_micro = dp::epsilon_micro(&rdp);
    let norm2 = sum.iter().fold(0u128, |acc, &s| {
        acc.saturating_add(
            u128::from(s.unsigned_abs()).saturating_mul(u128::from(s.unsigned_abs())),
        )
    });
    if norm2 > aggregate_bound_squared(round, round.submitted) {
        return fail(
            state,
            round,
            STATUS_REJECTED,
            "the unmasked sum exceeds what clipped updates and the noise can reach",
        );
    }
    let parent = state
        .head(c.parent_version, c.classes)?
        .ok_or_else(|| RoundsError::Corrupt(format!("head of version {}", c.parent_version)))?;
    let new = head::apply(&parent, &sum, c.lr_num, c.lr_den);
    let eval = state
        .eval_set(round.id)?
        .ok_or_else(|| RoundsError::Corrupt(format!("eval set of round {}", round.id)))?;
    if !eval.texts.is_empty() {
        return submit_evaluation(state, round, &c, &eval, &parent, &new, b);
    }
    round.parent_correct = head::correct(&parent, &eval.embeddings, &eval.labels);
    round.new_correct = head::correct(&new, &eval.embeddings, &eval.labels);
    gate(state, round, &c, &new, &rdp, b.height)
}

/// The acceptance gate on the two evaluations recorded in `round`, then
/// acceptance (on a scratch layer) or rejection.
fn gate(
    state: &mut dyn StateWrite,
    round: &mut pb::Round,
    c: &pb::RoundConfig,
    new: &[i32],
    rdp: &[u64],
    height: u64,
) -> Result<Vec<Event>, RoundsError> {
    if round.new_correct < round.parent_correct {
        return fail(
            state,
            round,
            STATUS_REJECTED,
            "the new head is less accurate than its parent on the evaluation set",
        );
    }
    // Payment and the new version on a scratch layer: a payment the bank
    // refuses (a balance overflow) rejects the round instead of halting.
    let mut scratch = Overlay::new(&*state);
    match accept(&mut scratch, round, c, new, rdp, height) {
        Ok(events) => {
            let changes = scratch.into_changes();
            state_apply(state, changes)?;
            Ok(events)
        }
        Err(RoundsError::State(e)) => Err(RoundsError::State(e)),
        Err(RoundsError::Corrupt(e)) => Err(RoundsError::Corrupt(e)),
        Err(other) => {
            drop(scratch);
            fail(state, round, STATUS_FAILED, &other.to_string())
        }
    }
}

/// Submits the two evaluation jobs of a round whose evaluation set is
/// texts (the parent head's, then the new head's; both or neither, on a
/// scratch layer), keeps the new head as the round's candidate and waits
/// for them (`EVALUATING`, looked at again every block). A job compute
/// refuses (too few providers now, a price below its minimum) fails the
/// round with the pool back to the treasury.
fn submit_evaluation(
    state: &mut dyn StateWrite,
    round: &mut pb::Round,
    c: &pb::RoundConfig,
    eval: &pb::EvalSet,
    parent: &[i32],
    new: &[i32],
    b: EndBlock<'_>,
) -> Result<Vec<Event>, RoundsError> {
    let price = Coin::parse_amount(&c.eval_price_per_replica)
        .map_err(|e| RoundsError::Corrupt(format!("eval_price_per_replica: {e}")))?;
    let requester = crate::module_address();
    let mut scratch = Overlay::new(&*state);
    let mut ids = [0u64; 2];
    let mut events = Vec::new();
    for (slot, h) in ids.iter_mut().zip([parent, new]) {
        let submitted = match b.providers.classify_input(c.classes, h, &eval.texts) {
            Ok((input, _)) => b.providers.submit_classify(
                &mut scratch,
                ClassifyJob {
                    requester: &requester,
                    model_id: &c.base_model_id,
                    input: &input,
                    replication: c.eval_replication,
                    price_per_replica: price,
                    height: b.height,
                    prev_app_hash: b.prev_app_hash,
                },
            )?,
            Err(why) => Err(why),
        };
        match submitted {
            Ok((id, job_events)) => {
                *slot = id;
                events.extend(job_events);
            }
            Err(why) => {
                drop(scratch);
                return fail(
                    state,
                    round,
                    STATUS_FAILED,
                    &format!("the compute market refused the evaluation job: {why}"),
                );
            }
        }
    }
    let changes = scratch.into_changes();
    state_apply(state, changes)?;
    state.put_raw(state_key::candidate(round.id), mask::encode_head(new))?;
    [round.parent_eval_job, round.new_eval_job] = ids;
    round.status = STATUS_EVALUATING.into();
    state.put_raw(
        state_key::due(b.height.saturating_add(1), round.id),
        Vec::new(),
    )?;
    state.put_round(round)?;
    events.push(event::evaluating(round));
    Ok(events)
}

/// An `EVALUATING` round: once both evaluation jobs have settled, scores
/// the agreed outputs (one class byte per text) against the labels and
/// runs the gate; until then, looks again when they may have settled (two
/// job records read per look, at most 4 rounds). A job that settled
/// without an agreed, well-formed output fails the round.
fn evaluated(
    state: &mut dyn StateWrite,
    round: &mut pb::Round,
    b: EndBlock<'_>,
) -> Result<Vec<Event>, RoundsError> {
    let outcomes = [
        b.providers.job_outcome(&*state, round.parent_eval_job)?,
        b.providers.job_outcome(&*state, round.new_eval_job)?,
    ];
    let [JobOutcome::Settled {
        output: parent_out,
        spent: parent_spent,
    }, JobOutcome::Settled {
        output: new_out,
        spent: new_spent,
    }] = outcomes
    else {
        // Looked at again when both may have settled: the later reveal
        // deadline of an assigned job, else the next block.
        let at = outcomes
            .iter()
            .filter_map(|o| match o {
                JobOutcome::Running { settles_at } => Some(*settles_at),
                JobOutcome::Settled { .. } => None,
            })
            .fold(b.height.saturating_add(1), u64::max);
        state.put_raw(state_key::due(at, round.id), Vec::new())?;
        return Ok(Vec::new());
    };
    let spent = parent_spent
        .checked_add(new_spent)
        .ok_or_else(|| RoundsError::Corrupt("evaluation cost overflow".into()))?;
    round.eval_spent = spent.to_string();
    let c = round.config.clone().unwrap_or_default();
    let eval = state
        .eval_set(round.id)?
        .ok_or_else(|| RoundsError::Corrupt(format!("eval set of round {}", round.id)))?;
    let score = |out: Option<Vec<u8>>| {
        out.filter(|o| {
            o.len() == eval.labels.len() && o.iter().all(|&class| u32::from(class) < c.classes)
        })
        .map(|o| {
            let hits = o.iter().zip(&eval.labels).filter(|(a, b)| a == b).count();
            u32::try_from(hits).unwrap_or(u32::MAX)
        })
    };
    let (Some(parent_correct), Some(new_correct)) = (score(parent_out), score(new_out)) else {
        return fail(
            state,
            round,
            STATUS_FAILED,
            "an evaluation job settled without an agreed result of one class per text",
        );
    };
    round.parent_correct = parent_correct;
    round.new_correct = new_correct;
    let new = state
        .get_raw(&state_key::candidate(round.id))?
        .and_then(|b| mask::decode_head(&b))
        .ok_or_else(|| RoundsError::Corrupt(format!("candidate head of round {}", round.id)))?;
    let rdp = dp::round_rdp_q32(
        c.clip_l2_squared,
        c.classes,
        round.noise_lambda,
        round.submitted,
    );
    gate(state, round, &c, &new, &rdp, b.height)
}

fn state_apply(
    state: &mut dyn StateWrite,
    changes: deai_types::Changes,
) -> Result<(), RoundsError> {
    for (k, v) in changes {
        match v {
            Some(v) => state.put_raw(k, v)?,
            None => state.delete_raw(k)?,
        }
    }
    Ok(())
}

fn accept(
    state: &mut dyn StateWrite,
    round: &mut pb::Round,
    c: &pb::RoundConfig,
    new: &[i32],
    rdp: &[u64],
    height: u64,
) -> Result<Vec<Event>, RoundsError> {
    let parent_rdp = match c.parent_version {
        0 => Vec::new(),
        p => {
            state
                .version(p)?
                .ok_or_else(|| RoundsError::Corrupt(format!("version {p}")))?
                .cumulative_rdp_q32
        }
    };
    let cumulative = dp::compose(&parent_rdp, rdp);
    let vid = state.take_id(state_key::next_version_id())?;
    let version = pb::ModelVersion {
        id: vid,
        base_model_id: c.base_model_id.clone(),
        parent: c.parent_version,
        round_id: round.id,
        classes: c.classes,
        hidden: params::HIDDEN,
        contributors: round.submitted,
        eval_correct: round.new_correct,
        eval_count: round.eval_count,
        parent_eval_correct: round.parent_correct,
        epsilon_micro: round.epsilon_micro,
        cumulative_epsilon_micro: dp::epsilon_micro(&cumulative),
        cumulative_rdp_q32: cumulative,
        height,
        eval_set_hash: c.eval_set_hash.clone(),
        eval_job: round.new_eval_job,
    };
    deai_types::StateWriteExt::put_proto(state, state_key::version(vid), &version)?;
    state.put_raw(state_key::head(vid), mask::encode_head(new))?;
    // Equal shares of the pool to every submitter; the remainder to the treasury.
    let pool = available(state, round, c)?;
    let each = pool
        .checked_div(u128::from(round.submitted))
        .ok_or_else(|| RoundsError::Corrupt("an accepted round without submitters".into()))?;
    let mut events = Vec::new();
    let mut paid = 0u128;
    let s = &mut *state;
    for who in s.contributors(round.id)? {
        if !who.submitted || each == 0 {
            continue;
        }
        let addr: Address = who
            .address
            .parse()
            .map_err(|e| RoundsError::Corrupt(format!("contributor address: {e}")))?;
        events.extend(
            s.send(
                &crate::module_address(),
                &addr,
                &[Coin::new(each, BASE_DENOM)],
            )
            .map_err(|e| RoundsError::Funds(e.to_string()))?,
        );
        paid = paid
            .checked_add(each)
            .ok_or_else(|| RoundsError::Corrupt("payout overflow".into()))?;
    }
    let rest = pool
        .checked_sub(paid)
        .ok_or_else(|| RoundsError::Corrupt("paid more than the pool".into()))?;
    if rest > 0 {
        events.extend(
            s.send(
                &crate::module_address(),
                &crate::treasury_address(),
                &[Coin::new(rest, BASE_DENOM)],
            )
            .map_err(|e| RoundsError::Funds(e.to_string()))?,
        );
    }
    round.status = STATUS_ACCEPTED.into();
    round.new_version = vid;
    round.paid_each = each.to_string();
    events.extend(close(s, round)?);
    Ok(events)
}

fn pool_of(c: &pb::RoundConfig) -> Result<u128, RoundsError> {
    let amount = c
        .reward_pool
        .as_ref()
        .map(|p| p.amount.as_str())
        .unwrap_or("0");
    Coin::parse_amount(amount).map_err(|e| RoundsError::Corrupt(format!("reward pool: {e}")))
}

fn pool_amount(state: &dyn StateWrite) -> Result<u128, RoundsError> {
    state
        .balance(&crate::module_address(), BASE_DENOM)
        .map_err(|e| RoundsError::Corrupt(format!("rounds balance: {e}")))
}

/// What is left of a round's pool: the pool less what its evaluation jobs
/// paid providers (never more than the account holds).
fn available(
    state: &dyn StateWrite,
    round: &pb::Round,
    c: &pb::RoundConfig,
) -> Result<u128, RoundsError> {
    let spent = if round.eval_spent.is_empty() {
        0
    } else {
        Coin::parse_amount(&round.eval_spent)
            .map_err(|e| RoundsError::Corrupt(format!("eval_spent: {e}")))?
    };
    Ok(pool_amount(state)?.min(pool_of(c)?.saturating_sub(spent)))
}

/// Ends `round` as `status` with `reason`: the pool goes back to the
/// treasury and nobody is paid.
fn fail(
    state: &mut dyn StateWrite,
    round: &mut pb::Round,
    status: &str,
    reason: &str,
) -> Result<Vec<Event>, RoundsError> {
    let c = round.config.clone().unwrap_or_default();
    let pool = available(state, round, &c)?;
    let mut events = Vec::new();
    if pool > 0 {
        let s = &mut *state;
        events.extend(
            s.send(
                &crate::module_address(),
                &crate::treasury_address(),
                &[Coin::new(pool, BASE_DENOM)],
            )
            .map_err(|e| RoundsError::Corrupt(format!("refund to the treasury: {e}")))?,
        );
    }
    round.status = status.into();
    round.reason = reason.into();
    round.paid_each = "0".into();
    events.extend(close(state, round)?);
    Ok(events)
}

/// Records a finished round, frees its slot and drops its bulky records
/// (the masked updates and the evaluation set: the transactions that
/// carried them remain in the chain's history, and the set's hash in the
/// round's config).
fn close(state: &mut dyn StateWrite, round: &pb::Round) -> Result<Vec<Event>, RoundsError> {
    for c in state.contributors(round.id)? {
        state.delete_raw(state_key::update(round.id, c.index))?;
    }
    state.delete_raw(state_key::eval_set(round.id))?;
    state.delete_raw(state_key::candidate(round.id))?;
    state.put_round(round)?;
    let open = state.open_count()?;
    state.put_open_count(open.saturating_sub(1))?;
    Ok(vec![event::finished(round)])
}
