//! Events the governance module emits, named as the Cosmos SDK's x/gov
//! where one exists, so explorers and subscriptions find them. Each is a
//! message of `proto/deai/gov/v1/events.proto`, built here and turned into
//! its ABCI form by [`Event::typed`].

use cosmos_sdk_proto::Any;
use deai_bank::event::coins_string;
use deai_proto::gov::v1::{
    EventDelegateVotingPower, EventDelegationPolicy, EventExpeditedConverted,
    EventGovParamsUpdated, EventGovQueueEntryDropped, EventProposalDeposit, EventProposalResult,
    EventProposalVote, EventSubmitProposal, EventVotingPeriodStart, Proposal, VoteOption,
    WeightedOption,
};
use deai_types::{Address, Coin, Event};

use crate::msg::format_weight;

/// `submit_proposal`.
pub fn submit_proposal(id: u64, messages: &[Any]) -> Event {
    Event::typed(&EventSubmitProposal {
        proposal_id: id.to_string(),
        proposal_messages: messages
            .iter()
            .map(|m| m.type_url.as_str())
            .collect::<Vec<_>>()
            .join(","),
    })
}

/// `proposal_deposit`.
pub fn deposit(id: u64, depositor: &Address, amount: &[Coin]) -> Event {
    Event::typed(&EventProposalDeposit {
        proposal_id: id.to_string(),
        depositor: depositor.to_bech32(),
        amount: coins_string(amount),
    })
}

/// `voting_period_start`: the deposit reached the minimum.
pub fn voting_started(p: &Proposal) -> Event {
    Event::typed(&EventVotingPeriodStart {
        proposal_id: p.id.to_string(),
        voting_start_height: p.voting_start_height.to_string(),
        voting_end_height: p.voting_end_height.to_string(),
    })
}

/// `proposal_vote`.
pub fn vote(id: u64, voter: &Address, options: &[WeightedOption]) -> Event {
    Event::typed(&EventProposalVote {
        proposal_id: id.to_string(),
        voter: voter.to_bech32(),
        option: options
            .iter()
            .map(|o| {
                let name = VoteOption::try_from(o.option)
                    .map(|v| {
                        v.as_str_name()
                            .trim_start_matches("VOTE_OPTION_")
                            .to_lowercase()
                    })
                    .unwrap_or_default();
                format!("{name}:{}", format_weight(o.weight))
            })
            .collect::<Vec<_>>()
            .join(","),
    })
}

/// `delegate_voting_power`.
pub fn delegate(delegator: &Address, delegate: Option<&Address>) -> Event {
    Event::typed(&EventDelegateVotingPower {
        delegator: delegator.to_bech32(),
        delegate: delegate.map(|d| d.to_bech32()).unwrap_or_default(),
    })
}

/// `delegation_policy`: a delegate accepts or refuses lent voting power.
pub fn delegation_policy(delegate: &Address, accept: bool) -> Event {
    Event::typed(&EventDelegationPolicy {
        delegate: delegate.to_bech32(),
        accept: accept.to_string(),
    })
}

/// `gov_queue_entry_dropped`: a queue entry named a proposal that does not
/// exist or is no longer in that period; it is removed, not fatal.
pub fn queue_entry_dropped(end: u64, id: u64, why: &str) -> Event {
    Event::typed(&EventGovQueueEntryDropped {
        proposal_id: id.to_string(),
        end_height: end.to_string(),
        reason: why.to_owned(),
    })
}

/// `proposal_result`: a proposal left its deposit or voting period.
pub fn proposal_finished(p: &Proposal, result: &str) -> Event {
    Event::typed(&EventProposalResult {
        proposal_id: p.id.to_string(),
        result: result.to_owned(),
        log: p.failed_reason.clone(),
    })
}

/// `expedited_converted`: an expedited proposal failed and becomes a normal one.
pub fn expedited_converted(p: &Proposal) -> Event {
    Event::typed(&EventExpeditedConverted {
        proposal_id: p.id.to_string(),
        voting_end_height: p.voting_end_height.to_string(),
    })
}

/// `gov_params_updated`.
pub fn params_updated() -> Event {
    Event::typed(&EventGovParamsUpdated {})
}
