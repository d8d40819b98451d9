//! Our governance records as the Cosmos SDK's `cosmos.gov.v1` types, for
//! the wallets and explorers (Keplr, Ping.pub, CosmJS) that read the SDK's
//! gov queries. The choices where the two differ:
//!
//! * **Periods and times.** We count deposit and voting periods in blocks
//!   and keep heights; the SDK has timestamps and durations. A block time
//!   is not known until the block is made, so an end time could only be a
//!   guess from an assumed block interval. Every time and duration field is
//!   left unset rather than filled with a guess (or the epoch) that a
//!   wallet would show as a real date. The heights are not written into
//!   `metadata` either: that is the proposer's own field (often JSON or a
//!   link that explorers parse), so it is passed through unchanged. The
//!   heights and block counts are served by `deai.gov.v1.Query/Proposal`
//!   and `deai.gov.v1.Query/Params`.
//! * **Statuses.** The SDK has no VETOED, CANCELLED or EXPIRED: it marks a
//!   vetoed proposal REJECTED (deposits burned) and deletes cancelled and
//!   lapsed ones. We keep them, so all three show as REJECTED, with
//!   `failed_reason` saying which it was (unless it already holds a reason).
//! * **Ratios** are parts per million here and `LegacyDec` strings with 18
//!   decimals there (334000 ppm is `"0.334000000000000000"`), exactly.
//! * **Tallies** drop our `total_power`; a proposal whose voting has not
//!   ended carries a zero tally, as the SDK's does (`TallyResult` has the
//!   running count).

use cosmos_sdk_proto::cosmos::gov::v1 as sdk;
use deai_proto::gov::v1 as pb;

use crate::{params::PPM, state::coins_to_proto, tally::WEIGHT_ONE, GovParams};

/// `ppm` parts per million as an SDK decimal with 18 places.
pub fn ppm_dec(ppm: u64) -> String {
    // 10^12 turns millionths into units of 10^-18; below 2^64 for ppm <= PPM.
    let scaled = u128::from(ppm % PPM) * 1_000_000_000_000;
    format!("{}.{scaled:018}", ppm / PPM)
}

/// A vote weight (units of 1e-18) as an SDK decimal with 18 places.
pub fn weight_dec(weight: u64) -> String {
    format!("{}.{:018}", weight / WEIGHT_ONE, weight % WEIGHT_ONE)
}

/// The SDK status that stands for ours.
pub fn status(s: pb::ProposalStatus) -> sdk::ProposalStatus {
    use pb::ProposalStatus as P;
    match s {
        P::Unspecified => sdk::ProposalStatus::Unspecified,
        P::DepositPeriod => sdk::ProposalStatus::DepositPeriod,
        P::VotingPeriod => sdk::ProposalStatus::VotingPeriod,
        P::Passed => sdk::ProposalStatus::Passed,
        P::Failed => sdk::ProposalStatus::Failed,
        P::Rejected | P::Vetoed | P::Cancelled | P::Expired => sdk::ProposalStatus::Rejected,
    }
}

/// Why a proposal shown as REJECTED is not simply rejected by the vote.
fn rejection_note(s: pb::ProposalStatus) -> Option<&'static str> {
    match s {
        pb::ProposalStatus::Vetoed => Some("vetoed: deposits burned"),
        pb::ProposalStatus::Cancelled => Some("cancelled by the proposer"),
        pb::ProposalStatus::Expired => {
            Some("the deposit period ended without the minimum deposit: deposits burned")
        }
        _ => None,
    }
}

/// A tally in the SDK's form.
pub fn tally(t: &pb::TallyResult) -> sdk::TallyResult {
    sdk::TallyResult {
        yes_count: t.yes.clone(),
        abstain_count: t.abstain.clone(),
        no_count: t.no.clone(),
        no_with_veto_count: t.no_with_veto.clone(),
    }
}

fn zero_tally() -> sdk::TallyResult {
    sdk::TallyResult {
        yes_count: "0".into(),
        abstain_count: "0".into(),
        no_count: "0".into(),
        no_with_veto_count: "0".into(),
    }
}

/// A proposal in the SDK's form (see the module docs for what differs).
pub fn proposal(p: pb::Proposal) -> sdk::Proposal {
    let ours = p.status();
    let failed_reason = match rejection_note(ours) {
        Some(note) if p.failed_reason.is_empty() => note.to_string(),
        _ => p.failed_reason,
    };
    sdk::Proposal {
        id: p.id,
        messages: p.messages,
        status: status(ours) as i32,
        final_tally_result: Some(p.final_tally.as_ref().map_or_else(zero_tally, tally)),
        submit_time: None,
        deposit_end_time: None,
        total_deposit: p.total_deposit,
        voting_start_time: None,
        voting_end_time: None,
        metadata: p.metadata,
        title: p.title,
        summary: p.summary,
        proposer: p.proposer,
        expedited: p.expedited,
        failed_reason,
    }
}

/// A vote option in the SDK's numbering (the same as ours, spelled out).
fn option(o: i32) -> sdk::VoteOption {
    match pb::VoteOption::try_from(o) {
        Ok(pb::VoteOption::Yes) => sdk::VoteOption::Yes,
        Ok(pb::VoteOption::Abstain) => sdk::VoteOption::Abstain,
        Ok(pb::VoteOption::No) => sdk::VoteOption::No,
        Ok(pb::VoteOption::NoWithVeto) => sdk::VoteOption::NoWithVeto,
        Ok(pb::VoteOption::Unspecified) | Err(_) => sdk::VoteOption::Unspecified,
    }
}

/// A vote in the SDK's form: weights as decimals.
pub fn vote(v: pb::Vote) -> sdk::Vote {
    sdk::Vote {
        proposal_id: v.proposal_id,
        voter: v.voter,
        options: v
            .options
            .iter()
            .map(|o| sdk::WeightedVoteOption {
                option: option(o.option) as i32,
                weight: weight_dec(o.weight),
            })
            .collect(),
        metadata: v.metadata,
    }
}

/// A deposit in the SDK's form (the same fields).
pub fn deposit(d: pb::Deposit) -> sdk::Deposit {
    sdk::Deposit {
        proposal_id: d.proposal_id,
        depositor: d.depositor,
        amount: d.amount,
    }
}

/// Our parameters in the SDK's form. Periods are in blocks, so the
/// durations are unset (see the module docs).
pub fn params(p: &GovParams) -> sdk::Params {
    sdk::Params {
        min_deposit: coins_to_proto(&p.min_deposit),
        max_deposit_period: None,
        voting_period: None,
        quorum: ppm_dec(p.quorum_ppm),
        threshold: ppm_dec(p.threshold_ppm),
        veto_threshold: ppm_dec(p.veto_threshold_ppm),
        min_initial_deposit_ratio: ppm_dec(p.min_initial_deposit_ppm),
        // Cancelling burns this share of the proposer's deposit: burned,
        // so there is no destination address.
        proposal_cancel_ratio: ppm_dec(p.cancel_burn_ppm),
        proposal_cancel_dest: String::new(),
        expedited_voting_period: None,
        expedited_threshold: ppm_dec(p.expedited_threshold_ppm),
        expedited_min_deposit: coins_to_proto(&p.expedited_min_deposit),
        // Deposits are refunded when quorum is missed, burned when the
        // deposit period lapses and on veto.
        burn_vote_quorum: false,
        burn_proposal_deposit_prevote: true,
        burn_vote_veto: true,
        // Any positive deposit is taken; there is no per-deposit minimum.
        min_deposit_ratio: ppm_dec(0),
    }
}

/// The `Params` answer: `params`, and the deprecated per-topic params that
/// v1 still fills for older clients.
#[allow(deprecated)] // voting_params, deposit_params and tally_params are deprecated but served
pub fn params_response(p: &GovParams) -> sdk::QueryParamsResponse {
    let params = params(p);
    sdk::QueryParamsResponse {
        voting_params: Some(sdk::VotingParams {
            voting_period: None,
        }),
        deposit_params: Some(sdk::DepositParams {
            min_deposit: params.min_deposit.clone(),
            max_deposit_period: None,
        }),
        tally_params: Some(sdk::TallyParams {
            quorum: params.quorum.clone(),
            threshold: params.threshold.clone(),
            veto_threshold: params.veto_threshold.clone(),
        }),
        params: Some(params),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_weights_read_as_sdk_decimals() {
        assert_eq!(ppm_dec(334_000), "0.334000000000000000");
        assert_eq!(ppm_dec(1), "0.000001000000000000");
        assert_eq!(ppm_dec(0), "0.000000000000000000");
        assert_eq!(ppm_dec(PPM), "1.000000000000000000");
        assert_eq!(weight_dec(WEIGHT_ONE), "1.000000000000000000");
        assert_eq!(weight_dec(WEIGHT_ONE / 4), "0.250000000000000000");
        assert_eq!(weight_dec(1), "0.000000000000000001");
    }

    #[test]
    fn every_status_of_ours_maps_to_one_of_the_sdks() {
        use pb::ProposalStatus as P;
        let all = [
            (P::DepositPeriod, sdk::ProposalStatus::DepositPeriod),
            (P::VotingPeriod, sdk::ProposalStatus::VotingPeriod),
            (P::Passed, sdk::ProposalStatus::Passed),
            (P::Rejected, sdk::ProposalStatus::Rejected),
            (P::Failed, sdk::ProposalStatus::Failed),
            (P::Vetoed, sdk::ProposalStatus::Rejected),
            (P::Cancelled, sdk::ProposalStatus::Rejected),
            (P::Expired, sdk::ProposalStatus::Rejected),
        ];
        for (ours, theirs) in all {
            assert_eq!(status(ours), theirs, "{ours:?}");
            assert_eq!(
                rejection_note(ours).is_some(),
                matches!(ours, P::Vetoed | P::Cancelled | P::Expired)
            );
        }
    }
}
