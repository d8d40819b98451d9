//! Treasury behaviour on an in-memory state with real bank balances.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

use deai_bank::{BankRead, BankWrite};
use deai_treasury::{
    msg::TreasuryMsg, state::COMPLETED, TreasuryError, TreasuryParams, TreasuryRead, TreasuryWrite,
};

use deai_types::{Address, Coin, MarkedState, MemState, Overlay, StateWrite};
use proptest::prelude::*;

fn udeai(n: u128) -> Vec<Coin> {
    vec![Coin::new(n, "udeai")]
}

fn member(i: u8) -> Address {
    Address::from_slice(&[i; 20]).unwrap()
}

fn gov() -> Address {
    deai_treasury::authority()
}

fn setup(treasury: u128) -> MemState {
    let mut s = MemState::default();
    s.put_treasury_params(&TreasuryParams::default()).unwrap();
    s.mint(&member(1), &udeai(1_000_000)).unwrap();
    if treasury > 0 {
        s.mint(&deai_treasury::address(), &udeai(treasury)).unwrap();
    }
    s
}

/// Runs `msg` on a scratch layer kept only on success, as the app does.
fn run(state: &mut MemState, msg: &TreasuryMsg, height: u64) -> Result<(), TreasuryError> {
    let mut layer = Overlay::new(&*state);
    msg.execute(&mut layer, height)?;
    let changes = layer.into_changes();
    for (k, v) in changes.into_iter() {
        match v {
            Some(v) => state.put_raw(k, v).unwrap(),
            None => state.delete_raw(k).unwrap(),
        }
    }
    Ok(())
}

#[test]
fn anyone_can_fund_the_treasury() {
    let mut s = setup(0);
    let m = TreasuryMsg::Fund {
        funder: member(1),
        amount: udeai(500),
    };
    run(&mut s, &m, 1).unwrap();
    assert_eq!(s.treasury_balance("udeai").unwrap(), 500);
    assert_eq!(s.balance(&member(1), "udeai").unwrap(), 999_500);
}

#[test]
fn only_governance_can_spend() {
    let mut s = setup(1_000);
    let m = TreasuryMsg::Spend {
        authority: member(1),
        recipient: member(1),
        amount: udeai(10),
    };
    let before = s.clone();
    assert!(matches!(
        run(&mut s, &m, 1),
        Err(TreasuryError::Unauthorized { .. })
    ));
    assert_eq!(s, before);
    let m = TreasuryMsg::Spend {
        authority: gov(),
        recipient: member(2),
        amount: udeai(10),
    };
    run(&mut s, &m, 1).unwrap();
    assert_eq!(s.balance(&member(2), "udeai").unwrap(), 10);
    let history = s.spends(None, 10).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "spend");
}

#[test]
fn a_spend_beyond_the_balance_leaves_the_treasury_untouched() {
    let mut s = setup(100);
    let before = s.clone();
    let m = TreasuryMsg::Spend {
        authority: gov(),
        recipient: member(2),
        amount: udeai(101),
    };
    assert!(matches!(
        run(&mut s, &m, 1),
        Err(TreasuryError::InsufficientFunds { .. })
    ));
    assert_eq!(s, before);
}

#[test]
fn the_epoch_cap_limits_spends_and_resets_next_epoch() {
    let mut s = setup(1_000);
    s.put_treasury_params(&TreasuryParams {
        epoch_blocks: 10,
        spend_cap_per_epoch: udeai(100),
        ..Default::default()
    })
    .unwrap();
    let spend = |n| TreasuryMsg::Spend {
        authority: gov(),
        recipient: member(2),
        amount: udeai(n),
    };
    run(&mut s, &spend(60), 3).unwrap();
    assert!(matches!(
        run(&mut s, &spend(41), 9),
        Err(TreasuryError::CapExceeded { .. })
    ));
    run(&mut s, &spend(40), 9).unwrap();
    run(&mut s, &spend(100), 10).unwrap();
    assert_eq!(s.balance(&member(2), "udeai").unwrap(), 200);
}

#[test]
fn a_stream_pays_per_block_waits_when_dry_and_resumes_when_refilled() {
    let mut s = setup(25);
    let m = TreasuryMsg::CreateStream {
        authority: gov(),
        recipient: member(3),
        per_block: udeai(10),
        payments: 4,
    };
    run(&mut s, &m, 1).unwrap();
    for h in 2..=5 {
        deai_treasury::end_block(&mut s, h).unwrap();
    }
    // 25 pays two blocks of 10; the other two blocks wait.
    assert_eq!(s.balance(&member(3), "udeai").unwrap(), 20);
    assert_eq!(s.treasury_balance("udeai").unwrap(), 5);
    let stream = s.stream(1).unwrap().unwrap();
    assert_eq!(stream.payments_made, 2);
    s.fund(&member(1), &udeai(100)).unwrap();
    for h in 6..=9 {
        deai_treasury::end_block(&mut s, h).unwrap();
    }
    assert_eq!(s.balance(&member(3), "udeai").unwrap(), 40);
    let stream = s.stream(1).unwrap().unwrap();
    assert_eq!(stream.status, COMPLETED);
    assert!(s.active_stream_ids().unwrap().is_empty());
}

#[test]
fn a_cancelled_stream_stops_paying_and_cannot_be_cancelled_twice() {
    let mut s = setup(1_000);
    let create = TreasuryMsg::CreateStream {
        authority: gov(),
        recipient: member(3),
        per_block: udeai(10),
        payments: 100,
    };
    run(&mut s, &create, 1).unwrap();
    deai_treasury::end_block(&mut s, 2).unwrap();
    let cancel = TreasuryMsg::CancelStream {
        authority: gov(),
        id: 1,
    };
    run(&mut s, &cancel, 3).unwrap();
    deai_treasury::end_block(&mut s, 3).unwrap();
    assert_eq!(s.balance(&member(3), "udeai").unwrap(), 10);
    assert!(matches!(
        run(&mut s, &cancel, 4),
        Err(TreasuryError::StreamNotActive { .. })
    ));
    assert!(matches!(
        run(
            &mut s,
            &TreasuryMsg::CancelStream {
                authority: gov(),
                id: 9
            },
            4
        ),
        Err(TreasuryError::StreamNotFound(9))
    ));
}

#[derive(Debug, Clone)]
enum Op {
    Fund(u8, u128),
    Spend(u8, u128),
    Stream(u8, u128, u64),
    Cancel(u64),
    EndBlock,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..4, 1u128..5_000).prop_map(|(a, n)| Op::Fund(a, n)),
        (1u8..4, 1u128..5_000).prop_map(|(a, n)| Op::Spend(a, n)),
        (1u8..4, 1u128..500, 1u64..6).prop_map(|(a, n, p)| Op::Stream(a, n, p)),
        (1u64..5).prop_map(Op::Cancel),
        Just(Op::EndBlock),
    ]
}

proptest! {
    #[test]
    fn the_treasury_never_goes_negative_and_supply_is_conserved(ops in proptest::collection::vec(op(), 1..60)) {
        let mut s = setup(2_000);
        for a in 2..4 {
            s.mint(&member(a), &udeai(10_000)).unwrap();
        }
        let supply = s.supply("udeai").unwrap();
        let mut height = 1;
        let mut funded = 0u128;
        for op in ops {
            let msg = match op {
                Op::Fund(a, n) => Some(TreasuryMsg::Fund { funder: member(a), amount: udeai(n) }),
                Op::Spend(a, n) => Some(TreasuryMsg::Spend { authority: gov(), recipient: member(a), amount: udeai(n) }),
                Op::Stream(a, n, p) => Some(TreasuryMsg::CreateStream { authority: gov(), recipient: member(a), per_block: udeai(n), payments: p }),
                Op::Cancel(id) => Some(TreasuryMsg::CancelStream { authority: gov(), id }),
                Op::EndBlock => None,
            };
            match msg {
                Some(m) => {
                    let before = s.clone();
                    match run(&mut s, &m, height) {
                        Ok(()) => if let TreasuryMsg::Fund { amount, .. } = &m { funded += amount[0].amount },
                        Err(_) => prop_assert_eq!(&s, &before, "a failed message changed state"),
                    }
                }
                None => {
                    deai_treasury::end_block(&mut s, height).unwrap();
                    height += 1;
                }
            }
            s.check_supply_invariant().unwrap();
            prop_assert_eq!(s.supply("udeai").unwrap(), supply);
            // The balance is what came in minus what the history says went
            // out; as it is unsigned, no payment was ever left uncovered.
            let paid: u128 = s.spends(None, usize::MAX).unwrap().iter()
                .map(|r| r.amount.iter().map(|c| c.amount.parse::<u128>().unwrap()).sum::<u128>())
                .sum();
            prop_assert_eq!(s.treasury_balance("udeai").unwrap() + paid, 2_000 + funded);
        }
    }
}

#[test]
fn max_active_streams_cannot_be_lowered_below_the_streams_already_paying() {
    let mut s = setup(1_000);
    for _ in 0..3 {
        let create = TreasuryMsg::CreateStream {
            authority: gov(),
            recipient: member(3),
            per_block: udeai(1),
            payments: 10,
        };
        run(&mut s, &create, 1).unwrap();
    }
    let lower = |max| TreasuryMsg::UpdateParams {
        authority: gov(),
        params: TreasuryParams {
            max_active_streams: max,
            ..TreasuryParams::default()
        },
    };
    let err = run(&mut s, &lower(2), 2).unwrap_err();
    assert!(
        matches!(&err, TreasuryError::InvalidParams(m) if m.contains("more than 2 streams are active")),
        "{err}"
    );
    assert_eq!(s.treasury_params().unwrap(), TreasuryParams::default());
    // Down to exactly the number active is fine, and all three keep being paid.
    run(&mut s, &lower(3), 2).unwrap();
    assert_eq!(s.treasury_params().unwrap().max_active_streams, 3);
    deai_treasury::end_block(&mut s, 3).unwrap();
    assert_eq!(s.balance(&member(3), "udeai").unwrap(), 3);
}

#[test]
fn paying_streams_reads_only_the_streams_due_not_every_past_payment() {
    let mut s = MarkedState::default();
    s.put_treasury_params(&TreasuryParams::default()).unwrap();
    s.mint(&deai_treasury::address(), &udeai(1_000_000))
        .unwrap();
    let create = |payments| TreasuryMsg::CreateStream {
        authority: gov(),
        recipient: member(3),
        per_block: udeai(1),
        payments,
    };
    // One long stream, then 400 streams created and cancelled or completed
    // over 20 blocks: each leaves deletion markers behind.
    create(1_000).execute(&mut s, 1).unwrap();
    let mut height = 1;
    let mut next_id = 2;
    for _ in 0..20 {
        for i in 0..20 {
            create(if i % 2 == 0 { 1 } else { 50 })
                .execute(&mut s, height)
                .unwrap();
        }
        deai_treasury::end_block(&mut s, height).unwrap();
        height += 1;
        for id in next_id..next_id + 20 {
            if s.stream(id).unwrap().unwrap().status == deai_treasury::state::ACTIVE {
                TreasuryMsg::CancelStream {
                    authority: gov(),
                    id,
                }
                .execute(&mut s, height)
                .unwrap();
            }
        }
        next_id += 20;
    }
    assert_eq!(s.active_stream_count().unwrap(), 1);
    s.reset_visits();
    deai_treasury::end_block(&mut s, height).unwrap();
    // The one active stream, the ten cancelled in this block, and the
    // epoch's spend record: not the hundreds of markers before.
    assert!(s.visited() <= 15, "walked {} keys", s.visited());
    assert_eq!(s.stream(1).unwrap().unwrap().payments_made, 21);
}

#[test]
fn a_stream_cannot_ask_for_more_payments_than_the_bound() {
    let m = deai_proto::treasury::v1::MsgCreateStream {
        authority: gov().to_bech32(),
        recipient: member(3).to_bech32(),
        amount_per_block: vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
            denom: "udeai".into(),
            amount: "1".into(),
        }],
        payments: u64::MAX,
    };
    assert!(TreasuryMsg::create_stream(&m).is_err());
}
