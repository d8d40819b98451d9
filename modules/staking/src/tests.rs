//! The module on its own, over in-memory state: messages as a transaction
//! would run them (on a scratch layer kept only on success), end blocks
//! with advancing time, and a model of CometBFT's set that every update
//! list must be valid against.

// Test arithmetic on small known numbers; the lint guards the module's own code.
#![allow(clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;

use cosmos_sdk_proto::cosmos::{base::v1beta1::Coin as ProtoCoin, staking::v1beta1 as sdk};
use deai_bank::{BankRead, BankWrite};
use deai_types::{
    module::BlockTime, Address, Coin, Event, MemState, MsgError, MsgHost, StateRead, StateWrite,
    ValidatorUpdate,
};
use proptest::prelude::*;

use crate::{
    dec::Dec,
    end_block,
    invariants::check_pools,
    msg::{HookedMsg, StakingMsg},
    types::pubkey_any,
    NoHooks, Notify, StakingParams, StakingRead, StakingWrite, ValoperAddress,
};

struct Host;

impl MsgHost for Host {
    fn gov_authority(&self) -> Address {
        Address::module("gov")
    }
    fn is_genesis_validator_key(
        &self,
        _: &dyn StateRead,
        key: &[u8; 32],
    ) -> Result<bool, MsgError> {
        Ok(*key == genesis_key())
    }
    fn ensure_account(&self, _: &mut dyn StateWrite, _: &Address) -> Result<(), MsgError> {
        Ok(())
    }
    fn is_module_account(&self, _: &Address) -> bool {
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
    ) -> Result<Event, MsgError> {
        unreachable!("staking spends nothing from the treasury")
    }
}

/// A key "genesis named".
fn genesis_key() -> [u8; 32] {
    key(200)
}

/// The ed25519 public key of seed `i`.
fn key(i: u8) -> [u8; 32] {
    ed25519_consensus::SigningKey::from([i; 32])
        .verification_key()
        .to_bytes()
}

fn acct(i: u8) -> Address {
    Address([i; 20])
}

const START: u128 = 1_000_000_000_000;
const DAY: i64 = 24 * 3600;

/// A chain of accounts 1..=8 with [`START`] udeai each, 7 days of unbonding.
struct Chain {
    state: MemState,
    height: u64,
    now: BlockTime,
    /// CometBFT's set as the updates built it: key → power.
    cometbft: BTreeMap<[u8; 32], u64>,
}

impl Chain {
    fn new() -> Chain {
        let mut state = MemState::default();
        for i in 1..=8 {
            state.mint(&acct(i), &[Coin::new(START, "udeai")]).unwrap();
        }
        state
            .put_staking_params(&StakingParams {
                unbonding_time_seconds: 7 * DAY as u64,
                max_validators: 3,
                ..Default::default()
            })
            .unwrap();
        Chain {
            state,
            height: 1,
            now: BlockTime {
                seconds: 1_700_000_000,
                nanos: 0,
            },
            cometbft: BTreeMap::new(),
        }
    }

    /// Runs `msg` as a transaction would: kept only if it succeeds.
    fn run(&mut self, msg: &StakingMsg) -> Result<Vec<Event>, MsgError> {
        deai_types::testing::run_msg(
            &mut self.state,
            &HookedMsg::new(msg.clone(), &NoHooks),
            (self.height, self.now),
            &Host,
        )
    }

    /// Ends the block: queues, then the set, whose updates must be valid
    /// for CometBFT; then the next block starts `seconds` later.
    fn end_block(&mut self, seconds: i64) -> Vec<ValidatorUpdate> {
        end_block::complete_unbondings(&mut self.state, self.now).unwrap();
        end_block::complete_redelegations(&mut self.state, self.now).unwrap();
        end_block::complete_validator_unbondings(
            &mut self.state,
            self.now,
            &mut Notify::new(&NoHooks, self.height),
        )
        .unwrap();
        let (updates, _) =
            end_block::apply_validator_set(&mut self.state, self.height, self.now).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for u in &updates {
            assert!(seen.insert(u.pub_key), "a key twice in one update list");
            if u.power == 0 {
                assert!(
                    self.cometbft.remove(&u.pub_key).is_some(),
                    "power 0 for a key not in the set"
                );
            } else {
                self.cometbft.insert(u.pub_key, u.power);
            }
        }
        let total: u64 = self.cometbft.values().sum();
        assert!(total <= i64::MAX as u64 / 8);
        check_pools(&self.state).unwrap();
        self.state.check_supply_invariant().unwrap();
        self.height += 1;
        self.now.seconds += seconds;
        updates
    }

    fn balance(&self, a: &Address) -> u128 {
        self.state.balance(a, "udeai").unwrap()
    }
}

fn coin(n: u128) -> Option<ProtoCoin> {
    Some(ProtoCoin {
        denom: "udeai".into(),
        amount: n.to_string(),
    })
}

fn create(op: u8, key_seed: u8, amount: u128) -> StakingMsg {
    create_with_key(op, key(key_seed), amount)
}

fn create_with_key(op: u8, pubkey: [u8; 32], amount: u128) -> StakingMsg {
    StakingMsg::create_validator(&sdk::MsgCreateValidator {
        description: Some(sdk::Description {
            moniker: format!("validator {op}"),
            ..Default::default()
        }),
        commission: Some(sdk::CommissionRates {
            rate: Dec::parse_human("0.1").unwrap().to_proto(),
            max_rate: Dec::parse_human("0.2").unwrap().to_proto(),
            max_change_rate: Dec::parse_human("0.01").unwrap().to_proto(),
        }),
        min_self_delegation: "1".into(),
        #[allow(deprecated)]
        delegator_address: String::new(),
        validator_address: acct(op).to_valoper(),
        pubkey: Some(pubkey_any(&pubkey)),
        value: coin(amount),
    })
    .unwrap()
}

fn delegate(del: u8, op: u8, amount: u128) -> StakingMsg {
    StakingMsg::delegate(&sdk::MsgDelegate {
        delegator_address: acct(del).to_bech32(),
        validator_address: acct(op).to_valoper(),
        amount: coin(amount),
    })
    .unwrap()
}

fn undelegate(del: u8, op: u8, amount: u128) -> StakingMsg {
    StakingMsg::undelegate(&sdk::MsgUndelegate {
        delegator_address: acct(del).to_bech32(),
        validator_address: acct(op).to_valoper(),
        amount: coin(amount),
    })
    .unwrap()
}

fn redelegate(del: u8, src: u8, dst: u8, amount: u128) -> StakingMsg {
    StakingMsg::redelegate(&sdk::MsgBeginRedelegate {
        delegator_address: acct(del).to_bech32(),
        validator_src_address: acct(src).to_valoper(),
        validator_dst_address: acct(dst).to_valoper(),
        amount: coin(amount),
    })
    .unwrap()
}

#[test]
fn validators_join_the_set_by_power_and_stake_returns_after_the_unbonding_time() {
    let mut c = Chain::new();
    let m = 1_000_000u128; // one unit of power
    c.run(&create(1, 1, 10 * m)).unwrap();
    c.run(&create(2, 2, 20 * m)).unwrap();
    let updates = c.end_block(5);
    assert_eq!(
        updates,
        [
            ValidatorUpdate {
                pub_key: key(2),
                power: 20
            },
            ValidatorUpdate {
                pub_key: key(1),
                power: 10
            },
        ]
    );
    assert_eq!(
        c.state.validator(&acct(1)).unwrap().unwrap().status,
        crate::types::BondStatus::Bonded
    );
    // Nothing changed: nothing sent.
    assert!(c.end_block(5).is_empty());

    // A delegation raises power; a fourth validator with more stake pushes
    // the weakest out of a set of three.
    c.run(&delegate(5, 1, 5 * m)).unwrap();
    c.run(&create(3, 3, 12 * m)).unwrap();
    assert_eq!(
        c.end_block(5),
        [
            ValidatorUpdate {
                pub_key: key(1),
                power: 15
            },
            ValidatorUpdate {
                pub_key: key(3),
                power: 12
            },
        ]
    );
    c.run(&create(4, 4, 30 * m)).unwrap();
    let updates = c.end_block(5);
    assert_eq!(
        updates,
        [
            ValidatorUpdate {
                pub_key: key(4),
                power: 30
            },
            ValidatorUpdate {
                pub_key: key(3),
                power: 0
            },
        ]
    );
    let v3 = c.state.validator(&acct(3)).unwrap().unwrap();
    assert_eq!(v3.status, crate::types::BondStatus::Unbonding);

    // Undelegating: the tokens leave the balance's reach until the
    // unbonding time passes, then return exactly.
    let before = c.balance(&acct(5));
    c.run(&undelegate(5, 1, 2 * m)).unwrap();
    assert_eq!(c.balance(&acct(5)), before);
    c.end_block(7 * DAY - 10);
    assert_eq!(c.balance(&acct(5)), before, "not yet");
    c.end_block(10);
    c.end_block(1);
    assert_eq!(c.balance(&acct(5)), before + 2 * m);

    // The unbonding validator became unbonded after the same time.
    let v3 = c.state.validator(&acct(3)).unwrap().unwrap();
    assert_eq!(v3.status, crate::types::BondStatus::Unbonded);
}

#[test]
fn bad_messages_are_refused_and_change_nothing() {
    let mut c = Chain::new();
    c.run(&create(1, 1, 5_000_000)).unwrap();
    let before = c.state.clone();
    let refused: Vec<(StakingMsg, &str)> = vec![
        (create(1, 9, 1_000_000), "already exists"),
        (create(2, 1, 1_000_000), "already used"),
        (create_with_key(2, genesis_key(), 1_000_000), "already used"),
        (delegate(3, 7, 10), "does not exist"),
        (undelegate(3, 1, 10), "no delegation"),
        (undelegate(1, 1, 5_000_001), "less than"),
        (redelegate(1, 1, 7, 10), "does not exist"),
        (create(2, 2, START + 1), "insufficient"),
    ];
    for (msg, want) in refused {
        let e = c.run(&msg).unwrap_err().to_string();
        assert!(e.contains(want), "{msg:?}: {e}");
        assert_eq!(c.state, before);
    }
    // Stateless checks.
    let bad_key = StakingMsg::create_validator(&sdk::MsgCreateValidator {
        pubkey: Some(tendermint_proto::google::protobuf::Any {
            type_url: "/cosmos.crypto.secp256k1.PubKey".into(),
            value: vec![],
        }),
        ..Default::default()
    });
    assert!(bad_key.is_err());
    let zero = StakingMsg::delegate(&sdk::MsgDelegate {
        delegator_address: acct(1).to_bech32(),
        validator_address: acct(1).to_valoper(),
        amount: coin(0),
    });
    assert!(zero.unwrap_err().to_string().contains("positive"));
    let account_as_validator = StakingMsg::delegate(&sdk::MsgDelegate {
        delegator_address: acct(1).to_bech32(),
        validator_address: acct(1).to_bech32(),
        amount: coin(1),
    });
    assert!(account_as_validator
        .unwrap_err()
        .to_string()
        .contains("deaivaloper"));
}

#[test]
fn a_redelegation_cannot_be_moved_again_before_it_matures() {
    let mut c = Chain::new();
    c.run(&create(1, 1, 5_000_000)).unwrap();
    c.run(&create(2, 2, 5_000_000)).unwrap();
    c.run(&create(3, 3, 5_000_000)).unwrap();
    c.end_block(5);
    c.run(&delegate(5, 1, 3_000_000)).unwrap();
    c.run(&redelegate(5, 1, 2, 1_000_000)).unwrap();
    let e = c
        .run(&redelegate(5, 2, 3, 500_000))
        .unwrap_err()
        .to_string();
    assert!(e.contains("still maturing"), "{e}");
    c.end_block(7 * DAY);
    c.end_block(1);
    c.run(&redelegate(5, 2, 3, 500_000)).unwrap();
}

#[test]
fn the_operator_falling_below_its_minimum_is_jailed_and_leaves_the_set() {
    let mut c = Chain::new();
    let msg = StakingMsg::create_validator(&sdk::MsgCreateValidator {
        description: Some(sdk::Description {
            moniker: "strict".into(),
            ..Default::default()
        }),
        commission: Some(sdk::CommissionRates {
            rate: "0".into(),
            max_rate: "0".into(),
            max_change_rate: "0".into(),
        }),
        min_self_delegation: "4000000".into(),
        #[allow(deprecated)]
        delegator_address: String::new(),
        validator_address: acct(1).to_valoper(),
        pubkey: Some(pubkey_any(&key(1))),
        value: coin(5_000_000),
    })
    .unwrap();
    c.run(&msg).unwrap();
    c.run(&create(2, 2, 5_000_000)).unwrap();
    assert_eq!(c.end_block(5).len(), 2);
    c.run(&undelegate(1, 1, 2_000_000)).unwrap();
    assert!(c.state.validator(&acct(1)).unwrap().unwrap().jailed);
    assert_eq!(
        c.end_block(5),
        [ValidatorUpdate {
            pub_key: key(1),
            power: 0
        }]
    );
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    Create(u8, u128),
    Delegate(u8, u8, u128),
    Undelegate(u8, u8, u128),
    Redelegate(u8, u8, u8, u128),
    Cancel(u8, u8, u128),
    EndBlock(i64),
}

fn step() -> impl Strategy<Value = Step> {
    let who = 1u8..=6;
    let val = 1u8..=4;
    let amount = prop_oneof![1u128..2_000_000, 1_000_000u128..50_000_000];
    // Undelegations, redelegations and cancellations take a share (in
    // percent) of what is there, so most of them find something to move.
    let pct = 1u128..=100;
    prop_oneof![
        1 => (val.clone(), amount.clone()).prop_map(|(v, a)| Step::Create(v, a)),
        3 => (who.clone(), val.clone(), amount).prop_map(|(d, v, a)| Step::Delegate(d, v, a)),
        2 => (who.clone(), val.clone(), pct.clone()).prop_map(|(d, v, p)| Step::Undelegate(d, v, p)),
        2 => (who.clone(), val.clone(), val.clone(), pct.clone())
            .prop_map(|(d, s, t, p)| Step::Redelegate(d, s, t, p)),
        1 => (who, val, pct).prop_map(|(d, v, p)| Step::Cancel(d, v, p)),
        2 => prop_oneof![1i64..60, Just(3 * DAY), Just(8 * DAY)].prop_map(Step::EndBlock),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever users do, the supply never changes, every account's
    /// balance plus what it has staked or unbonding only falls by what it
    /// gave, the pools hold exactly the stake, and every update list is
    /// valid for CometBFT (checked in `end_block`).
    #[test]
    fn random_histories_conserve_tokens_and_keep_cometbfts_rules(
        steps in proptest::collection::vec(step(), 1..60)
    ) {
        let mut c = Chain::new();
        let supply = c.state.supply("udeai").unwrap();
        // Three validators to start with; steps may create two more, and
        // the set holds three.
        for v in 1..=3 {
            c.run(&create(v, v, u128::from(v) * 2_000_000)).unwrap();
        }
        for s in steps {
            // What `pct` percent of `d`'s stake at `v` is worth (at least 1).
            let share = |c: &Chain, d: u8, v: u8, pct: u128| -> u128 {
                let worth = match (
                    c.state.delegation(&acct(d), &acct(v)).unwrap(),
                    c.state.validator(&acct(v)).unwrap(),
                ) {
                    (Some(dl), Some(val)) => val.tokens_for_shares(dl.shares),
                    _ => 0,
                };
                (worth * pct / 100).max(1)
            };
            let msg = match s {
                Step::Create(v, a) => create(v, v, a),
                Step::Delegate(d, v, a) => delegate(d, v, a),
                Step::Undelegate(d, v, p) => undelegate(d, v, share(&c, d, v, p)),
                Step::Redelegate(d, s, t, p) if s != t => redelegate(d, s, t, share(&c, d, s, p)),
                Step::Redelegate(..) => continue,
                Step::Cancel(d, v, p) => {
                    let Some(u) = c.state.unbonding(&acct(d), &acct(v)).unwrap() else { continue };
                    let Some(e) = u.entries.first() else { continue };
                    StakingMsg::cancel_unbonding(&sdk::MsgCancelUnbondingDelegation {
                        delegator_address: acct(d).to_bech32(),
                        validator_address: acct(v).to_valoper(),
                        amount: coin((e.balance * p / 100).max(1)),
                        creation_height: e.creation_height as i64,
                    }).unwrap()
                }
                Step::EndBlock(secs) => {
                    c.end_block(secs);
                    continue;
                }
            };
            let before = c.state.clone();
            if c.run(&msg).is_err() {
                prop_assert_eq!(&c.state, &before);
            }
            check_pools(&c.state).unwrap();
            // What governance reads of each account's stake is what its
            // records say, pair by pair.
            for i in 1..=8u8 {
                let (mut delegated, mut unbonding) = (0u128, 0u128);
                for v in 1..=5u8 {
                    if let (Some(d), Some(val)) = (
                        c.state.delegation(&acct(i), &acct(v)).unwrap(),
                        c.state.validator(&acct(v)).unwrap(),
                    ) {
                        delegated += val.tokens_for_shares(d.shares);
                    }
                    if let Some(u) = c.state.unbonding(&acct(i), &acct(v)).unwrap() {
                        unbonding += u.entries.iter().map(|e| e.balance).sum::<u128>();
                    }
                }
                let stake = c.state.delegator_stake(&acct(i)).unwrap();
                prop_assert_eq!((stake.delegated, stake.unbonding), (delegated, unbonding));
            }
        }
        // Let every unbonding finish: each account holds all it started with.
        c.end_block(8 * DAY);
        c.end_block(8 * DAY);
        c.end_block(1);
        prop_assert_eq!(c.state.supply("udeai").unwrap(), supply);
        for i in 1..=8u8 {
            let mut staked = 0u128;
            for v in 1..=5u8 {
                if let (Some(d), Some(val)) = (
                    c.state.delegation(&acct(i), &acct(v)).unwrap(),
                    c.state.validator(&acct(v)).unwrap(),
                ) {
                    staked += val.tokens_for_shares(d.shares);
                }
                prop_assert!(c.state.unbonding(&acct(i), &acct(v)).unwrap().is_none());
            }
            // Rounding only ever keeps dust with the validator (for the
            // remaining delegators), never creates tokens.
            prop_assert!(c.balance(&acct(i)) + staked <= START);
            prop_assert!(c.balance(&acct(i)) + staked + 10 >= START, "lost more than rounding dust");
        }
    }
}

#[test]
fn a_delegator_holds_delegations_to_at_most_a_hundred_validators() {
    use crate::{StakingError, MAX_DELEGATIONS_PER_DELEGATOR as MAX};
    let mut c = Chain::new();
    // Operators 10..=111 run one validator each (seed 200 is genesis's key).
    let ops: Vec<u8> = (10..=111).collect();
    for &op in &ops {
        c.state
            .mint(&acct(op), &[Coin::new(START, "udeai")])
            .unwrap();
        c.run(&create(op, op, 1_000_000)).unwrap();
    }
    let (held, rest) = ops.split_at(MAX);
    for &op in held {
        c.run(&delegate(1, op, 1_000)).unwrap();
    }
    // More to a validator it already holds is fine; a 101st validator is not,
    // by delegation or by redelegation.
    c.run(&delegate(1, held[0], 1_000)).unwrap();
    let before = c.state.clone();
    let code = |e: MsgError| match e {
        MsgError::Module { code, log, .. } => (code, log),
        other => panic!("{other:?}"),
    };
    for msg in [
        delegate(1, rest[0], 1_000),
        redelegate(1, held[0], rest[0], 500),
    ] {
        let (n, log) = code(c.run(&msg).unwrap_err());
        assert_eq!(n, 100, "{log}");
        assert!(log.contains("at most 100 validators"), "{log}");
        assert_eq!(c.state, before);
    }
    assert_eq!(
        StakingError::TooManyDelegations(MAX).to_string(),
        "a delegator may hold delegations to at most 100 validators; undelegate (or redelegate) all of one of them first"
    );
    // Moving all of one delegation to a new validator keeps it at 100.
    c.run(&redelegate(1, held[0], rest[0], 2_000)).unwrap();
    assert!(c
        .state
        .delegation(&acct(1), &acct(held[0]))
        .unwrap()
        .is_none());
    assert_eq!(
        c.state.delegator_stake(&acct(1)).unwrap().delegated,
        100 * 1_000 + 1_000
    );

    // Unbonding from 100 validators at once is the most too: undelegating
    // all of the 100 (the validators are unbonded, so the entries wait for
    // the next end block) leaves room for a delegation, not for a 101st
    // unbonding.
    let now: Vec<u8> = held[1..].iter().copied().chain([rest[0]]).collect();
    for &op in &now {
        let worth = if op == rest[0] { 2_000 } else { 1_000 };
        c.run(&undelegate(1, op, worth)).unwrap();
    }
    let stake = c.state.delegator_stake(&acct(1)).unwrap();
    assert_eq!((stake.delegated, stake.unbonding), (0, 101_000));
    c.run(&delegate(1, rest[1], 1_000)).unwrap();
    let before = c.state.clone();
    let (n, log) = code(c.run(&undelegate(1, rest[1], 1_000)).unwrap_err());
    assert_eq!(n, 101, "{log}");
    assert!(
        log.contains("unbonding from at most 100 validators"),
        "{log}"
    );
    assert_eq!(c.state, before);
    // Once the unbondings complete, it may unbond again.
    c.end_block(5);
    c.run(&undelegate(1, rest[1], 1_000)).unwrap();
}

#[test]
fn a_consensus_key_is_never_used_twice_even_after_its_validator_is_gone() {
    let mut c = Chain::new();
    c.run(&create(1, 1, 5_000_000)).unwrap();
    c.end_block(5);
    c.run(&undelegate(1, 1, 5_000_000)).unwrap();
    // Out of the set, unbonded after the unbonding time, and removed.
    c.end_block(8 * DAY);
    c.end_block(8 * DAY);
    c.end_block(1);
    assert!(c.state.validator(&acct(1)).unwrap().is_none(), "removed");
    let e = c.run(&create(2, 1, 5_000_000)).unwrap_err().to_string();
    assert!(e.contains("already used"), "{e}");
    let e = c.run(&create(1, 1, 5_000_000)).unwrap_err().to_string();
    assert!(e.contains("already used"), "{e}");
    c.run(&create(1, 9, 5_000_000)).unwrap();
}
