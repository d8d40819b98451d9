//! Events of the rounds module, each a message of `proto/deai/rounds/v1/events.proto`.

use deai_proto::rounds::v1 as pb;
use deai_types::{Address, Event};

/// `round_opened`.
pub fn opened(r: &pb::Round, pool: &str) -> Event {
    let c = r.config.clone().unwrap_or_default();
    Event::typed(&pb::EventRoundOpened {
        round_id: r.id.to_string(),
        base_model_id: c.base_model_id,
        parent_version: c.parent_version.to_string(),
        reward_pool: pool.to_string(),
        join_end: r.join_end.to_string(),
        submit_end: r.submit_end.to_string(),
        reveal_end: r.reveal_end.to_string(),
    })
}

/// `round_joined`.
pub fn joined(id: u64, who: &Address, index: u32) -> Event {
    Event::typed(&pb::EventRoundJoined {
        round_id: id.to_string(),
        contributor: who.to_bech32(),
        index: index.to_string(),
    })
}

/// `round_update_submitted`.
pub fn submitted(id: u64, who: &Address) -> Event {
    Event::typed(&pb::EventRoundUpdateSubmitted {
        round_id: id.to_string(),
        contributor: who.to_bech32(),
    })
}

/// `round_seeds_revealed`.
pub fn revealed(id: u64, who: &Address, count: usize) -> Event {
    Event::typed(&pb::EventRoundSeedsRevealed {
        round_id: id.to_string(),
        contributor: who.to_bech32(),
        count: count.to_string(),
    })
}

/// `round_evaluating`.
pub fn evaluating(r: &pb::Round) -> Event {
    Event::typed(&pb::EventRoundEvaluating {
        round_id: r.id.to_string(),
        parent_eval_job: r.parent_eval_job.to_string(),
        new_eval_job: r.new_eval_job.to_string(),
    })
}

/// `round_finished`.
pub fn finished(r: &pb::Round) -> Event {
    Event::typed(&pb::EventRoundFinished {
        round_id: r.id.to_string(),
        status: r.status.clone(),
        reason: r.reason.clone(),
        new_version: r.new_version.to_string(),
        parent_correct: r.parent_correct.to_string(),
        new_correct: r.new_correct.to_string(),
        epsilon_micro: r.epsilon_micro.to_string(),
        paid_each: r.paid_each.clone(),
    })
}
