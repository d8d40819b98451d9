//! The module over in-memory state with staked validators made by the
//! staking module's own messages: downtime jails and slashes after the
//! first window, unjailing waits for the jail time, a double-sign takes
//! stake that was bonded at the infraction (unbonding stake included),
//! tombstones, and a slash never takes more than its fraction of the power
//! at the infraction.

// Test arithmetic on small known numbers; the lint guards the module's own code.
#![allow(clippy::arithmetic_side_effects)]

use cosmos_sdk_proto::cosmos::{base::v1beta1::Coin as ProtoCoin, staking::v1beta1 as sdk};
use deai_bank::{BankRead, BankWrite};
use deai_staking::{
    dec::Dec,
    end_block,
    invariants::check_pools,
    msg::{HookedMsg, StakingMsg},
    types::pubkey_any,
    NoHooks, Notify, StakingParams, StakingRead, StakingWrite, ValoperAddress,
};
use deai_types::testing::TestHost as Host;
use deai_types::{
    module::{BlockInfo, BlockTime},
    Address, BlockCtx, Coin, CountingState, Event, MemState, ModuleMsg, MsgError, Overlay,
    StateRead, StateWrite,
};
use proptest::prelude::*;

use crate::{
    begin_block, state::marks_prefix, SlashingError, SlashingParams, SlashingRead, SlashingWrite,
};

fn key(i: u8) -> [u8; 32] {
    ed25519_consensus::SigningKey::from([i; 32])
        .verification_key()
        .to_bytes()
}

fn cons(i: u8) -> [u8; 20] {
    deai_staking::types::consensus_address(&key(i))
}

fn notify() -> Notify<'static> {
    Notify::new(&NoHooks, 0)
}

fn acct(i: u8) -> Address {
    Address([i; 20])
}

const M: u128 = 1_000_000;

struct Chain {
    state: MemState,
    height: u64,
    now: BlockTime,
}

impl Chain {
    /// Validators 1 and 2 (10 and 20 power), a 10-block window of which
    /// half must be signed, 60 s of jail.
    fn new() -> Chain {
        let mut state = MemState::default();
        for i in 1..=4 {
            state
                .mint(&acct(i), &[Coin::new(1_000 * M, "udeai")])
                .unwrap();
        }
        state
            .put_staking_params(&StakingParams {
                unbonding_time_seconds: 1_000,
                ..Default::default()
            })
            .unwrap();
        state
            .put_slashing_params(&SlashingParams {
                signed_blocks_window: 10,
                downtime_jail_duration_seconds: 60,
                ..Default::default()
            })
            .unwrap();
        let mut c = Chain {
            state,
            height: 1,
            now: BlockTime {
                seconds: 1_700_000_000,
                nanos: 0,
            },
        };
        c.stake(create(1, 10 * M)).unwrap();
        c.stake(create(2, 20 * M)).unwrap();
        c.end_block();
        c
    }

    /// Runs a staking message (no listener to stake changes).
    fn stake(&mut self, msg: StakingMsg) -> Result<Vec<Event>, MsgError> {
        self.run(&HookedMsg::new(msg, &NoHooks))
    }

    fn run(&mut self, msg: &dyn ModuleMsg) -> Result<Vec<Event>, MsgError> {
        deai_types::testing::run_msg(&mut self.state, msg, (self.height, self.now), &Host)
    }

    fn info(&self) -> BlockInfo {
        BlockInfo {
            time: self.now,
            ..BlockInfo::at(self.height)
        }
    }

    /// One vote of validator `v` (power from its record) in this block.
    fn vote(&mut self, v: u8, signed: bool) -> Vec<Event> {
        let power = self.state.validator(&acct(v)).unwrap().unwrap().power();
        let info = self.info();
        begin_block::liveness(
            &mut self.state,
            &cons(v),
            power,
            signed,
            &info,
            &mut notify(),
        )
        .unwrap()
    }

    fn end_block(&mut self) -> Vec<deai_types::ValidatorUpdate> {
        end_block::complete_unbondings(&mut self.state, self.now).unwrap();
        end_block::complete_validator_unbondings(&mut self.state, self.now, &mut notify()).unwrap();
        let (u, _) =
            end_block::apply_validator_set(&mut self.state, self.height, self.now).unwrap();
        check_pools(&self.state).unwrap();
        self.state.check_supply_invariant().unwrap();
        self.height += 1;
        self.now.seconds += 5;
        u
    }

    fn tokens(&self, v: u8) -> u128 {
        self.state.validator(&acct(v)).unwrap().unwrap().tokens
    }

    fn treasury(&self) -> u128 {
        self.state
            .balance(&deai_treasury::address(), "udeai")
            .unwrap()
    }
}

fn udeai(n: u128) -> Option<ProtoCoin> {
    Some(ProtoCoin {
        denom: "udeai".into(),
        amount: n.to_string(),
    })
}

fn create(v: u8, amount: u128) -> StakingMsg {
    StakingMsg::create_validator(&sdk::MsgCreateValidator {
        description: Some(sdk::Description {
            moniker: format!("v{v}"),
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
        validator_address: acct(v).to_valoper(),
        pubkey: Some(pubkey_any(&key(v))),
        value: udeai(amount),
    })
    .unwrap()
}

fn unjail(v: u8) -> crate::msg::Unjail {
    crate::msg::Unjail::from_proto(&cosmos_sdk_proto::cosmos::slashing::v1beta1::MsgUnjail {
        validator_addr: acct(v).to_valoper(),
    })
    .unwrap()
}

#[test]
fn a_validator_offline_too_long_is_slashed_jailed_and_may_unjail_after_the_jail_time() {
    let mut c = Chain::new();
    // Missing is forgiven in the first window; after it, more than 5
    // misses of 10 jail.
    let mut jailed_at = None;
    for _ in 0..30 {
        c.vote(1, true);
        let ev = c.vote(2, false);
        if ev.iter().any(|e| e.kind == "slash") {
            jailed_at = Some(c.height);
            let slash = ev.iter().find(|e| e.kind == "slash").unwrap();
            assert!(slash
                .attributes
                .contains(&("reason".into(), "missing_signature".into())));
            break;
        }
        assert!(c.end_block().is_empty());
    }
    let h = jailed_at.expect("jailed");
    assert!(h > 11, "not in the first window: {h}");
    // 1% of 20 units of power, to the treasury.
    assert_eq!(c.treasury(), 200_000);
    assert_eq!(c.tokens(2), 20 * M - 200_000);
    assert!(c.state.validator(&acct(2)).unwrap().unwrap().jailed);
    let updates = c.end_block();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].power, 0);

    // Too early: refused, nothing changes.
    let e = c.run(&unjail(2)).unwrap_err().to_string();
    assert!(e.contains("jailed until"), "{e}");
    let e = c.run(&unjail(1)).unwrap_err().to_string();
    assert!(e.contains("not jailed"), "{e}");
    c.now.seconds += 60;
    c.run(&unjail(2)).unwrap();
    let updates = c.end_block();
    assert_eq!(updates[0].power, 19, "back with its slashed power");
    let si = c.state.signing_info(&cons(2)).unwrap().unwrap();
    assert_eq!(si.missed, 0);
}

#[test]
fn a_double_sign_takes_stake_bonded_at_the_infraction_and_tombstones() {
    let mut c = Chain::new();
    let infraction = c.height;
    for _ in 0..3 {
        c.vote(1, true);
        c.vote(2, true);
        c.end_block();
    }
    // After the infraction, validator 2's operator and a delegator move
    // stake away: it still answers for the infraction.
    c.stake(
        StakingMsg::delegate(&sdk::MsgDelegate {
            delegator_address: acct(3).to_bech32(),
            validator_address: acct(2).to_valoper(),
            amount: udeai(10 * M),
        })
        .unwrap(),
    )
    .unwrap();
    c.stake(
        StakingMsg::undelegate(&sdk::MsgUndelegate {
            delegator_address: acct(2).to_bech32(),
            validator_address: acct(2).to_valoper(),
            amount: udeai(10 * M),
        })
        .unwrap(),
    )
    .unwrap();
    c.end_block();
    let ev = begin_block::double_sign(
        &mut c.state,
        &cons(2),
        (infraction + 1, 20),
        c.now,
        &mut notify(),
    )
    .unwrap();
    assert_eq!(ev[0].kind, "slash");
    // 5% of 20 units: 500_000 from the unbonding entry begun after the
    // infraction (5% of its 10 units), 500_000 from the validator.
    let u = c.state.unbonding(&acct(2), &acct(2)).unwrap().unwrap();
    assert_eq!(u.entries[0].balance, 10 * M - 500_000);
    assert_eq!(c.treasury(), 1_000_000);
    assert_eq!(c.tokens(2), 20 * M - 500_000);
    check_pools(&c.state).unwrap();
    let si = c.state.signing_info(&cons(2)).unwrap().unwrap();
    assert!(si.tombstoned);
    // Evidence again: nothing more.
    assert!(begin_block::double_sign(
        &mut c.state,
        &cons(2),
        (infraction + 2, 20),
        c.now,
        &mut notify()
    )
    .unwrap()
    .is_empty());
    c.now.seconds += 10 * 365 * 24 * 3600;
    let e = c.run(&unjail(2)).unwrap_err().to_string();
    assert!(e.contains("tombstoned"), "{e}");
    // The unbonding returns what is left of it.
    let before = c.state.balance(&acct(2), "udeai").unwrap();
    c.end_block();
    assert_eq!(
        c.state.balance(&acct(2), "udeai").unwrap(),
        before + 10 * M - 500_000
    );
}

#[test]
fn unknown_consensus_addresses_and_genesis_validators_are_not_tracked() {
    let mut c = Chain::new();
    let info = c.info();
    let ev =
        begin_block::liveness(&mut c.state, &[9u8; 20], 10, false, &info, &mut notify()).unwrap();
    assert!(ev.is_empty());
    assert!(c.state.signing_info(&[9u8; 20]).unwrap().is_none());
    assert!(
        begin_block::double_sign(&mut c.state, &[9u8; 20], (1, 10), c.now, &mut notify())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_new_window_length_starts_every_window_afresh() {
    let mut c = Chain::new();
    for _ in 0..5 {
        c.vote(2, false);
        c.end_block();
    }
    assert_eq!(c.state.signing_info(&cons(2)).unwrap().unwrap().missed, 5);
    let p = SlashingParams {
        signed_blocks_window: 20,
        ..SlashingParams::default()
    };
    deai_types::GovernedParams::store(&p, &mut c.state).unwrap();
    let si = c.state.signing_info(&cons(2)).unwrap().unwrap();
    assert_eq!((si.missed, si.index_offset), (0, 0));
    let current = c.state.window_generation().unwrap();
    assert!(c
        .state
        .prefix_raw(&crate::state::missed_prefix(current, &cons(2)), None, 10)
        .unwrap()
        .is_empty());
    let _: Result<(), SlashingError> = Ok(());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever moved before and after an infraction, a slash takes at
    /// most its fraction of the power at the infraction (in tokens), and
    /// the books stay exact.
    #[test]
    fn a_slash_never_takes_more_than_its_fraction_of_the_infraction_power(
        moves in proptest::collection::vec((0u8..3, 1u128..15), 0..8),
        fraction_pct in 1u128..=100,
        before_infraction in 0usize..8,
    ) {
        let mut c = Chain::new();
        let mut infraction = (c.height, c.state.validator(&acct(2)).unwrap().unwrap().power());
        for (i, (kind, amount)) in moves.iter().enumerate() {
            if i == before_infraction {
                infraction = (c.height, c.state.validator(&acct(2)).unwrap().unwrap().power());
            }
            let amount = amount * M / 2;
            let msg: StakingMsg = match kind {
                0 => StakingMsg::delegate(&sdk::MsgDelegate {
                    delegator_address: acct(3).to_bech32(),
                    validator_address: acct(2).to_valoper(),
                    amount: udeai(amount),
                }).unwrap(),
                1 => StakingMsg::undelegate(&sdk::MsgUndelegate {
                    delegator_address: acct(3).to_bech32(),
                    validator_address: acct(2).to_valoper(),
                    amount: udeai(amount),
                }).unwrap(),
                _ => StakingMsg::redelegate(&sdk::MsgBeginRedelegate {
                    delegator_address: acct(3).to_bech32(),
                    validator_src_address: acct(2).to_valoper(),
                    validator_dst_address: acct(1).to_valoper(),
                    amount: udeai(amount),
                }).unwrap(),
            };
            let _ = c.stake(msg);
            c.end_block();
        }
        let fraction = Dec::from_atomics(fraction_pct * 10_000_000_000_000_000);
        let treasury = c.treasury();
        let taken = deai_staking::slash::slash(
            &mut c.state,
            &acct(2),
            infraction,
            fraction,
            c.now,
            &deai_treasury::address(),
            &mut notify(),
        ).unwrap();
        let cap = fraction.mul_int_floor(u128::from(infraction.1) * M).unwrap();
        prop_assert!(taken.total() <= cap, "{taken:?} > {cap}");
        prop_assert_eq!(c.treasury() - treasury, taken.total());
        check_pools(&c.state).unwrap();
        c.state.check_supply_invariant().unwrap();
    }
}

#[test]
fn a_slash_reads_only_what_began_since_its_infraction_however_much_came_before() {
    // Reads of one slash of validator 2 after `old` one-udeai unbondings
    // from it, all begun before the infraction.
    let reads = |old: u8| {
        let mut c = Chain::new();
        for i in 0..old {
            let who = Address([100u8.wrapping_add(i); 20]);
            c.state.mint(&who, &[Coin::new(10, "udeai")]).unwrap();
            c.stake(
                StakingMsg::delegate(&sdk::MsgDelegate {
                    delegator_address: who.to_bech32(),
                    validator_address: acct(2).to_valoper(),
                    amount: udeai(2),
                })
                .unwrap(),
            )
            .unwrap();
            c.stake(
                StakingMsg::undelegate(&sdk::MsgUndelegate {
                    delegator_address: who.to_bech32(),
                    validator_address: acct(2).to_valoper(),
                    amount: udeai(1),
                })
                .unwrap(),
            )
            .unwrap();
        }
        c.end_block();
        let infraction = c.height;
        c.end_block();
        let mut counted = CountingState {
            inner: c.state.clone(),
            reads: Default::default(),
        };
        let taken = deai_staking::slash::slash(
            &mut counted,
            &acct(2),
            (infraction, 20),
            Dec::parse_human("0.05").unwrap(),
            c.now,
            &deai_treasury::address(),
            &mut notify(),
        )
        .unwrap();
        assert_eq!(taken.unbonding, 0, "nothing begun since the infraction");
        counted.reads.get()
    };
    assert_eq!(reads(3), reads(150));
}

/// Governance's window change, run through the message's `store`.
fn change_window(state: &mut dyn StateWrite, window: u64) {
    let p = SlashingParams {
        signed_blocks_window: window,
        downtime_jail_duration_seconds: 60,
        ..SlashingParams::default()
    };
    deai_types::GovernedParams::store(&p, state).unwrap();
}

/// Gives `count` made-up consensus addresses a signing record whose whole
/// window of `marks` blocks was missed.
fn fill_windows(state: &mut MemState, count: u8, marks: u64) {
    for v in 0..count {
        let cons = [v; 20];
        let si = crate::SigningInfo {
            start_height: 1,
            index_offset: marks,
            jailed_until: BlockTime::default(),
            tombstoned: false,
            missed: marks,
        };
        state.put_signing_info(&cons, &si).unwrap();
        for i in 0..marks {
            state.set_missed(&cons, i, true).unwrap();
        }
    }
}

#[test]
fn a_window_change_reads_and_writes_the_same_however_many_validators_and_marks_exist() {
    // (reads, writes) of one window change over `count` records of `marks`
    // missed blocks each.
    let cost = |count: u8, marks: u64| {
        let mut c = Chain::new();
        fill_windows(&mut c.state, count, marks);
        let mut counted = CountingState {
            inner: Overlay::new(&c.state),
            reads: Default::default(),
        };
        change_window(&mut counted, 20);
        (counted.reads.get(), counted.inner.into_changes().len())
    };
    let small = cost(2, 3);
    assert_eq!(small, cost(200, 500), "100,000 marks cost what 6 do");
    assert!(small.1 <= 2, "the params and the generation: {small:?}");
}

#[test]
fn after_a_window_change_a_validators_next_vote_counts_in_a_fresh_window() {
    let mut c = Chain::new();
    // Past its first window of 10, validator 2 misses 5: the most it may.
    for _ in 0..11 {
        c.vote(2, true);
        c.end_block();
    }
    for _ in 0..5 {
        assert!(c.vote(2, false).iter().all(|e| e.kind != "slash"));
        c.end_block();
    }
    let before = c.state.signing_info(&cons(2)).unwrap().unwrap();
    assert_eq!(before.missed, 5);
    // A window of 4 allows 2 misses: its 5 old ones would jail it at once.
    change_window(&mut c.state, 4);
    // Until it votes again, it is shown as the change left it: reset.
    let req = cosmos_sdk_proto::cosmos::slashing::v1beta1::QuerySigningInfoRequest {
        cons_address: crate::to_valcons(&cons(2)),
    };
    let answer = crate::query::query(
        &c.state,
        "/cosmos.slashing.v1beta1.Query/SigningInfo",
        &prost::Message::encode_to_vec(&req),
    )
    .unwrap()
    .unwrap();
    let shown = <cosmos_sdk_proto::cosmos::slashing::v1beta1::QuerySigningInfoResponse as prost::Message>::decode(answer.as_slice())
        .unwrap()
        .val_signing_info
        .unwrap();
    assert_eq!((shown.missed_blocks_counter, shown.index_offset), (0, 0));
    assert_eq!(shown.start_height, before.start_height as i64);
    for missed in 1..=2 {
        assert!(c.vote(2, false).iter().all(|e| e.kind != "slash"));
        let si = c.state.signing_info(&cons(2)).unwrap().unwrap();
        assert_eq!((si.missed, si.index_offset), (missed, missed));
        assert_eq!(si.start_height, before.start_height, "as the reset left it");
        c.end_block();
    }
    // The third miss of the new window is one too many.
    assert!(c.vote(2, false).iter().any(|e| e.kind == "slash"));
    assert!(c.state.validator(&acct(2)).unwrap().unwrap().jailed);
}

/// Slashing's begin block at `height` with no votes and no evidence, on a
/// layer over `state`: its reads and the changes it would make.
fn quiet_block(state: &MemState, height: u64) -> (u64, deai_types::Changes) {
    let info = BlockInfo::at(height);
    let fees = Default::default();
    let ctx = BlockCtx {
        info: &info,
        prev_app_hash: &[],
        fees: &fees,
        host: &Host,
    };
    let mut counted = CountingState {
        inner: Overlay::new(state),
        reads: Default::default(),
    };
    begin_block::begin_block(&mut counted, &ctx, &mut notify()).unwrap();
    (counted.reads.get(), counted.inner.into_changes())
}

/// Keeps `changes` in `state`.
fn apply(state: &mut MemState, changes: deai_types::Changes) {
    for (k, v) in changes {
        match v {
            Some(v) => state.put_raw(k, v).unwrap(),
            None => state.delete_raw(k).unwrap(),
        }
    }
}

#[test]
fn old_windows_marks_are_deleted_over_later_blocks_at_most_the_bound_a_block() {
    let bound = begin_block::OLD_MARKS_PER_BLOCK;
    let mut c = Chain::new();
    let (_, changes) = quiet_block(&c.state, c.height);
    apply(&mut c.state, changes);
    // With nothing to delete, a block reads the two counters and writes nothing.
    let (reads, changes) = quiet_block(&c.state, c.height);
    assert_eq!((reads, changes.len()), (2, 0));

    fill_windows(&mut c.state, 25, 100);
    let first = c.state.window_generation().unwrap();
    change_window(&mut c.state, 20);
    fill_windows(&mut c.state, 10, 20);
    change_window(&mut c.state, 30);
    let current = c.state.window_generation().unwrap();
    assert_eq!(current, first + 2);
    let old_marks = |s: &MemState| {
        (first..current)
            .map(|g| {
                s.prefix_raw(&marks_prefix(g), None, usize::MAX)
                    .unwrap()
                    .len()
            })
            .sum::<usize>()
    };
    assert_eq!(old_marks(&c.state), 2_500 + 200);

    let mut blocks = 0;
    loop {
        let (_, changes) = quiet_block(&c.state, c.height);
        if changes.is_empty() {
            break;
        }
        let deleted = changes.values().filter(|v| v.is_none()).count();
        assert!(deleted <= bound, "{deleted} marks in one block");
        apply(&mut c.state, changes);
        c.height += 1;
        blocks += 1;
    }
    assert_eq!(old_marks(&c.state), 0);
    assert_eq!(blocks, 3, "2,700 marks at 1,000 a block");
    assert_eq!(c.state.gc_floor().unwrap(), current);
    let (reads, changes) = quiet_block(&c.state, c.height);
    assert_eq!((reads, changes.len()), (2, 0), "nothing left to look for");
}

#[test]
fn a_jail_for_downtime_clears_only_the_current_windows_marks() {
    let mut c = Chain::new();
    fill_windows(&mut c.state, 3, 50);
    let first = c.state.window_generation().unwrap();
    change_window(&mut c.state, 10);
    for _ in 0..30 {
        c.vote(1, true);
        if c.vote(2, false).iter().any(|e| e.kind == "slash") {
            break;
        }
        c.end_block();
    }
    assert!(c.state.validator(&acct(2)).unwrap().unwrap().jailed);
    let current = c.state.window_generation().unwrap();
    assert!(c
        .state
        .prefix_raw(&crate::state::missed_prefix(current, &cons(2)), None, 10)
        .unwrap()
        .is_empty());
    // The old generation is begin block's to delete, a bounded share at a time.
    let old = c
        .state
        .prefix_raw(&marks_prefix(first), None, usize::MAX)
        .unwrap();
    assert_eq!(old.len(), 150);
}

#[test]
fn a_chain_from_before_generations_counts_afresh_and_deletes_its_old_marks() {
    let mut c = Chain::new();
    for _ in 0..11 {
        c.vote(2, true);
        c.end_block();
    }
    for _ in 0..5 {
        c.vote(2, false);
        c.end_block();
    }
    // Rewrite validator 2's window as the layout before generations kept
    // it: the record without a stamp, the marks under `slashing/missed/`.
    let current = c.state.window_generation().unwrap();
    let marks = c
        .state
        .prefix_raw(&marks_prefix(current), None, usize::MAX)
        .unwrap();
    assert_eq!(marks.len(), 5);
    for (k, _) in marks {
        let i: [u8; 8] = k[k.len() - 8..].try_into().unwrap();
        c.state
            .put_raw(
                crate::state::missed_key(
                    crate::state::LEGACY_GENERATION,
                    &cons(2),
                    u64::from_be_bytes(i),
                ),
                Vec::new(),
            )
            .unwrap();
        c.state.delete_raw(k).unwrap();
    }
    c.state
        .delete_raw(crate::state::info_generation_key(&cons(2)))
        .unwrap();
    c.state.delete_raw(crate::state::gc_floor_key()).unwrap();
    assert_eq!(
        c.state.signing_info(&cons(2)).unwrap().unwrap().missed,
        0,
        "counted afresh, as after a window change"
    );
    let (_, changes) = quiet_block(&c.state, c.height);
    assert_eq!(changes.values().filter(|v| v.is_none()).count(), 5);
    apply(&mut c.state, changes);
    assert!(c
        .state
        .prefix_raw(&marks_prefix(crate::state::LEGACY_GENERATION), None, 10)
        .unwrap()
        .is_empty());
    assert_eq!(c.state.gc_floor().unwrap(), current);
}

#[test]
fn signing_infos_show_a_record_of_an_older_generation_reset() {
    let mut c = Chain::new();
    for _ in 0..3 {
        c.vote(1, true);
        c.vote(2, false);
        c.end_block();
    }
    let infos = |s: &MemState| {
        let req = cosmos_sdk_proto::cosmos::slashing::v1beta1::QuerySigningInfosRequest {
            pagination: None,
        };
        let answer = crate::query::query(
            s,
            "/cosmos.slashing.v1beta1.Query/SigningInfos",
            &prost::Message::encode_to_vec(&req),
        )
        .unwrap()
        .unwrap();
        let r = <cosmos_sdk_proto::cosmos::slashing::v1beta1::QuerySigningInfosResponse as prost::Message>::decode(answer.as_slice()).unwrap();
        r.info
            .into_iter()
            .map(|p| (p.address, p.index_offset, p.missed_blocks_counter))
            .collect::<Vec<_>>()
    };
    let before = infos(&c.state);
    assert!(
        before.iter().any(|(_, i, m)| (*i, *m) == (3, 3)),
        "{before:?}"
    );
    change_window(&mut c.state, 20);
    let after = infos(&c.state);
    assert_eq!(after.len(), before.len());
    assert!(
        after.iter().all(|(_, i, m)| (*i, *m) == (0, 0)),
        "{after:?}"
    );
}
