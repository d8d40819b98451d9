//! The governance module: proposals that carry messages and execute them if
//! they pass, deposits, token-weighted (and split) votes, delegation of
//! voting power, and tallies with quorum, threshold and veto.
//!
//! Life of a proposal: submitted with an initial deposit (deposit period,
//! `max_deposit_period_blocks`); once deposits reach `min_deposit`, voting
//! begins at that block and lasts `voting_period_blocks` (expedited:
//! shorter, with a higher threshold; an expedited proposal that fails
//! becomes a normal one). Voting power is each voter's udeai in the state
//! committed at the end of the block where voting began (see [`tally`]).
//! When voting ends, [`end_block`] tallies: a passed proposal's messages run
//! atomically through the app (all or none, else the proposal is FAILED
//! with the error); deposits are refunded on pass, fail or rejection and
//! burned on veto or when the deposit period lapses. Periods are counted in
//! blocks, which are block data; end-of-block work reads queues ordered by
//! end height and handles at most `max_proposals_per_block`.
//!
//! Block order: the app calls [`end_block`] after the block's transactions
//! and before the treasury's end block, so a spend a proposal makes is
//! paid in the same block.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod error;
pub mod event;
pub mod genesis;
pub mod msg;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;
pub mod tally;

use cosmos_sdk_proto::Any;
use deai_proto::gov::v1::ProposalStatus;
use deai_types::{Address, Event, StateRead, StateWrite};
pub use error::GovError;
pub use genesis::GovGenesis;
pub use params::GovParams;
pub use state::{GovRead, GovWrite};

/// The name of the governance module account, which holds deposits and is
/// the authority of every message a proposal executes.
pub const MODULE_NAME: &str = "gov";

/// The governance module account.
pub fn address() -> Address {
    Address::module(MODULE_NAME)
}

/// The authority that proposals' messages act as (the module account).
pub fn authority() -> Address {
    address()
}

/// Type URL of `MsgSubmitProposal`.
pub const MSG_SUBMIT_PROPOSAL_TYPE_URL: &str = "/cosmos.gov.v1.MsgSubmitProposal";
/// Type URL of `MsgDeposit`.
pub const MSG_DEPOSIT_TYPE_URL: &str = "/cosmos.gov.v1.MsgDeposit";
/// Type URL of `MsgVote`.
pub const MSG_VOTE_TYPE_URL: &str = "/cosmos.gov.v1.MsgVote";
/// Type URL of `MsgVoteWeighted`.
pub const MSG_VOTE_WEIGHTED_TYPE_URL: &str = "/cosmos.gov.v1.MsgVoteWeighted";
/// Type URL of `MsgCancelProposal`.
pub const MSG_CANCEL_PROPOSAL_TYPE_URL: &str = "/cosmos.gov.v1.MsgCancelProposal";
/// Type URL of `MsgDelegateVotingPower`.
pub const MSG_DELEGATE_TYPE_URL: &str = "/deai.gov.v1.MsgDelegateVotingPower";
/// Type URL of `MsgUpdateParams`.
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/deai.gov.v1.MsgUpdateParams";

/// What governance needs from the app at the end of a block.
pub trait GovHost<S: StateWrite> {
    /// The state committed at the end of a past block.
    type History: StateRead;
    /// The state at the end of block `height`.
    fn history(&self, height: u64) -> Result<Self::History, GovError>;
    /// Accounts whose balances are not voting power (module accounts).
    fn non_voting(&self) -> Vec<Address>;
    /// Runs a passed proposal's messages as the governance account, all or
    /// nothing: on `Err` it must have written nothing.
    fn execute(&self, state: &mut S, height: u64, messages: &[Any]) -> Result<Vec<Event>, String>;
}

/// End-of-block work: expires proposals whose deposit period lapsed and
/// tallies those whose voting period ended.
pub fn end_block<S: StateWrite, H: GovHost<S>>(
    state: &mut S,
    height: u64,
    host: &H,
) -> Result<Vec<Event>, GovError> {
    let params = state.gov_params()?;
    let limit = usize::try_from(params.max_proposals_per_block).unwrap_or(usize::MAX);
    let mut events = Vec::new();

    for (_, id) in state.due(&state_key::deposit_queue_prefix(), height, limit)? {
        let mut p = state.proposal(id)?.ok_or(GovError::UnknownProposal(id))?;
        state.dequeue(&p)?;
        events.extend(msg::settle_deposits(state, &p, params::PPM)?);
        p.status = ProposalStatus::Expired as i32;
        state.put_proposal(&p)?;
        events.push(event::proposal_finished(&p, "expired"));
    }

    for (_, id) in state.due(&state_key::voting_queue_prefix(), height, limit)? {
        let mut p = state.proposal(id)?.ok_or(GovError::UnknownProposal(id))?;
        let history = host.history(p.voting_start_height)?;
        let t = tally::tally(&history, &*state, &p, &host.non_voting())?;
        let decision = tally::decide(&params, p.expedited, &t);
        if p.expedited && decision != tally::Decision::Pass && decision != tally::Decision::Veto {
            // A failed expedited proposal gets the rest of a normal vote.
            state.dequeue(&p)?;
            p.expedited = false;
            p.voting_end_height = p
                .voting_start_height
                .saturating_add(params.voting_period_blocks)
                .max(height + 1);
            state.put_raw(
                state_key::voting_queue(p.voting_end_height, p.id),
                Vec::new(),
            )?;
            state.put_raw(
                state_key::voting_start(p.voting_start_height, p.id),
                Vec::new(),
            )?;
            state.put_proposal(&p)?;
            events.push(event::expedited_converted(&p));
            continue;
        }
        state.dequeue(&p)?;
        p.final_tally = Some(t.to_proto());
        let result = match decision {
            tally::Decision::Veto => {
                events.extend(msg::settle_deposits(state, &p, params::PPM)?);
                p.status = ProposalStatus::Vetoed as i32;
                "vetoed"
            }
            tally::Decision::NoQuorum | tally::Decision::Reject => {
                events.extend(msg::settle_deposits(state, &p, 0)?);
                p.status = ProposalStatus::Rejected as i32;
                if decision == tally::Decision::NoQuorum {
                    p.failed_reason = "quorum not reached".into();
                    "rejected_no_quorum"
                } else {
                    "rejected"
                }
            }
            tally::Decision::Pass => {
                events.extend(msg::settle_deposits(state, &p, 0)?);
                match host.execute(state, height, &p.messages) {
                    Ok(ev) => {
                        events.extend(ev);
                        p.status = ProposalStatus::Passed as i32;
                        "passed"
                    }
                    Err(e) => {
                        p.failed_reason = e;
                        p.status = ProposalStatus::Failed as i32;
                        "failed"
                    }
                }
            }
        };
        state.put_proposal(&p)?;
        events.push(event::proposal_finished(&p, result));
    }
    Ok(events)
}
