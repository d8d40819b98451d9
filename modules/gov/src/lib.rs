//! The governance module: proposals that carry messages and execute them if
//! they pass, deposits, token-weighted (and split) votes, delegation of
//! voting power, and tallies with quorum, threshold and veto.
//!
//! Life of a proposal: submitted with an initial deposit (deposit period,
//! `max_deposit_period_blocks`); once deposits reach `min_deposit`, voting
//! begins at that block and lasts `voting_period_blocks` (expedited:
//! shorter, with a higher threshold; an expedited proposal that fails
//! becomes a normal one). Voting power is each voter's udeai, liquid,
//! staked or unbonding, in the state committed at the end of the block
//! where voting began, plus liquid balances lent to it (see [`tally`]).
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
//!
//! What may stop a block: [`end_block`] returns an error only when the node
//! itself fails — its store cannot be read or written (I/O error, disk
//! full, corruption), or it no longer keeps the state of the height where a
//! vote began (`HistoryUnavailable`: a node pruned too far; every honest
//! node has it, so the fault is local and a restart with the history
//! fixes it). Those must stop the node: carrying on would diverge from the
//! network. Everything users or governance can put in state is handled
//! without an error: a proposal whose messages fail is FAILED; a proposal
//! whose tally or deposit settlement cannot complete is FAILED with the
//! reason and an event, its changes dropped; a queue entry naming no
//! proposal is dropped with an event; heights saturate; and every
//! parameter is bounded ([`params::GovParams::validate`]) to values the code
//! runs with.
//!
//! Cost: the queues are keyed by end height and read from a stored cursor
//! one height at a time ([`GovWrite::take_due`]), so a block never walks the
//! deletion markers the versioned store keeps for entries removed earlier;
//! a vote and a tally cost the same however many accounts delegate to a
//! voter, and reading a voter's stake reads at most
//! [`deai_staking::MAX_DELEGATIONS_PER_DELEGATOR`] delegations and as many
//! unbondings ([`tally`]).

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod component;
pub mod error;
pub mod event;
pub mod genesis;
pub mod msg;
pub mod params;
pub mod query;
pub mod sdk;
pub mod state;
pub mod state_key;
pub mod tally;

pub use component::GovModule;
use cosmos_sdk_proto::Any;
use deai_proto::gov::v1::{Proposal, ProposalStatus};
use deai_types::{Address, Event, NonVoting, Overlay, StateRead, StateWrite};
pub use error::GovError;
pub use genesis::GovGenesis;
pub use params::GovParams;
pub use state::{GovRead, GovWrite, Queue};

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

/// Whether a passed proposal acts with `msg`'s authority: the governance
/// account signs it, or the treasury pays for it (a treasury-funded job).
pub fn acts_as_governance(msg: &dyn deai_types::ModuleMsg) -> bool {
    msg.signer() == authority() || msg.paid_by_treasury()
}

/// Most messages one proposal may carry (checked when it is decoded, before
/// its messages are; the `max_messages` parameter is checked on execution).
pub const MAX_PROPOSAL_MSGS: usize = 16;

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
/// Type URL of `MsgSetDelegationPolicy`.
pub const MSG_SET_DELEGATION_POLICY_TYPE_URL: &str = "/deai.gov.v1.MsgSetDelegationPolicy";
/// Type URL of `MsgUpdateParams`.
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/deai.gov.v1.MsgUpdateParams";

/// What governance needs from the app at the end of a block.
pub trait GovHost<S: StateWrite> {
    /// The state committed at the end of a past block.
    type History: StateRead;
    /// The state at the end of block `height`.
    fn history(&self, height: u64) -> Result<Self::History, GovError>;
    /// What is no one's voting power (module accounts holding fees,
    /// deposits, the treasury; tokens escrowed for other chains),
    /// subtracted from the total. Not the staking pools: their tokens are
    /// their delegators' power.
    fn non_voting(&self) -> NonVoting;
    /// Runs a passed proposal's messages as the governance account, all or
    /// nothing: on `Err` it must have written nothing.
    fn execute(&self, state: &mut S, height: u64, messages: &[Any]) -> Result<Vec<Event>, String>;
}

/// Runs `f` on a scratch layer over `state`, keeping its writes only if it
/// succeeds. A fatal error (see [`GovError::is_fatal`]) is returned as the
/// outer error; any other comes back as the inner one, with nothing written.
fn atomically<S: StateWrite, T>(
    state: &mut S,
    f: impl FnOnce(&mut Overlay<&S>) -> Result<T, GovError>,
) -> Result<Result<T, GovError>, GovError> {
    let (result, changes) = {
        let mut layer = Overlay::new(&*state);
        let result = f(&mut layer);
        (result, layer.into_changes())
    };
    match result {
        Ok(v) => {
            for (k, v2) in changes {
                match v2 {
                    Some(v2) => state.put_raw(k, v2)?,
                    None => state.delete_raw(k)?,
                }
            }
            Ok(Ok(v))
        }
        Err(e) if e.is_fatal() => Err(e),
        Err(e) => Ok(Err(e)),
    }
}

/// Ends `p` as FAILED with `why`, taking it out of its queue. Deposits are
/// refunded if that works, else left in escrow (and the event says so).
fn fail<S: StateWrite>(
    state: &mut S,
    mut p: Proposal,
    why: String,
    events: &mut Vec<Event>,
) -> Result<(), GovError> {
    p.failed_reason = why;
    p.status = ProposalStatus::Failed as i32;
    let refunded = atomically(state, |l| {
        l.dequeue(&p)?;
        msg::settle_deposits(l, &p, msg::Burn::Nothing)
    })?;
    match refunded {
        Ok(ev) => events.extend(ev),
        Err(e) => {
            p.failed_reason = format!("{}; deposits not refunded: {e}", p.failed_reason);
            state.dequeue(&p)?;
        }
    }
    state.put_proposal(&p)?;
    events.push(event::proposal_finished(&p, "failed"));
    Ok(())
}

/// End-of-block work: expires proposals whose deposit period lapsed and
/// tallies those whose voting period ended, at most
/// `max_proposals_per_block` of each (the rest wait for the next block).
/// Errors only on the node's own faults; see the crate documentation.
pub fn end_block<S: StateWrite, H: GovHost<S>>(
    state: &mut S,
    height: u64,
    host: &H,
) -> Result<Vec<Event>, GovError> {
    let params = state.gov_params()?;
    let limit = usize::try_from(params.max_proposals_per_block).unwrap_or(usize::MAX);
    let mut events = Vec::new();

    for (end, id) in state.take_due(Queue::Deposit, height, limit)? {
        let Some(p) = state.proposal(id)? else {
            state.delete_raw(state_key::deposit_queue(end, id))?;
            events.push(event::queue_entry_dropped(end, id, "no such proposal"));
            continue;
        };
        if p.status() != ProposalStatus::DepositPeriod || p.deposit_end_height != end {
            state.delete_raw(state_key::deposit_queue(end, id))?;
            events.push(event::queue_entry_dropped(
                end,
                id,
                "not in its deposit period",
            ));
            continue;
        }
        let mut done = p.clone();
        done.status = ProposalStatus::Expired as i32;
        let r = atomically(state, |l| {
            l.dequeue(&p)?;
            let ev = msg::settle_deposits(l, &p, msg::Burn::Everything)?;
            l.put_proposal(&done)?;
            Ok(ev)
        })?;
        match r {
            Ok(ev) => {
                events.extend(ev);
                events.push(event::proposal_finished(&done, "expired"));
            }
            Err(e) => fail(state, p, format!("expiring: {e}"), &mut events)?,
        }
    }

    for (end, id) in state.take_due(Queue::Voting, height, limit)? {
        let Some(mut p) = state.proposal(id)? else {
            state.delete_raw(state_key::voting_queue(end, id))?;
            events.push(event::queue_entry_dropped(end, id, "no such proposal"));
            continue;
        };
        if p.status() != ProposalStatus::VotingPeriod || p.voting_end_height != end {
            state.delete_raw(state_key::voting_queue(end, id))?;
            events.push(event::queue_entry_dropped(
                end,
                id,
                "not in its voting period",
            ));
            continue;
        }
        let history = host.history(p.voting_start_height)?;
        let t = match tally::tally(&history, &*state, &p, &host.non_voting()) {
            Ok(t) => t,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                fail(state, p, format!("tally: {e}"), &mut events)?;
                continue;
            }
        };
        let decision = tally::decide(&params, p.expedited, &t);
        if p.expedited && decision != tally::Decision::Pass && decision != tally::Decision::Veto {
            // A failed expedited proposal gets the rest of a normal vote.
            state.dequeue(&p)?;
            p.expedited = false;
            p.voting_end_height = p
                .voting_start_height
                .saturating_add(params.voting_period_blocks)
                .max(height.saturating_add(1));
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
        p.final_tally = Some(t.to_proto());
        let burn = if decision == tally::Decision::Veto {
            msg::Burn::Everything
        } else {
            msg::Burn::Nothing
        };
        let before = p.clone();
        let settled = atomically(state, |l| {
            l.dequeue(&before)?;
            msg::settle_deposits(l, &before, burn)
        })?;
        match settled {
            Ok(ev) => events.extend(ev),
            Err(e) => {
                fail(state, p, format!("settling deposits: {e}"), &mut events)?;
                continue;
            }
        }
        let result = match decision {
            tally::Decision::Veto => {
                p.status = ProposalStatus::Vetoed as i32;
                "vetoed"
            }
            tally::Decision::NoQuorum | tally::Decision::Reject => {
                p.status = ProposalStatus::Rejected as i32;
                if decision == tally::Decision::NoQuorum {
                    p.failed_reason = "quorum not reached".into();
                    "rejected_no_quorum"
                } else {
                    "rejected"
                }
            }
            tally::Decision::Pass => match host.execute(state, height, &p.messages) {
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
            },
        };
        state.put_proposal(&p)?;
        events.push(event::proposal_finished(&p, result));
    }
    state.advance_voting_start_floor(height)?;
    Ok(events)
}
