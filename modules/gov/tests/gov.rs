//! Governance on an in-memory chain: each "block" runs messages, then
//! `end_block`, then keeps a copy of the state as that height's history.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

use std::{cell::Cell, collections::BTreeMap, rc::Rc};

use cosmos_sdk_proto::{cosmos::gov::v1 as sdk, Any};
use deai_bank::{BankRead, BankWrite};
use deai_gov::{
    msg::GovMsg,
    tally::{self, WEIGHT_ONE},
    GovError, GovHost, GovParams, GovRead, GovWrite,
};
use deai_proto::gov::v1::{ProposalStatus, VoteOption, WeightedOption};
use deai_types::{
    Address, Coin, CountingState, Event, MarkedState, MemState, NonVoting, Overlay, StateWrite,
};
use proptest::prelude::*;

fn udeai(n: u128) -> Vec<Coin> {
    vec![Coin::new(n, "udeai")]
}

fn member(i: u8) -> Address {
    Address::from_slice(&[i; 20]).unwrap()
}

/// A marker message a passing proposal "executes": it pays `to` 1udeai
/// from a reserve, or fails when the type URL says so.
fn marker(ok: bool) -> Any {
    Any {
        type_url: if ok { "/test.Pay" } else { "/test.Fail" }.into(),
        value: vec![],
    }
}

struct Chain {
    state: MemState,
    history: Hist,
    height: u64,
}

/// Past states by height.
#[derive(Default)]
struct Hist(BTreeMap<u64, MemState>);

impl Hist {
    fn non_voting(&self) -> NonVoting {
        vec![deai_gov::address(), member(200)].into()
    }
}

impl<S: StateWrite> GovHost<S> for Hist {
    type History = MemState;
    fn history(&self, height: u64) -> Result<MemState, GovError> {
        self.0
            .get(&height)
            .cloned()
            .ok_or_else(|| GovError::HistoryUnavailable(height, "not kept".into()))
    }
    fn non_voting(&self) -> NonVoting {
        Hist::non_voting(self)
    }
    fn execute(&self, state: &mut S, _h: u64, messages: &[Any]) -> Result<Vec<Event>, String> {
        let mut layer = Overlay::new(&*state);
        for m in messages {
            match m.type_url.as_str() {
                "/test.Pay" => {
                    layer
                        .send(&member(200), &member(100), &udeai(1))
                        .map_err(|e| e.to_string())?;
                }
                // Governance sends everything the governance account holds
                // away: other proposals' deposits with it.
                "/test.DrainGov" => {
                    let all = layer
                        .balance(&deai_gov::address(), "udeai")
                        .map_err(|e| e.to_string())?;
                    layer
                        .send(&deai_gov::address(), &member(100), &udeai(all))
                        .map_err(|e| e.to_string())?;
                }
                _ => return Err("message failed on purpose".into()),
            }
        }
        let changes = layer.into_changes();
        for (k, v) in changes {
            match v {
                Some(v) => state.put_raw(k, v).unwrap(),
                None => state.delete_raw(k).unwrap(),
            }
        }
        Ok(vec![])
    }
}

impl Chain {
    fn new(balances: &[(u8, u128)]) -> Self {
        let mut state = MemState::default();
        state
            .put_gov_params(&GovParams {
                min_deposit: udeai(100),
                expedited_min_deposit: udeai(500),
                max_deposit_period_blocks: 5,
                voting_period_blocks: 10,
                expedited_voting_period_blocks: 3,
                ..GovParams::default()
            })
            .unwrap();
        for (m, b) in balances {
            state.mint(&member(*m), &udeai(*b)).unwrap();
        }
        state.mint(&member(200), &udeai(1_000)).unwrap();
        let mut history = Hist::default();
        history.0.insert(0, state.clone());
        Chain {
            state,
            history,
            height: 1,
        }
    }

    /// Runs `msg` in the current block; a failure writes nothing.
    fn run(&mut self, msg: GovMsg) -> Result<(), GovError> {
        let mut layer = Overlay::new(&self.state);
        let h = self.height;
        let hist = &self.history;
        msg.execute(&mut layer, h, |start| {
            Ok(if start >= h {
                None
            } else {
                hist.0.get(&start).cloned()
            })
        })?;
        let changes = layer.into_changes();
        for (k, v) in changes {
            match v {
                Some(v) => self.state.put_raw(k, v).unwrap(),
                None => self.state.delete_raw(k).unwrap(),
            }
        }
        Ok(())
    }

    fn end_block(&mut self) {
        let history = std::mem::take(&mut self.history);
        deai_gov::end_block(&mut self.state, self.height, &history).unwrap();
        self.history = history;
        self.history.0.insert(self.height, self.state.clone());
        self.height += 1;
    }

    fn blocks(&mut self, n: u64) {
        for _ in 0..n {
            self.end_block();
        }
    }

    fn submit(&mut self, proposer: u8, deposit: u128, messages: Vec<Any>) -> u64 {
        self.run(
            GovMsg::submit(&sdk::MsgSubmitProposal {
                messages,
                initial_deposit: if deposit > 0 {
                    vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
                        denom: "udeai".into(),
                        amount: deposit.to_string(),
                    }]
                } else {
                    vec![]
                },
                proposer: member(proposer).to_bech32(),
                metadata: String::new(),
                title: "Pay the test".into(),
                summary: "A test proposal".into(),
                expedited: false,
            })
            .unwrap(),
        )
        .unwrap();
        self.state
            .proposals(None, usize::MAX)
            .unwrap()
            .last()
            .unwrap()
            .id
    }

    fn vote(&mut self, voter: u8, id: u64, option: VoteOption) -> Result<(), GovError> {
        self.run(GovMsg::Vote {
            id,
            voter: member(voter),
            options: vec![WeightedOption {
                option: option as i32,
                weight: WEIGHT_ONE,
            }],
            metadata: String::new(),
        })
    }

    fn status(&self, id: u64) -> ProposalStatus {
        self.state.proposal(id).unwrap().unwrap().status()
    }
}

#[test]
fn a_passed_proposal_executes_and_refunds_its_deposit() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000), (3, 1_000)]);
    let id = c.submit(1, 100, vec![marker(true)]);
    assert_eq!(c.status(id), ProposalStatus::VotingPeriod);
    assert_eq!(c.state.balance(&member(1), "udeai").unwrap(), 900);
    c.end_block();
    c.vote(1, id, VoteOption::Yes).unwrap();
    c.vote(2, id, VoteOption::Yes).unwrap();
    c.vote(3, id, VoteOption::No).unwrap();
    c.blocks(11);
    assert_eq!(c.status(id), ProposalStatus::Passed);
    assert_eq!(c.state.balance(&member(100), "udeai").unwrap(), 1);
    assert_eq!(c.state.balance(&member(1), "udeai").unwrap(), 1_000);
    c.state.check_supply_invariant().unwrap();
}

#[test]
fn a_passed_proposal_whose_message_fails_applies_nothing() {
    let mut c = Chain::new(&[(1, 1_000)]);
    let id = c.submit(1, 100, vec![marker(true), marker(false)]);
    c.end_block();
    c.vote(1, id, VoteOption::Yes).unwrap();
    c.blocks(11);
    let p = c.state.proposal(id).unwrap().unwrap();
    assert_eq!(p.status(), ProposalStatus::Failed);
    assert_eq!(p.failed_reason, "message failed on purpose");
    assert_eq!(c.state.balance(&member(100), "udeai").unwrap(), 0);
}

#[test]
fn too_few_votes_fail_quorum_and_the_deposit_is_refunded() {
    let mut c = Chain::new(&[(1, 1_000), (2, 10_000)]);
    let id = c.submit(1, 100, vec![marker(true)]);
    c.end_block();
    c.vote(1, id, VoteOption::Yes).unwrap();
    c.blocks(11);
    let p = c.state.proposal(id).unwrap().unwrap();
    assert_eq!(p.status(), ProposalStatus::Rejected);
    assert_eq!(p.failed_reason, "quorum not reached");
    assert_eq!(c.state.balance(&member(1), "udeai").unwrap(), 1_000);
}

#[test]
fn a_veto_rejects_and_burns_the_deposit() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000)]);
    let supply = c.state.supply("udeai").unwrap();
    let id = c.submit(1, 100, vec![marker(true)]);
    c.end_block();
    c.vote(1, id, VoteOption::Yes).unwrap();
    c.vote(2, id, VoteOption::NoWithVeto).unwrap();
    c.blocks(11);
    assert_eq!(c.status(id), ProposalStatus::Vetoed);
    assert_eq!(c.state.balance(&member(1), "udeai").unwrap(), 900);
    assert_eq!(c.state.supply("udeai").unwrap(), supply - 100);
    c.state.check_supply_invariant().unwrap();
}

#[test]
fn a_lapsed_deposit_period_burns_the_deposit() {
    let mut c = Chain::new(&[(1, 1_000)]);
    let id = c.submit(1, 40, vec![]);
    assert_eq!(c.status(id), ProposalStatus::DepositPeriod);
    c.blocks(6);
    assert_eq!(c.status(id), ProposalStatus::Expired);
    assert_eq!(c.state.balance(&member(1), "udeai").unwrap(), 960);
}

#[test]
fn deposits_that_reach_the_minimum_open_voting() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000)]);
    let id = c.submit(1, 40, vec![]);
    c.end_block();
    c.run(GovMsg::Deposit {
        id,
        depositor: member(2),
        amount: udeai(60),
    })
    .unwrap();
    let p = c.state.proposal(id).unwrap().unwrap();
    assert_eq!(p.status(), ProposalStatus::VotingPeriod);
    assert_eq!(p.voting_start_height, 2);
    assert_eq!(c.state.deposits(id, None, 10).unwrap().len(), 2);
}

#[test]
fn votes_after_the_end_and_votes_without_power_are_refused() {
    let mut c = Chain::new(&[(1, 1_000)]);
    let id = c.submit(1, 100, vec![]);
    c.end_block();
    let before = c.state.clone();
    assert!(matches!(
        c.vote(9, id, VoteOption::Yes),
        Err(GovError::NoVotingPower(..))
    ));
    assert_eq!(c.state, before);
    c.blocks(11);
    assert!(matches!(
        c.vote(1, id, VoteOption::Yes),
        Err(GovError::WrongStatus { .. })
    ));
    assert!(matches!(
        c.vote(1, 77, VoteOption::Yes),
        Err(GovError::UnknownProposal(77))
    ));
}

#[test]
fn cancelling_burns_part_of_the_deposit_and_cannot_happen_twice() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000)]);
    let id = c.submit(1, 100, vec![]);
    assert!(matches!(
        c.run(GovMsg::Cancel {
            id,
            proposer: member(2)
        }),
        Err(GovError::Unauthorized(_))
    ));
    c.run(GovMsg::Cancel {
        id,
        proposer: member(1),
    })
    .unwrap();
    assert_eq!(c.status(id), ProposalStatus::Cancelled);
    assert_eq!(c.state.balance(&member(1), "udeai").unwrap(), 950);
    let before = c.state.clone();
    assert!(matches!(
        c.run(GovMsg::Cancel {
            id,
            proposer: member(1)
        }),
        Err(GovError::WrongStatus { .. })
    ));
    assert_eq!(c.state, before);
    c.blocks(12);
    assert_eq!(c.status(id), ProposalStatus::Cancelled);
}

#[test]
fn power_is_read_where_voting_began_so_moved_tokens_do_not_vote_twice() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000), (3, 10)]);
    let id = c.submit(1, 100, vec![]);
    c.end_block();
    // 2 votes no, then hands its tokens to 3, who votes yes with them.
    c.vote(2, id, VoteOption::No).unwrap();
    c.state.send(&member(2), &member(3), &udeai(1_000)).unwrap();
    c.vote(3, id, VoteOption::Yes).unwrap();
    let p = c.state.proposal(id).unwrap().unwrap();
    let t = tally::tally(&c.history.0[&1], &c.state, &p, &c.history.non_voting()).unwrap();
    assert_eq!(t.no, 1_000);
    assert_eq!(t.yes, 10);
}

#[test]
fn tokens_held_here_for_other_chains_are_left_out_of_the_total_power() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000)]);
    let id = c.submit(1, 100, vec![]);
    c.end_block();
    let p = c.state.proposal(id).unwrap().unwrap();
    let hist = &c.history.0[&1];
    let all = tally::tally(hist, &c.state, &p, &c.history.non_voting())
        .unwrap()
        .total_power;
    // 600udeai escrowed by IBC channels: their owners hold vouchers on
    // other chains and cannot vote here, so counting them would only make
    // the quorum harder to reach.
    fn escrowed(_: &dyn deai_types::StateRead) -> Result<u128, deai_types::StateError> {
        Ok(600)
    }
    let mut non_voting = c.history.non_voting();
    non_voting.held_elsewhere.push(deai_types::HeldElsewhere {
        read: escrowed,
        prefix: b"ibchost/transfer/escrow/",
    });
    let t = tally::tally(hist, &c.state, &p, &non_voting).unwrap();
    assert_eq!(t.total_power, all - 600);
}

#[test]
fn a_delegate_votes_with_lent_power_unless_the_delegator_votes() {
    let mut c = Chain::new(&[(1, 1_000), (2, 500), (3, 300)]);
    c.run(GovMsg::Delegate {
        delegator: member(2),
        delegate: Some(member(1)),
    })
    .unwrap();
    c.run(GovMsg::Delegate {
        delegator: member(3),
        delegate: Some(member(1)),
    })
    .unwrap();
    let id = c.submit(1, 100, vec![]);
    c.end_block();
    c.vote(1, id, VoteOption::Yes).unwrap();
    c.vote(3, id, VoteOption::No).unwrap();
    let p = c.state.proposal(id).unwrap().unwrap();
    let t = tally::tally(&c.history.0[&1], &c.state, &p, &c.history.non_voting()).unwrap();
    assert_eq!(t.yes, 900 + 500);
    assert_eq!(t.no, 300);
    assert!(
        GovMsg::delegate(&deai_proto::gov::v1::MsgDelegateVotingPower {
            delegator: member(1).to_bech32(),
            delegate: member(1).to_bech32(),
        })
        .is_err()
    );
}

#[test]
fn a_weighted_vote_splits_power() {
    let m = GovMsg::vote_weighted(&sdk::MsgVoteWeighted {
        proposal_id: 1,
        voter: member(1).to_bech32(),
        options: vec![
            sdk::WeightedVoteOption {
                option: 1,
                weight: "0.25".into(),
            },
            sdk::WeightedVoteOption {
                option: 3,
                weight: "0.750000000000000000".into(),
            },
        ],
        metadata: String::new(),
    })
    .unwrap();
    let mut c = Chain::new(&[(1, 1_000)]);
    let id = c.submit(1, 100, vec![]);
    c.end_block();
    c.run(m).unwrap();
    let p = c.state.proposal(id).unwrap().unwrap();
    let t = tally::tally(&c.history.0[&1], &c.state, &p, &c.history.non_voting()).unwrap();
    assert_eq!((t.yes, t.no), (225, 675));
    for bad in [
        vec![("0.5", 1)],
        vec![("0.5", 1), ("0.5", 1)],
        vec![("1.5", 1)],
        vec![("0.5", 1), ("0.5", 0)],
    ] {
        let r = GovMsg::vote_weighted(&sdk::MsgVoteWeighted {
            proposal_id: 1,
            voter: member(1).to_bech32(),
            options: bad
                .iter()
                .map(|(w, o)| sdk::WeightedVoteOption {
                    option: *o,
                    weight: (*w).into(),
                })
                .collect(),
            metadata: String::new(),
        });
        assert!(r.is_err(), "{bad:?} must be refused");
    }
}

#[test]
fn a_failing_expedited_proposal_becomes_a_normal_one() {
    let mut c = Chain::new(&[(1, 1_000), (2, 700)]);
    c.run(
        GovMsg::submit(&sdk::MsgSubmitProposal {
            messages: vec![],
            initial_deposit: vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
                denom: "udeai".into(),
                amount: "500".into(),
            }],
            proposer: member(1).to_bech32(),
            metadata: String::new(),
            title: "Fast".into(),
            summary: "Quick".into(),
            expedited: true,
        })
        .unwrap(),
    )
    .unwrap();
    c.end_block();
    // 500 yes vs 700 no... then 2 switches: 60% yes is below 66.7% but above 50%.
    c.vote(1, 1, VoteOption::Yes).unwrap();
    c.vote(2, 1, VoteOption::Yes).unwrap();
    c.vote(2, 1, VoteOption::No).unwrap();
    c.blocks(3);
    let p = c.state.proposal(1).unwrap().unwrap();
    assert_eq!(p.status(), ProposalStatus::VotingPeriod);
    assert!(!p.expedited);
    assert_eq!(p.voting_end_height, 11);
    c.run(GovMsg::Deposit {
        id: 1,
        depositor: member(2),
        amount: udeai(200),
    })
    .unwrap();
    c.vote(2, 1, VoteOption::Abstain).unwrap();
    c.blocks(8);
    assert_eq!(c.status(1), ProposalStatus::Passed);
}

#[test]
fn only_governance_changes_gov_params() {
    let mut c = Chain::new(&[(1, 1_000)]);
    let params = GovParams::default();
    assert!(matches!(
        c.run(GovMsg::UpdateParams {
            authority: member(1),
            params: params.clone()
        }),
        Err(GovError::Unauthorized(_))
    ));
    c.run(GovMsg::UpdateParams {
        authority: deai_gov::authority(),
        params: params.clone(),
    })
    .unwrap();
    assert_eq!(c.state.gov_params().unwrap(), params);
}

proptest! {
    #[test]
    fn the_tally_equals_the_sum_of_voting_powers_by_option(
        balances in proptest::collection::vec(100u128..1_000_000, 2..8),
        votes in proptest::collection::vec((0usize..8, 1i32..5, 0u64..=WEIGHT_ONE, 1i32..5), 0..12),
        delegations in proptest::collection::vec((0usize..8, 0usize..8), 0..6),
        stakes in proptest::collection::vec((0usize..8, 0u128..=100, any::<bool>()), 0..6),
    ) {
        let n = balances.len();
        let mut bal: Vec<(u8, u128)> = balances.iter().enumerate().map(|(i, b)| (i as u8 + 1, *b)).collect();
        // Member 9 runs a validator with 100 of its 1000; members stake
        // part of what they hold beyond the first 100 (1's deposit), and
        // some start unbonding half of it.
        bal.push((9, 1_000));
        let mut c = Chain::new(&bal);
        c.stake(staking::create(9, 100));
        let mut staked: BTreeMap<Address, u128> = BTreeMap::new();
        for (a, pct, unbond) in &stakes {
            let who = member((a % n) as u8 + 1);
            let amount = (c.state.balance(&who, "udeai").unwrap() - 100) * pct / 100;
            if amount > 0 {
                c.stake(staking::delegate((a % n) as u8 + 1, 9, amount));
                if *unbond && amount > 1 {
                    c.stake(staking::undelegate((a % n) as u8 + 1, 9, amount / 2));
                }
                *staked.entry(who).or_default() += amount;
            }
        }
        for (a, b) in &delegations {
            let (a, b) = (a % n, b % n);
            if a != b {
                c.run(GovMsg::Delegate { delegator: member(a as u8 + 1), delegate: Some(member(b as u8 + 1)) }).unwrap();
            }
        }
        let id = c.submit(1, 100, vec![]);
        c.end_block();
        let mut expected: BTreeMap<Address, Vec<WeightedOption>> = BTreeMap::new();
        for (v, o1, w, o2) in votes {
            let voter = member((v % n) as u8 + 1);
            let options = if o1 == o2 || w == WEIGHT_ONE || w == 0 {
                vec![WeightedOption { option: o1, weight: WEIGHT_ONE }]
            } else {
                vec![WeightedOption { option: o1, weight: w }, WeightedOption { option: o2, weight: WEIGHT_ONE - w }]
            };
            if c.run(GovMsg::Vote { id, voter, options: options.clone(), metadata: String::new() }).is_ok() {
                expected.insert(voter, options);
            }
        }
        // The model: each account's balance goes to itself if it voted,
        // else to its delegate if that delegate voted, else nowhere; its
        // stake (delegated or unbonding) only ever to itself.
        let hist = &c.history.0[&1];
        let mut power_of: BTreeMap<Address, u128> = BTreeMap::new();
        for i in 0..n {
            let who = member(i as u8 + 1);
            let power = hist.balance(&who, "udeai").unwrap();
            let target = if expected.contains_key(&who) {
                *power_of.entry(who).or_default() += staked.get(&who).copied().unwrap_or(0);
                Some(who)
            } else {
                hist.delegate_of(&who).unwrap().filter(|d| expected.contains_key(d))
            };
            if let Some(t) = target {
                *power_of.entry(t).or_default() += power;
            }
        }
        let mut want = [0u128; 5];
        for (voter, power) in &power_of {
            for o in &expected[voter] {
                want[o.option as usize] += tally::weighted(*power, o.weight);
            }
        }
        let p = c.state.proposal(id).unwrap().unwrap();
        let t = tally::tally(hist, &c.state, &p, &c.history.non_voting()).unwrap();
        prop_assert_eq!((t.yes, t.abstain, t.no, t.veto), (want[1], want[2], want[3], want[4]));
        let total: u128 = balances.iter().sum::<u128>() - 100 + 1_000;
        prop_assert_eq!(t.total_power, total);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Submit(u8, u128, bool),
    Deposit(u8, u64, u128),
    Vote(u8, u64, i32),
    Cancel(u8, u64),
    Delegate(u8, u8),
    EndBlocks(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..5, 0u128..800, any::<bool>()).prop_map(|(a, d, ok)| Op::Submit(a, d, ok)),
        (1u8..5, 1u64..6, 1u128..600).prop_map(|(a, id, n)| Op::Deposit(a, id, n)),
        (1u8..5, 1u64..6, 1i32..5).prop_map(|(a, id, o)| Op::Vote(a, id, o)),
        (1u8..5, 1u64..6).prop_map(|(a, id)| Op::Cancel(a, id)),
        (1u8..5, 1u8..5).prop_map(|(a, b)| Op::Delegate(a, b)),
        (1u64..8).prop_map(Op::EndBlocks),
    ]
}

proptest! {
    #[test]
    fn supply_changes_only_by_burned_deposits_and_failed_messages_change_nothing(
        ops in proptest::collection::vec(op(), 1..50),
    ) {
        let mut c = Chain::new(&[(1, 5_000), (2, 5_000), (3, 5_000), (4, 5_000)]);
        let start = c.state.supply("udeai").unwrap();
        for op in ops {
            let before = c.state.clone();
            let r = match op {
                Op::Submit(a, d, ok) => c.run(GovMsg::Submit {
                    proposer: member(a),
                    messages: vec![marker(ok)],
                    initial_deposit: if d == 0 { vec![] } else { udeai(d) },
                    title: "t".into(),
                    summary: "s".into(),
                    metadata: String::new(),
                    expedited: false,
                }),
                Op::Deposit(a, id, n) => c.run(GovMsg::Deposit { id, depositor: member(a), amount: udeai(n) }),
                Op::Vote(a, id, o) => c.vote(a, id, VoteOption::try_from(o).unwrap()),
                Op::Cancel(a, id) => c.run(GovMsg::Cancel { id, proposer: member(a) }),
                Op::Delegate(a, b) if a != b => c.run(GovMsg::Delegate { delegator: member(a), delegate: Some(member(b)) }),
                Op::Delegate(..) => Ok(()),
                Op::EndBlocks(n) => { c.blocks(n); Ok(()) }
            };
            if r.is_err() {
                prop_assert_eq!(&c.state, &before, "a failed message changed state");
            }
            c.state.check_supply_invariant().unwrap();
            // Burned: deposits of vetoed and expired proposals in full, and
            // the cancel share of cancelled ones. Nothing else changes supply.
            let params = c.state.gov_params().unwrap();
            let mut burned = 0u128;
            for p in c.state.proposals(None, usize::MAX).unwrap() {
                let total: u128 = p.total_deposit.iter().map(|x| x.amount.parse::<u128>().unwrap()).sum();
                burned += match p.status() {
                    ProposalStatus::Vetoed | ProposalStatus::Expired => total,
                    // Only the proposer's own deposit is partly burned.
                    ProposalStatus::Cancelled => c
                        .state
                        .deposits(p.id, None, usize::MAX)
                        .unwrap()
                        .iter()
                        .filter(|d| d.depositor == p.proposer)
                        .map(|d| deai_gov::params::share(d.amount[0].amount.parse().unwrap(), params.cancel_burn_ppm))
                        .sum(),
                    _ => 0,
                };
            }
            prop_assert_eq!(c.state.supply("udeai").unwrap(), start - burned);
            // The governance account holds exactly the open proposals' deposits.
            let open: u128 = c.state.proposals(None, usize::MAX).unwrap().iter()
                .filter(|p| matches!(p.status(), ProposalStatus::DepositPeriod | ProposalStatus::VotingPeriod))
                .map(|p| p.total_deposit.iter().map(|x| x.amount.parse::<u128>().unwrap()).sum::<u128>())
                .sum();
            prop_assert_eq!(c.state.balance(&deai_gov::address(), "udeai").unwrap(), open);
        }
    }
}

fn submit_msg(proposer: u8, deposit: u128, messages: Vec<Any>) -> GovMsg {
    GovMsg::Submit {
        proposer: member(proposer),
        messages,
        initial_deposit: if deposit == 0 { vec![] } else { udeai(deposit) },
        title: "t".into(),
        summary: "s".into(),
        metadata: String::new(),
        expedited: false,
    }
}

#[test]
fn a_proposal_without_an_initial_deposit_is_refused() {
    let mut c = Chain::new(&[(1, 1_000)]);
    let before = c.state.clone();
    assert!(matches!(
        c.run(submit_msg(1, 0, vec![])),
        Err(GovError::InvalidDeposit(_))
    ));
    // A quarter of the minimum deposit (100) is the least accepted.
    assert!(matches!(
        c.run(submit_msg(1, 24, vec![])),
        Err(GovError::InvalidDeposit(_))
    ));
    assert_eq!(c.state, before);
    c.run(submit_msg(1, 25, vec![])).unwrap();
}

#[test]
fn cancelling_burns_only_the_proposers_deposit_and_refunds_the_others() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000), (3, 1_000)]);
    let supply = c.state.supply("udeai").unwrap();
    let id = c.submit(1, 40, vec![]);
    for (who, n) in [(2, 30), (3, 20)] {
        c.run(GovMsg::Deposit {
            id,
            depositor: member(who),
            amount: udeai(n),
        })
        .unwrap();
    }
    assert_eq!(c.status(id), ProposalStatus::DepositPeriod);
    c.run(GovMsg::Cancel {
        id,
        proposer: member(1),
    })
    .unwrap();
    // The proposer loses half of its own 40; the others lose nothing.
    assert_eq!(c.state.balance(&member(1), "udeai").unwrap(), 980);
    assert_eq!(c.state.balance(&member(2), "udeai").unwrap(), 1_000);
    assert_eq!(c.state.balance(&member(3), "udeai").unwrap(), 1_000);
    assert_eq!(c.state.supply("udeai").unwrap(), supply - 20);
    assert_eq!(c.state.balance(&deai_gov::address(), "udeai").unwrap(), 0);
}

#[test]
fn a_proposal_whose_deposits_cannot_be_settled_fails_without_halting_the_chain() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000)]);
    // Proposal 1 passes and, as governance may, sends the governance
    // account's tokens away, proposal 2's escrowed deposit among them;
    // proposal 2's vote ends a block later and its refund cannot be paid.
    let drain = c.submit(
        1,
        100,
        vec![Any {
            type_url: "/test.DrainGov".into(),
            value: vec![],
        }],
    );
    c.end_block();
    let waiting = c.submit(2, 100, vec![]);
    c.vote(1, drain, VoteOption::Yes).unwrap();
    c.vote(2, drain, VoteOption::Yes).unwrap();
    // Every end block must succeed (Chain::end_block unwraps).
    c.blocks(12);
    assert_eq!(c.status(drain), ProposalStatus::Passed);
    let p = c.state.proposal(waiting).unwrap().unwrap();
    assert_eq!(p.status(), ProposalStatus::Failed);
    assert!(
        p.failed_reason.contains("insufficient funds"),
        "{}",
        p.failed_reason
    );
    // Nothing is left in a queue to fail again.
    c.blocks(3);
    c.state.check_supply_invariant().unwrap();
}

#[test]
fn end_block_cost_does_not_grow_with_deleted_queue_entries() {
    let mut s = MarkedState::default();
    s.put_gov_params(&GovParams {
        min_deposit: udeai(100),
        max_deposit_period_blocks: 5,
        voting_period_blocks: 10,
        expedited_voting_period_blocks: 3,
        ..GovParams::default()
    })
    .unwrap();
    s.mint(&member(1), &udeai(1_000_000)).unwrap();
    let mut hist = Hist::default();
    hist.0.insert(0, s.live());
    let no_history = |_: u64| -> Result<Option<MemState>, GovError> { Ok(None) };
    // Block 1: 200 proposals reach voting and are cancelled (markers in the
    // deposit queue at 6, the voting queue at 11 and the start index at 1),
    // 100 wait for a deposit and are cancelled (markers at 6), and one
    // proposal stays open.
    for i in 0..300 {
        let deposit = if i < 200 { 100 } else { 40 };
        submit_msg(1, deposit, vec![])
            .execute(&mut s, 1, no_history)
            .unwrap();
        GovMsg::Cancel {
            id: i + 1,
            proposer: member(1),
        }
        .execute(&mut s, 1, no_history)
        .unwrap();
    }
    submit_msg(1, 100, vec![])
        .execute(&mut s, 1, no_history)
        .unwrap();
    let mut visits = BTreeMap::new();
    for h in 1..=20 {
        s.reset_visits();
        deai_gov::end_block(&mut s, h, &hist).unwrap();
        visits.insert(h, s.visited());
        hist.0.insert(h, s.live());
    }
    // The first block finds the oldest open vote once, and the blocks where
    // the markers' heights come walk those once; every other block reads
    // only what is due.
    for (h, v) in &visits {
        if ![1, 6, 11].contains(h) {
            assert!(*v <= 4, "block {h} walked {v} keys: {visits:?}");
        }
    }
    assert!(visits[&6] <= 300 + 4, "{visits:?}");
    assert!(visits[&11] <= 200 + 4, "{visits:?}");
    assert_eq!(
        s.proposal(301).unwrap().unwrap().status(),
        ProposalStatus::Rejected
    );
    assert_eq!(s.oldest_voting_start().unwrap(), None);
}

/// Reads a vote by member 1 costs when `n` accounts delegate to it.
fn vote_reads_with_delegators(n: u8) -> u64 {
    let mut c = Chain::new(&[(1, 1_000)]);
    for i in 0..n {
        let d = member(10 + i);
        c.state.mint(&d, &udeai(10)).unwrap();
        c.run(GovMsg::Delegate {
            delegator: d,
            delegate: Some(member(1)),
        })
        .unwrap();
    }
    let id = c.submit(1, 100, vec![]);
    c.end_block();
    let reads = Rc::new(Cell::new(0));
    let mut state = CountingState {
        inner: c.state.clone(),
        reads: reads.clone(),
    };
    let hist = c.history.0.clone();
    GovMsg::Vote {
        id,
        voter: member(1),
        options: vec![WeightedOption {
            option: VoteOption::Yes as i32,
            weight: WEIGHT_ONE,
        }],
        metadata: String::new(),
    }
    .execute(&mut state, c.height, |h| {
        Ok(hist.get(&h).cloned().map(|inner| CountingState {
            inner,
            reads: reads.clone(),
        }))
    })
    .unwrap();
    let p = state.inner.proposal(id).unwrap().unwrap();
    let t = tally::tally(&hist[&1], &state.inner, &p, &c.history.non_voting()).unwrap();
    assert_eq!(t.yes, 900 + 10 * u128::from(n));
    reads.get()
}

#[test]
fn many_delegators_do_not_raise_the_delegates_vote_cost() {
    assert_eq!(
        vote_reads_with_delegators(1),
        vote_reads_with_delegators(100)
    );
}

#[test]
fn a_refusing_delegate_cannot_be_delegated_to_and_standing_delegations_stop_counting() {
    let mut c = Chain::new(&[(1, 1_000), (2, 500), (3, 300)]);
    c.run(GovMsg::Delegate {
        delegator: member(2),
        delegate: Some(member(1)),
    })
    .unwrap();
    let refuse = GovMsg::set_delegation_policy(&deai_proto::gov::v1::MsgSetDelegationPolicy {
        delegate: member(1).to_bech32(),
        accept: false,
    })
    .unwrap();
    assert_eq!(refuse.signer(), member(1));
    assert_eq!(
        refuse.type_url(),
        deai_gov::MSG_SET_DELEGATION_POLICY_TYPE_URL
    );
    c.run(refuse).unwrap();
    let before = c.state.clone();
    assert!(matches!(
        c.run(GovMsg::Delegate {
            delegator: member(3),
            delegate: Some(member(1)),
        }),
        Err(GovError::InvalidDelegation(_))
    ));
    assert_eq!(c.state, before);
    let id = c.submit(1, 100, vec![]);
    c.end_block();
    c.vote(1, id, VoteOption::Yes).unwrap();
    let p = c.state.proposal(id).unwrap().unwrap();
    let t = tally::tally(&c.history.0[&1], &c.state, &p, &c.history.non_voting()).unwrap();
    // 2's standing delegation is excluded: 1 votes with its own 900 only.
    assert_eq!(t.yes, 900);
    // 2 still votes itself.
    c.vote(2, id, VoteOption::No).unwrap();
    let t = tally::tally(&c.history.0[&1], &c.state, &p, &c.history.non_voting()).unwrap();
    assert_eq!((t.yes, t.no), (900, 500));
    // Accepting again re-admits delegations.
    c.run(GovMsg::SetDelegationPolicy {
        delegate: member(1),
        accept: true,
    })
    .unwrap();
    c.run(GovMsg::Delegate {
        delegator: member(3),
        delegate: Some(member(1)),
    })
    .unwrap();
}

#[test]
fn a_filtered_proposals_query_reads_a_bounded_number_of_proposals_and_resumes() {
    use deai_gov::query::MAX_PROPOSALS_SCANNED;
    use deai_proto::gov::v1 as pb;
    use prost::Message;

    // Many proposals, none of them in the status asked for but the last.
    let mut state = MemState::default();
    let total = MAX_PROPOSALS_SCANNED as u64 + 5;
    for id in 1..=total {
        let status = if id == total {
            ProposalStatus::Passed
        } else {
            ProposalStatus::Rejected
        };
        state
            .put_proposal(&pb::Proposal {
                id,
                status: status as i32,
                ..Default::default()
            })
            .unwrap();
    }
    let ask = |key: Vec<u8>| {
        let req = pb::QueryProposalsRequest {
            status: ProposalStatus::Passed as i32,
            pagination: Some(
                cosmos_sdk_proto::cosmos::base::query::v1beta1::PageRequest {
                    key,
                    limit: 10,
                    ..Default::default()
                },
            ),
        };
        let history = |_h: u64| -> Result<MemState, GovError> { Ok(MemState::default()) };
        let bytes = deai_gov::query::query(
            &state,
            "/deai.gov.v1.Query/Proposals",
            &req.encode_to_vec(),
            &history,
            &NonVoting::default(),
        )
        .unwrap()
        .unwrap();
        pb::QueryProposalsResponse::decode(bytes.as_slice()).unwrap()
    };
    // The first page stops at the scan budget with nothing found and a key to resume from...
    let first = ask(Vec::new());
    assert!(first.proposals.is_empty());
    let next = first.pagination.unwrap().next_key;
    assert_eq!(next, (MAX_PROPOSALS_SCANNED as u64).to_be_bytes().to_vec());
    // ...and the next page finds the one passed proposal and ends.
    let second = ask(next);
    assert_eq!(second.proposals.len(), 1);
    assert_eq!(second.proposals[0].id, total);
    assert!(second.pagination.unwrap().next_key.is_empty());
}

/// The app's glue, as far as staking messages need it here.
struct StakingHost;

impl deai_types::MsgHost for StakingHost {
    fn gov_authority(&self) -> Address {
        deai_gov::authority()
    }
    fn is_genesis_validator_key(
        &self,
        _: &dyn deai_types::StateRead,
        _: &[u8; 32],
    ) -> Result<bool, deai_types::MsgError> {
        Ok(false)
    }
    fn ensure_account(
        &self,
        _: &mut dyn StateWrite,
        _: &Address,
    ) -> Result<(), deai_types::MsgError> {
        Ok(())
    }
    fn is_module_account(&self, _: &deai_types::Address) -> bool {
        false
    }
    fn record_treasury_spend(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &Address,
        _: &[Coin],
        _: &str,
        _: u64,
    ) -> Result<Event, deai_types::MsgError> {
        unreachable!("staking spends nothing from the treasury")
    }
}

mod staking {
    use cosmos_sdk_proto::cosmos::{base::v1beta1::Coin, staking::v1beta1 as sdk};
    use deai_staking::{msg::StakingMsg, types::pubkey_any, ValoperAddress};

    use super::member;

    fn coin(n: u128) -> Option<Coin> {
        Some(Coin {
            denom: "udeai".into(),
            amount: n.to_string(),
        })
    }

    /// `op` runs a validator with `amount` of its own stake (RFC 8032's
    /// first test key as its consensus key).
    pub fn create(op: u8, amount: u128) -> StakingMsg {
        let key: [u8; 32] =
            hex_key("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        StakingMsg::create_validator(&sdk::MsgCreateValidator {
            description: Some(sdk::Description {
                moniker: "validator".into(),
                ..Default::default()
            }),
            commission: Some(sdk::CommissionRates {
                rate: "0".into(),
                max_rate: "0".into(),
                max_change_rate: "0".into(),
            }),
            min_self_delegation: "1".into(),
            #[allow(deprecated)]
            delegator_address: String::new(),
            validator_address: member(op).to_valoper(),
            pubkey: Some(pubkey_any(&key)),
            value: coin(amount),
        })
        .unwrap()
    }

    fn hex_key(s: &str) -> [u8; 32] {
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        k
    }

    pub fn delegate(del: u8, op: u8, amount: u128) -> StakingMsg {
        StakingMsg::delegate(&sdk::MsgDelegate {
            delegator_address: member(del).to_bech32(),
            validator_address: member(op).to_valoper(),
            amount: coin(amount),
        })
        .unwrap()
    }

    pub fn undelegate(del: u8, op: u8, amount: u128) -> StakingMsg {
        StakingMsg::undelegate(&sdk::MsgUndelegate {
            delegator_address: member(del).to_bech32(),
            validator_address: member(op).to_valoper(),
            amount: coin(amount),
        })
        .unwrap()
    }
}

impl Chain {
    /// Runs a staking message in the current block; a failure writes nothing.
    fn stake(&mut self, msg: deai_staking::msg::StakingMsg) {
        use deai_types::ModuleMsg;
        let history: &deai_types::MsgHistory = &|_| Ok(None);
        let ctx = deai_types::MsgCtx {
            height: self.height,
            time: Default::default(),
            prev_app_hash: &[],
            history,
            host: &StakingHost,
        };
        let mut layer = Overlay::new(&self.state);
        deai_staking::msg::HookedMsg::new(msg, &deai_staking::NoHooks)
            .execute(&mut layer, &ctx)
            .unwrap();
        for (k, v) in layer.into_changes() {
            match v {
                Some(v) => self.state.put_raw(k, v).unwrap(),
                None => self.state.delete_raw(k).unwrap(),
            }
        }
    }
}

#[test]
fn staked_and_unbonding_tokens_keep_their_voting_power() {
    use deai_staking::StakingRead;
    // Member 9 runs a validator with 100 of its 500.
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000), (3, 1_000), (4, 500), (9, 500)]);
    c.stake(staking::create(9, 100));
    // 1 stakes 900 and starts unbonding 200 of it: 100 liquid, 700
    // delegated, 200 unbonding. 3 stakes everything.
    c.stake(staking::delegate(1, 9, 900));
    c.stake(staking::undelegate(1, 9, 200));
    c.stake(staking::delegate(3, 9, 1_000));
    // 4 lends its voting power to 1, then stakes 300: only its liquid 200
    // is lent.
    c.run(GovMsg::Delegate {
        delegator: member(4),
        delegate: Some(member(1)),
    })
    .unwrap();
    c.stake(staking::delegate(4, 9, 300));
    let stake = c.state.delegator_stake(&member(1)).unwrap();
    assert_eq!((stake.delegated, stake.unbonding), (700, 200));
    assert_eq!(c.state.balance(&member(1), "udeai").unwrap(), 100);
    assert_eq!(c.state.balance(&member(3), "udeai").unwrap(), 0);

    let id = c.submit(2, 100, vec![marker(true)]);
    c.end_block();
    // After voting began, 1 stakes the rest: its power was read before.
    c.stake(staking::delegate(1, 9, 100));
    // 3 holds no liquid udeai, yet votes with its stake.
    c.vote(1, id, VoteOption::Yes).unwrap();
    c.vote(2, id, VoteOption::No).unwrap();
    c.vote(3, id, VoteOption::Yes).unwrap();
    let p = c.state.proposal(id).unwrap().unwrap();
    let hist = &c.history.0[&1].clone();
    assert_eq!(tally::own_power(hist, &member(1)).unwrap(), 1_000);
    let t = tally::tally(hist, &c.state, &p, &c.history.non_voting()).unwrap();
    // 1: its own 1000 and 4's liquid 200; 3: its 1000 staked; 2: 900 after
    // its deposit. Counting only liquid balances, 1 would cast 300, 3 could
    // not vote, and the proposal would fail.
    assert_eq!((t.yes, t.no), (1_200 + 1_000, 900));
    // The total: the supply less the gov account's deposit and member
    // 200's reserve; the staking pools' 2300 (2100 delegated, 200
    // unbonding) count.
    let pools = hist.balance(&deai_staking::bonded_pool(), "udeai").unwrap()
        + hist
            .balance(&deai_staking::not_bonded_pool(), "udeai")
            .unwrap();
    assert_eq!(pools, 2_300);
    assert_eq!(t.total_power, 5_000 - 100 - 1_000);

    // 4 votes itself: it takes its liquid 200 back from 1 and adds its stake.
    c.vote(4, id, VoteOption::Abstain).unwrap();
    let t = tally::tally(hist, &c.state, &p, &c.history.non_voting()).unwrap();
    assert_eq!((t.yes, t.no, t.abstain), (2_000, 900, 500));
    c.blocks(11);
    assert_eq!(c.status(id), ProposalStatus::Passed);
    assert_eq!(c.state.balance(&member(100), "udeai").unwrap(), 1);
}

#[test]
fn staked_power_decides_against_a_proposal_too() {
    let mut c = Chain::new(&[(1, 1_000), (2, 1_000), (9, 500)]);
    c.stake(staking::create(9, 100));
    // 2 stakes 990 of its 1000 and votes no with all of it.
    c.stake(staking::delegate(2, 9, 990));
    let id = c.submit(1, 100, vec![marker(true)]);
    c.end_block();
    c.vote(1, id, VoteOption::Yes).unwrap();
    c.vote(2, id, VoteOption::No).unwrap();
    c.blocks(11);
    let p = c.state.proposal(id).unwrap().unwrap();
    assert_eq!(p.status(), ProposalStatus::Rejected);
    let t = p.final_tally.unwrap();
    assert_eq!((t.yes.as_str(), t.no.as_str()), ("900", "1000"));
    assert_eq!(c.state.balance(&member(100), "udeai").unwrap(), 0);
}
