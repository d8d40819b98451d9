//! The module over in-memory state, with validators and delegations made
//! by the staking module's own messages (through [`DistributionHooks`]),
//! blocks' rewards put in the fee collector and allocated by the last
//! commit's votes: exact splits by power, commission, stake and time;
//! slashes; whole-coin payouts with the fractions going to the treasury;
//! and, over random histories, books that always balance and rewards that
//! are never created or lost.

// Test arithmetic on small known numbers; the lint guards the module's own code.
#![allow(clippy::arithmetic_side_effects)]

use cosmos_sdk_proto::cosmos::{
    base::v1beta1::Coin as ProtoCoin, distribution::v1beta1 as dist, staking::v1beta1 as sdk,
};
use deai_bank::{BankRead, BankWrite};
use deai_staking::{
    dec::Dec,
    end_block,
    invariants::check_pools,
    msg::{HookedMsg, StakingMsg},
    types::pubkey_any,
    Notify, StakingParams, StakingRead, StakingWrite, ValoperAddress,
};
use deai_types::testing::TestHost as Host;
use deai_types::{
    module::{BlockInfo, BlockTime, CommitVote, VoteFlag, FEE_COLLECTOR},
    Address, BlockCtx, Coin, Event, MemState, ModuleMsg, MsgError, StateRead,
};
use proptest::prelude::*;

use crate::{
    dec_coins::DecCoins, invariants::check_books, msg::DistributionMsg, rewards, DistributionHooks,
    DistributionParams, DistributionRead, DistributionWrite,
};

fn key(i: u8) -> [u8; 32] {
    ed25519_consensus::SigningKey::from([i; 32])
        .verification_key()
        .to_bytes()
}

fn cons(i: u8) -> Vec<u8> {
    deai_staking::types::consensus_address(&key(i)).to_vec()
}

fn acct(i: u8) -> Address {
    Address([i; 20])
}

fn treasury() -> Address {
    deai_treasury::address()
}

const M: u128 = 1_000_000;
const START: u128 = 1_000 * M;

struct Chain {
    state: MemState,
    height: u64,
    now: BlockTime,
}

impl Chain {
    /// Accounts 1..=6 with [`START`] udeai each, no community tax unless set.
    fn new() -> Chain {
        let mut state = MemState::default();
        for i in 1..=6 {
            state.mint(&acct(i), &[Coin::new(START, "udeai")]).unwrap();
        }
        state
            .put_staking_params(&StakingParams {
                unbonding_time_seconds: 1_000,
                ..Default::default()
            })
            .unwrap();
        state
            .put_distribution_params(&DistributionParams {
                community_tax: "0".into(),
                withdraw_addr_enabled: true,
            })
            .unwrap();
        Chain {
            state,
            height: 1,
            now: BlockTime {
                seconds: 1_700_000_000,
                nanos: 0,
            },
        }
    }

    fn run(&mut self, msg: &dyn ModuleMsg) -> Result<Vec<Event>, MsgError> {
        deai_types::testing::run_msg(&mut self.state, msg, (self.height, self.now), &Host)
    }

    fn stake(&mut self, msg: StakingMsg) -> Result<Vec<Event>, MsgError> {
        self.run(&HookedMsg::new(msg, &DistributionHooks))
    }

    fn create(&mut self, v: u8, amount: u128, rate: &str) {
        self.stake(create(v, amount, rate)).unwrap();
    }

    fn delegate(&mut self, d: u8, v: u8, amount: u128) -> Result<Vec<Event>, MsgError> {
        self.stake(StakingMsg::delegate(&sdk::MsgDelegate {
            delegator_address: acct(d).to_bech32(),
            validator_address: acct(v).to_valoper(),
            amount: udeai(amount),
        })?)
    }

    fn undelegate(&mut self, d: u8, v: u8, amount: u128) -> Result<Vec<Event>, MsgError> {
        self.stake(StakingMsg::undelegate(&sdk::MsgUndelegate {
            delegator_address: acct(d).to_bech32(),
            validator_address: acct(v).to_valoper(),
            amount: udeai(amount),
        })?)
    }

    fn redelegate(
        &mut self,
        d: u8,
        src: u8,
        dst: u8,
        amount: u128,
    ) -> Result<Vec<Event>, MsgError> {
        self.stake(StakingMsg::redelegate(&sdk::MsgBeginRedelegate {
            delegator_address: acct(d).to_bech32(),
            validator_src_address: acct(src).to_valoper(),
            validator_dst_address: acct(dst).to_valoper(),
            amount: udeai(amount),
        })?)
    }

    fn withdraw(&mut self, d: u8, v: u8) -> Result<Vec<Event>, MsgError> {
        self.run(
            &DistributionMsg::withdraw_reward(&dist::MsgWithdrawDelegatorReward {
                delegator_address: acct(d).to_bech32(),
                validator_address: acct(v).to_valoper(),
            })
            .unwrap(),
        )
    }

    fn withdraw_commission(&mut self, v: u8) -> Result<Vec<Event>, MsgError> {
        self.run(
            &DistributionMsg::withdraw_commission(&dist::MsgWithdrawValidatorCommission {
                validator_address: acct(v).to_valoper(),
            })
            .unwrap(),
        )
    }

    /// Starts a block whose last commit holds `votes` (validator, power),
    /// after `fees` were put in the fee collector, and allocates.
    fn reward(&mut self, fees: u128, votes: &[(u8, u64)]) -> Vec<Event> {
        if fees > 0 {
            self.state
                .mint(&Address::module(FEE_COLLECTOR), &[Coin::new(fees, "udeai")])
                .unwrap();
        }
        let info = BlockInfo {
            time: self.now,
            last_commit: votes
                .iter()
                .map(|(v, p)| CommitVote {
                    validator: cons(*v),
                    power: *p,
                    flag: VoteFlag::Commit,
                })
                .collect(),
            ..BlockInfo::at(self.height)
        };
        let fees = Default::default();
        let ctx = BlockCtx {
            info: &info,
            prev_app_hash: &[],
            fees: &fees,
            host: &Host,
        };
        let events = crate::allocate::begin_block(&mut self.state, &ctx).unwrap();
        self.check();
        events
    }

    fn end_block(&mut self) {
        let mut n = Notify::new(&DistributionHooks, self.height);
        end_block::complete_unbondings(&mut self.state, self.now).unwrap();
        end_block::complete_redelegations(&mut self.state, self.now).unwrap();
        end_block::complete_validator_unbondings(&mut self.state, self.now, &mut n).unwrap();
        end_block::apply_validator_set(&mut self.state, self.height, self.now).unwrap();
        self.check();
        self.height += 1;
        self.now.seconds += 10;
    }

    fn slash(&mut self, v: u8, fraction: &str) -> u128 {
        let power = self.state.validator(&acct(v)).unwrap().unwrap().power();
        let mut n = Notify::new(&DistributionHooks, self.height);
        let taken = deai_staking::slash::slash(
            &mut self.state,
            &acct(v),
            (self.height, power),
            Dec::parse_human(fraction).unwrap(),
            self.now,
            &treasury(),
            &mut n,
        )
        .unwrap();
        self.check();
        taken.total()
    }

    fn check(&self) {
        check_books(&self.state).unwrap();
        check_pools(&self.state).unwrap();
        self.state.check_supply_invariant().unwrap();
    }

    fn balance(&self, a: &Address) -> u128 {
        self.state.balance(a, "udeai").unwrap()
    }

    fn pending(&self, d: u8, v: u8) -> DecCoins {
        let val = self.state.validator(&acct(v)).unwrap().unwrap();
        rewards::pending(&self.state, &acct(d), &val).unwrap()
    }
}

fn udeai(n: u128) -> Option<ProtoCoin> {
    Some(ProtoCoin {
        denom: "udeai".into(),
        amount: n.to_string(),
    })
}

fn create(v: u8, amount: u128, rate: &str) -> StakingMsg {
    StakingMsg::create_validator(&sdk::MsgCreateValidator {
        description: Some(sdk::Description {
            moniker: format!("v{v}"),
            ..Default::default()
        }),
        commission: Some(sdk::CommissionRates {
            rate: Dec::parse_human(rate).unwrap().to_proto(),
            max_rate: Dec::ONE.to_proto(),
            max_change_rate: Dec::ONE.to_proto(),
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

fn whole(n: u128) -> DecCoins {
    DecCoins::one("udeai", Dec::from_int(n).unwrap())
}

#[test]
fn rewards_split_by_power_commission_goes_to_the_operator_and_the_tax_to_the_treasury() {
    let mut c = Chain::new();
    c.state
        .put_distribution_params(&DistributionParams::default())
        .unwrap();
    c.create(1, 10 * M, "0.1");
    c.create(2, 30 * M, "0");
    c.end_block();
    let treasury_before = c.balance(&treasury());
    c.reward(1_000_000, &[(1, 10), (2, 30)]);
    // 2% tax; 980 000 split 1:3; validator 1 keeps 10% commission.
    assert_eq!(c.balance(&treasury()) - treasury_before, 20_000);
    assert_eq!(
        c.state.accumulated_commission(&acct(1)).unwrap(),
        whole(24_500)
    );
    assert_eq!(c.pending(1, 1), whole(220_500));
    assert_eq!(c.pending(2, 2), whole(735_000));
    assert_eq!(c.balance(&Address::module(FEE_COLLECTOR)), 0);

    let before = c.balance(&acct(1));
    c.withdraw(1, 1).unwrap();
    c.withdraw_commission(1).unwrap();
    assert_eq!(c.balance(&acct(1)) - before, 245_000);
    assert!(c.pending(1, 1).is_empty());
    let e = c.withdraw_commission(1).unwrap_err().to_string();
    assert!(e.contains("no commission"), "{e}");
}

#[test]
fn a_delegator_earns_by_stake_and_only_from_when_it_joined() {
    let mut c = Chain::new();
    c.create(1, 10 * M, "0");
    c.end_block();
    c.reward(100_000, &[(1, 10)]);
    // Account 3 joins with as much as the operator: it shares none of
    // what came before, half of what comes after.
    c.delegate(3, 1, 10 * M).unwrap();
    c.reward(100_000, &[(1, 20)]);
    assert_eq!(c.pending(1, 1), whole(150_000));
    assert_eq!(c.pending(3, 1), whole(50_000));
    // Delegating more settles what was earned first.
    let before = c.balance(&acct(3));
    c.delegate(3, 1, 10 * M).unwrap();
    assert_eq!(before - c.balance(&acct(3)), 10 * M - 50_000);
    assert!(c.pending(3, 1).is_empty());
    c.reward(90_000, &[(1, 30)]);
    assert_eq!(c.pending(3, 1), whole(60_000));
    assert_eq!(c.pending(1, 1), whole(180_000));
}

#[test]
fn after_a_slash_a_delegation_earns_on_what_it_kept() {
    let mut c = Chain::new();
    c.create(1, 10 * M, "0");
    c.delegate(3, 1, 10 * M).unwrap();
    c.end_block();
    c.reward(200_000, &[(1, 20)]);
    assert_eq!(c.slash(1, "0.5"), 10 * M);
    // Before the slash: 100 000 each. After it both kept 5M of 10M: the
    // next reward still splits evenly, and nothing is lost.
    c.reward(100_000, &[(1, 10)]);
    assert_eq!(c.pending(3, 1), whole(150_000));
    assert_eq!(c.pending(1, 1), whole(150_000));
    let before = c.balance(&acct(3));
    c.undelegate(3, 1, 5 * M).unwrap();
    assert_eq!(
        c.balance(&acct(3)) - before,
        150_000,
        "paid on undelegating"
    );
    assert!(c.state.starting_info(&acct(3), &acct(1)).unwrap().is_none());
}

#[test]
fn fractions_are_paid_to_the_treasury_once_whole_and_nothing_is_lost() {
    let mut c = Chain::new();
    c.create(1, 3 * M, "0.333");
    c.delegate(3, 1, 3 * M + 1).unwrap();
    c.end_block();
    let minted = 7 * 1_000 + 7 * 13;
    for _ in 0..7 {
        c.reward(1_013, &[(1, 6)]);
    }
    let t0 = c.balance(&treasury());
    let before = [c.balance(&acct(1)), c.balance(&acct(3))];
    c.withdraw(1, 1).unwrap();
    c.withdraw(3, 1).unwrap();
    c.withdraw_commission(1).unwrap();
    let paid = c.balance(&acct(1)) - before[0] + c.balance(&acct(3)) - before[1];
    // Everything left: fractions (dust) and what ratio rounding dropped.
    let left_out = c.state.outstanding_rewards(&acct(1)).unwrap();
    let dust = c.state.dust().unwrap();
    let held = c.balance(&crate::address());
    assert_eq!(
        Dec::from_int(held).unwrap(),
        left_out
            .amount_of("udeai")
            .checked_add(dust.amount_of("udeai"))
            .unwrap()
    );
    assert_eq!(paid + held + (c.balance(&treasury()) - t0), minted);
    assert!(paid > minted - 10, "at most a few udeai wait: {paid}");
}

#[test]
fn a_removed_validator_pays_its_commission_and_leaves_no_books_behind() {
    let mut c = Chain::new();
    c.create(1, 10 * M, "0.5");
    c.create(2, 10 * M, "0");
    c.end_block();
    c.reward(333_333, &[(1, 10), (2, 10)]);
    let before = c.balance(&acct(1));
    c.undelegate(1, 1, 10 * M).unwrap();
    // Validator 1 leaves the set, unbonds, and is removed once its
    // unbonding ends.
    c.end_block();
    c.now.seconds += 2_000;
    c.end_block();
    assert!(c.state.validator(&acct(1)).unwrap().is_none());
    // Its share 166 666.5: commission 83 333.25 and rewards 83 333.25, both
    // paid whole; the quarters went to the treasury.
    assert_eq!(c.balance(&acct(1)) - before, 83_333 + 83_333 + 10 * M);
    for prefix in [
        crate::state_key::current(&acct(1)),
        crate::state_key::outstanding(&acct(1)),
        crate::state_key::commission(&acct(1)),
        crate::state_key::historical_prefix(&acct(1)),
    ] {
        assert!(c.state.prefix_raw(&prefix, None, 1).unwrap().is_empty());
    }
    c.reward(0, &[(2, 10)]);
    check_books(&c.state).unwrap();
}

#[test]
fn rewards_go_to_the_withdraw_address_unless_governance_switched_it_off() {
    let mut c = Chain::new();
    c.create(1, 10 * M, "0");
    c.end_block();
    c.run(
        &DistributionMsg::set_withdraw_address(&dist::MsgSetWithdrawAddress {
            delegator_address: acct(1).to_bech32(),
            withdraw_address: acct(6).to_bech32(),
        })
        .unwrap(),
    )
    .unwrap();
    c.reward(1_000, &[(1, 10)]);
    c.withdraw(1, 1).unwrap();
    assert_eq!(c.balance(&acct(6)), START + 1_000);
    c.state
        .put_distribution_params(&DistributionParams {
            community_tax: "0".into(),
            withdraw_addr_enabled: false,
        })
        .unwrap();
    let e = c
        .run(
            &DistributionMsg::set_withdraw_address(&dist::MsgSetWithdrawAddress {
                delegator_address: acct(1).to_bech32(),
                withdraw_address: acct(1).to_bech32(),
            })
            .unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("disabled"), "{e}");
    let e = c.withdraw(4, 1).unwrap_err().to_string();
    assert!(e.contains("no delegation"), "{e}");
}

#[test]
fn with_no_staked_validator_in_the_commit_the_collector_keeps_its_balance() {
    let mut c = Chain::new();
    c.reward(5_000, &[(9, 10)]);
    assert_eq!(c.balance(&Address::module(FEE_COLLECTOR)), 5_000);
    c.create(1, 10 * M, "0");
    c.end_block();
    // A fixed validator (9, no stake) shares the commit: its half goes to
    // the treasury.
    let t0 = c.balance(&treasury());
    c.reward(1_000, &[(1, 10), (9, 10)]);
    assert_eq!(c.pending(1, 1), whole(3_000));
    assert_eq!(c.balance(&treasury()) - t0, 3_000);
}

#[derive(Debug, Clone)]
enum Op {
    Delegate(u8, u8, u32),
    Undelegate(u8, u8, u32),
    Redelegate(u8, u8, u8, u32),
    Withdraw(u8, u8),
    Commission(u8),
    Reward(u32),
    Slash(u8, u8),
    EndBlock,
}

fn op() -> impl Strategy<Value = Op> {
    let v = 1u8..=3;
    let d = 3u8..=6;
    prop_oneof![
        (d.clone(), v.clone(), 1u32..5_000_000).prop_map(|(d, v, a)| Op::Delegate(d, v, a)),
        (d.clone(), v.clone(), 1u32..5_000_000).prop_map(|(d, v, a)| Op::Undelegate(d, v, a)),
        (d.clone(), v.clone(), v.clone(), 1u32..5_000_000)
            .prop_map(|(d, s, t, a)| Op::Redelegate(d, s, t, a)),
        (d, v.clone()).prop_map(|(d, v)| Op::Withdraw(d, v)),
        v.clone().prop_map(Op::Commission),
        (1u32..10_000_000).prop_map(Op::Reward),
        (v, 1u8..=20).prop_map(|(v, pct)| Op::Slash(v, pct)),
        Just(Op::EndBlock),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Over any history the module holds exactly what its books owe, the
    /// supply is conserved, and once everyone has withdrawn and every
    /// validator is gone, every rewarded udeai was paid to someone or to
    /// the treasury.
    #[test]
    fn rewards_are_never_created_or_lost(ops in proptest::collection::vec(op(), 1..40)) {
        let mut c = Chain::new();
        c.state.put_distribution_params(&DistributionParams::default()).unwrap();
        c.create(1, 5 * M, "0.1");
        c.create(2, 7 * M, "0.05");
        c.create(3, 3 * M, "0.5");
        c.end_block();
        let supply0 = c.state.supply("udeai").unwrap();
        let mut minted = 0u128;
        for op in ops {
            match op {
                Op::Delegate(d, v, a) => { let _ = c.delegate(d, v, u128::from(a)); }
                Op::Undelegate(d, v, a) => { let _ = c.undelegate(d, v, u128::from(a)); }
                Op::Redelegate(d, s, t, a) => { let _ = c.redelegate(d, s, t, u128::from(a)); }
                Op::Withdraw(d, v) => { let _ = c.withdraw(d, v); }
                Op::Commission(v) => { let _ = c.withdraw_commission(v); }
                Op::Reward(amount) => {
                    let votes: Vec<(u8, u64)> = c
                        .state
                        .last_powers()
                        .unwrap()
                        .into_iter()
                        .map(|(op, p)| (op.as_bytes()[0], p))
                        .collect();
                    if !votes.is_empty() {
                        minted += u128::from(amount);
                        c.reward(u128::from(amount), &votes);
                    }
                }
                Op::Slash(v, pct) => {
                    if c.state.validator(&acct(v)).unwrap().is_some_and(|x| x.tokens > 0) {
                        c.slash(v, &format!("0.{pct:02}"));
                    }
                }
                Op::EndBlock => c.end_block(),
            }
            c.check();
        }
        prop_assert_eq!(c.state.supply("udeai").unwrap(), supply0 + minted);
        // Everyone leaves: every delegation undelegates (which settles it),
        // every commission is withdrawn, the validators unbond and go.
        for v in 1..=3u8 {
            for d in [1, 2, 3, 4, 5, 6u8] {
                let Some(val) = c.state.validator(&acct(v)).unwrap() else { continue };
                if let Some(del) = c.state.delegation(&acct(d), &acct(v)).unwrap() {
                    let worth = val.tokens_for_shares(del.shares);
                    if worth > 0 {
                        c.undelegate(d, v, worth).unwrap();
                    } else {
                        c.withdraw(d, v).unwrap();
                    }
                }
            }
        }
        for _ in 0..3 {
            c.end_block();
            c.now.seconds += 2_000;
        }
        c.reward(0, &[]);
        let leftover = c.state.dust().unwrap();
        let held = c.balance(&crate::address());
        // What is still held is only dust below one coin, or books of
        // validators that could not be removed (shares left for nothing).
        let open: u128 = (1..=3u8)
            .filter(|v| c.state.validator(&acct(*v)).unwrap().is_some())
            .map(|v| {
                c.state
                    .outstanding_rewards(&acct(v))
                    .unwrap()
                    .amount_of("udeai")
                    .atomics()
            })
            .sum();
        prop_assert_eq!(
            held * deai_staking::dec::ONE_ATOMICS,
            leftover.amount_of("udeai").atomics() + open
        );
    }
}
