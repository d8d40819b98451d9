//! Events the governance module emits, named as the Cosmos SDK's x/gov
//! where one exists, so explorers and subscriptions find them.

use cosmos_sdk_proto::Any;
use deai_bank::event::coins_string;
use deai_proto::gov::v1::{Proposal, VoteOption, WeightedOption};
use deai_types::{Address, Coin, Event};

use crate::msg::format_weight;

/// `submit_proposal`.
pub fn submit_proposal(id: u64, messages: &[Any]) -> Event {
    Event::new("submit_proposal")
        .attr("proposal_id", id.to_string())
        .attr(
            "proposal_messages",
            messages
                .iter()
                .map(|m| m.type_url.as_str())
                .collect::<Vec<_>>()
                .join(","),
        )
}

/// `proposal_deposit`.
pub fn deposit(id: u64, depositor: &Address, amount: &[Coin]) -> Event {
    Event::new("proposal_deposit")
        .attr("proposal_id", id.to_string())
        .attr("depositor", depositor.to_bech32())
        .attr("amount", coins_string(amount))
}

/// `voting_period_start`: the deposit reached the minimum.
pub fn voting_started(p: &Proposal) -> Event {
    Event::new("voting_period_start")
        .attr("proposal_id", p.id.to_string())
        .attr("voting_start_height", p.voting_start_height.to_string())
        .attr("voting_end_height", p.voting_end_height.to_string())
}

/// `proposal_vote`.
pub fn vote(id: u64, voter: &Address, options: &[WeightedOption]) -> Event {
    Event::new("proposal_vote")
        .attr("proposal_id", id.to_string())
        .attr("voter", voter.to_bech32())
        .attr(
            "option",
            options
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
        )
}

/// `delegate_voting_power`.
pub fn delegate(delegator: &Address, delegate: Option<&Address>) -> Event {
    Event::new("delegate_voting_power")
        .attr("delegator", delegator.to_bech32())
        .attr(
            "delegate",
            delegate.map(|d| d.to_bech32()).unwrap_or_default(),
        )
}

/// `delegation_policy`: a delegate accepts or refuses lent voting power.
pub fn delegation_policy(delegate: &Address, accept: bool) -> Event {
    Event::new("delegation_policy")
        .attr("delegate", delegate.to_bech32())
        .attr("accept", accept.to_string())
}

/// `gov_queue_entry_dropped`: a queue entry named a proposal that does not
/// exist or is no longer in that period; it is removed, not fatal.
pub fn queue_entry_dropped(end: u64, id: u64, why: &str) -> Event {
    Event::new("gov_queue_entry_dropped")
        .attr("proposal_id", id.to_string())
        .attr("end_height", end.to_string())
        .attr("reason", why)
}

/// `proposal_result`: a proposal left its deposit or voting period.
pub fn proposal_finished(p: &Proposal, result: &str) -> Event {
    Event::new("proposal_result")
        .attr("proposal_id", p.id.to_string())
        .attr("result", result)
        .attr("log", p.failed_reason.clone())
}

/// `expedited_converted`: an expedited proposal failed and becomes a normal one.
pub fn expedited_converted(p: &Proposal) -> Event {
    Event::new("expedited_converted")
        .attr("proposal_id", p.id.to_string())
        .attr("voting_end_height", p.voting_end_height.to_string())
}

/// `gov_params_updated`.
pub fn params_updated() -> Event {
    Event::new("gov_params_updated")
}
