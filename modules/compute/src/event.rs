//! Events the compute module emits, one constructor each. Each is a message
//! of `proto/deai/compute/v1/events.proto`, built here and turned into its
//! ABCI form by [`Event::typed`]. Kinds start with `compute_`; addresses are
//! bech32 and hashes lowercase hex, so a compute node can subscribe with
//! queries such as `compute_job_assigned.provider='deai1…'` or
//! `compute_job_settled.job_id='7'`. An assignment lists each provider as
//! its own `provider` attribute (a `repeated string`), which CometBFT's
//! event query matches individually.

use deai_proto::compute::v1::{
    EventComputeJobAssigned, EventComputeJobExpired, EventComputeJobSettled,
    EventComputeJobSubmitted, EventComputeJobWaiting, EventComputeMintCapped,
    EventComputeModelRegistered, EventComputeModelRemoved, EventComputeParamsUpdated,
    EventComputeProviderBonded, EventComputeProviderJailed, EventComputeProviderPaid,
    EventComputeProviderRegistered, EventComputeProviderSlashed, EventComputeProviderUnbonded,
    EventComputeProviderUnbonding, EventComputeProviderUnjailed, EventComputeResultCommitted,
    EventComputeResultRevealed,
};
use deai_types::{Address, Event};

use crate::record::{Hash, Job};

/// `compute_job_submitted`: a job was submitted and its price escrowed.
pub fn job_submitted(job: &Job) -> Event {
    Event::typed(&EventComputeJobSubmitted {
        job_id: job.id.to_string(),
        requester: job.requester.to_bech32(),
        kind: job.kind.as_str().to_owned(),
        model_id: job.model_id.clone().unwrap_or_default(),
        input_hash: hex::encode(job.input_hash),
        replication: job.replication.to_string(),
        price_per_replica: job.price_per_replica.to_string(),
        escrow: job.escrow.to_string(),
        deadline: job.deadline.unwrap_or(0).to_string(),
    })
}

/// `compute_job_assigned`: providers were drawn for a job; one `provider` attribute each.
pub fn job_assigned(job: &Job) -> Event {
    Event::typed(&EventComputeJobAssigned {
        job_id: job.id.to_string(),
        kind: job.kind.as_str().to_owned(),
        model_id: job.model_id.clone().unwrap_or_default(),
        input_hash: hex::encode(job.input_hash),
        commit_deadline: job.commit_deadline.to_string(),
        reveal_deadline: job.reveal_deadline.to_string(),
        provider: job
            .assignments
            .iter()
            .map(|a| a.provider.to_bech32())
            .collect(),
    })
}

/// `compute_job_expired`: a job was never assigned in time and its escrow
/// refunded; `reason` is `no_providers` (it waited `max_pending_blocks`) or
/// `deadline` (its deadline left too little time for the phases).
pub fn job_expired(job_id: u64, requester: &Address, refund: u128, reason: &str) -> Event {
    Event::typed(&EventComputeJobExpired {
        job_id: job_id.to_string(),
        requester: requester.to_bech32(),
        refund: refund.to_string(),
        reason: reason.to_owned(),
    })
}

/// `compute_result_committed`: a provider committed to a result.
pub fn result_committed(job_id: u64, provider: &Address) -> Event {
    Event::typed(&EventComputeResultCommitted {
        job_id: job_id.to_string(),
        provider: provider.to_bech32(),
    })
}

/// `compute_result_revealed`: a provider revealed its result.
pub fn result_revealed(job_id: u64, provider: &Address, result_hash: &Hash) -> Event {
    Event::typed(&EventComputeResultRevealed {
        job_id: job_id.to_string(),
        provider: provider.to_bech32(),
        result_hash: hex::encode(result_hash),
    })
}

/// `compute_job_waiting`: a pending job found too few eligible providers
/// and will be examined again in the begin_block of `next_try`.
pub fn job_waiting(job_id: u64, next_try: u64) -> Event {
    Event::typed(&EventComputeJobWaiting {
        job_id: job_id.to_string(),
        next_try: next_try.to_string(),
    })
}

/// `compute_mint_capped`: the epoch's `max_minted_per_epoch` left less than
/// the reward due; `minted` of `reward` was minted.
pub fn mint_capped(
    job_id: u64,
    provider: &Address,
    reward: u128,
    minted: u128,
    epoch: u64,
) -> Event {
    Event::typed(&EventComputeMintCapped {
        job_id: job_id.to_string(),
        provider: provider.to_bech32(),
        reward: reward.to_string(),
        minted: minted.to_string(),
        epoch: epoch.to_string(),
    })
}

/// `compute_job_settled`: a job reached its final status (`finalized`,
/// `disputed` or `expired`); `refund` is the escrow returned to the
/// requester; `outcome` is `result`, `invalid_input` (the majority found the
/// input cannot be run), `disputed` or `no_reveals` (nobody revealed: the
/// job is refunded and nobody slashed).
pub fn job_settled(job: &Job, refund: u128, outcome: &str) -> Event {
    let status = match job.status {
        crate::JobStatus::Finalized => "finalized",
        crate::JobStatus::Disputed => "disputed",
        crate::JobStatus::Expired => "expired",
        crate::JobStatus::Pending => "pending",
        crate::JobStatus::Assigned => "assigned",
        crate::JobStatus::Unspecified => "unspecified",
    };
    Event::typed(&EventComputeJobSettled {
        job_id: job.id.to_string(),
        requester: job.requester.to_bech32(),
        status: status.to_owned(),
        result_hash: job.result_hash.map(hex::encode).unwrap_or_default(),
        refund: refund.to_string(),
        outcome: outcome.to_owned(),
    })
}

/// `compute_provider_paid`: an agreeing provider got the price and `reward` minted (0 when none is due).
pub fn provider_paid(job_id: u64, provider: &Address, price: u128, reward: u128) -> Event {
    Event::typed(&EventComputeProviderPaid {
        job_id: job_id.to_string(),
        provider: provider.to_bech32(),
        price: price.to_string(),
        reward: reward.to_string(),
    })
}

/// `compute_provider_slashed`: part of a bond went to the treasury; `reason` is `wrong` or `missed`.
pub fn provider_slashed(job_id: u64, provider: &Address, amount: u128, reason: &str) -> Event {
    Event::typed(&EventComputeProviderSlashed {
        job_id: job_id.to_string(),
        provider: provider.to_bech32(),
        amount: amount.to_string(),
        reason: reason.to_owned(),
    })
}

/// `compute_provider_jailed`: a provider is not assigned work until `until`.
pub fn provider_jailed(provider: &Address, until: u64) -> Event {
    Event::typed(&EventComputeProviderJailed {
        provider: provider.to_bech32(),
        jailed_until: until.to_string(),
    })
}

/// `compute_provider_unjailed`: a provider's jail term ended.
pub fn provider_unjailed(provider: &Address) -> Event {
    Event::typed(&EventComputeProviderUnjailed {
        provider: provider.to_bech32(),
    })
}

/// `compute_provider_registered`: a new provider bonded `bond`.
pub fn provider_registered(provider: &Address, bond: u128, device: &str) -> Event {
    Event::typed(&EventComputeProviderRegistered {
        provider: provider.to_bech32(),
        bond: bond.to_string(),
        device: device.to_owned(),
    })
}

/// `compute_provider_bonded`: a provider added `amount`; `bond` is the new total.
pub fn provider_bonded(provider: &Address, amount: u128, bond: u128) -> Event {
    Event::typed(&EventComputeProviderBonded {
        provider: provider.to_bech32(),
        amount: amount.to_string(),
        bond: bond.to_string(),
    })
}

/// `compute_provider_unbonding`: a provider started withdrawing `amount`, paid at `completion_height`.
pub fn provider_unbonding(provider: &Address, amount: u128, completion_height: u64) -> Event {
    Event::typed(&EventComputeProviderUnbonding {
        provider: provider.to_bech32(),
        amount: amount.to_string(),
        completion_height: completion_height.to_string(),
    })
}

/// `compute_provider_unbonded`: a withdrawal completed and `amount` was paid out.
pub fn provider_unbonded(provider: &Address, amount: u128) -> Event {
    Event::typed(&EventComputeProviderUnbonded {
        provider: provider.to_bech32(),
        amount: amount.to_string(),
    })
}

/// `compute_model_registered`: governance registered a model.
pub fn model_registered(id: &str, name: &str) -> Event {
    Event::typed(&EventComputeModelRegistered {
        model_id: id.to_owned(),
        name: name.to_owned(),
    })
}

/// `compute_model_removed`: governance removed a model.
pub fn model_removed(id: &str) -> Event {
    Event::typed(&EventComputeModelRemoved {
        model_id: id.to_owned(),
    })
}

/// `compute_suite_registered`: governance registered an evaluation suite.
pub fn suite_registered(s: &deai_proto::compute::v1::EvalSuite) -> Event {
    Event::typed(&deai_proto::compute::v1::EventComputeSuiteRegistered {
        suite_id: s.id.to_string(),
        model_id: s.model_id.clone(),
        name: s.name.clone(),
        required: s.required.to_string(),
        hash: hex::encode(&s.hash),
    })
}

/// `compute_suite_removed`: governance removed an evaluation suite.
pub fn suite_removed(s: &deai_proto::compute::v1::EvalSuite) -> Event {
    Event::typed(&deai_proto::compute::v1::EventComputeSuiteRemoved {
        suite_id: s.id.to_string(),
        model_id: s.model_id.clone(),
    })
}

/// `compute_model_evaluated`: a suite's job gave the model's latest evaluation.
pub fn model_evaluated(e: &deai_proto::compute::v1::Evaluation) -> Event {
    Event::typed(&deai_proto::compute::v1::EventComputeModelEvaluated {
        model_id: e.model_id.clone(),
        suite_id: e.suite_id.to_string(),
        job_id: e.job_id.to_string(),
        correct: e.correct.to_string(),
        count: e.count.to_string(),
        passed: e.passed.to_string(),
    })
}

/// `compute_params_updated`: governance replaced the parameters.
pub fn params_updated() -> Event {
    Event::typed(&EventComputeParamsUpdated {})
}
