//! Property tests: money balances exactly over any sequence of jobs,
//! commits, reveals, bonds and blocks; assignment is deterministic and
//! never picks a provider twice.

use std::collections::{BTreeMap, BTreeSet};

use deai_proto::compute::v1 as pb;
use proptest::prelude::*;

use super::*;
use crate::{select_providers, treasury_address, JobStatus};

proptest! {
    #[test]
    fn assignment_is_deterministic_distinct_and_drawn_from_the_candidates(
        weights in proptest::collection::vec(0u128..5_000_000, 0..12),
        prev_app_hash in proptest::collection::vec(any::<u8>(), 0..40),
        job_id in any::<u64>(),
        r in 1usize..8,
    ) {
        let candidates: Vec<(Address, u128)> =
            weights.iter().enumerate().map(|(i, w)| (addr(i as u8), *w)).collect();
        let positive = weights.iter().filter(|w| **w > 0).count();
        let first = select_providers(&prev_app_hash, job_id, &candidates, r);
        let second = select_providers(&prev_app_hash, job_id, &candidates, r);
        prop_assert_eq!(&first, &second);
        match first {
            None => prop_assert!(positive < r),
            Some(chosen) => {
                prop_assert!(positive >= r);
                prop_assert_eq!(chosen.len(), r);
                let distinct: BTreeSet<_> = chosen.iter().collect();
                prop_assert_eq!(distinct.len(), r);
                for a in &chosen {
                    let w = candidates.iter().find(|(c, _)| c == a).map(|(_, w)| *w);
                    prop_assert!(matches!(w, Some(w) if w > 0), "zero-weight or unknown pick");
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn the_sampling_index_draws_exactly_what_select_providers_specifies(
        weights in proptest::collection::vec(0u128..5_000_000, 1..40),
        updates in proptest::collection::vec((0usize..40, 0u128..5_000_000), 0..20),
        prev_app_hash in proptest::collection::vec(any::<u8>(), 0..40),
        job_id in any::<u64>(),
        exclude in 0usize..45,
        r in 1usize..8,
    ) {
        let mut s = deai_types::MemState::default();
        let mut w: Vec<u128> = weights.clone();
        for (i, x) in weights.iter().enumerate() {
            crate::sampler::set_weight(&mut s, &addr(i as u8 + 1), *x).unwrap();
        }
        for (i, x) in updates {
            if i < w.len() {
                w[i] = x;
                crate::sampler::set_weight(&mut s, &addr(i as u8 + 1), x).unwrap();
            }
        }
        // Slots are in order of the first positive weight.
        let mut slots: Vec<usize> = Vec::new();
        for i in 0..w.len() {
            if crate::sampler::slot_of(&s, &addr(i as u8 + 1)).unwrap().is_some() {
                slots.push(i);
            }
        }
        slots.sort_by_key(|i| crate::sampler::slot_of(&s, &addr(*i as u8 + 1)).unwrap());
        let excluded = addr(exclude as u8 + 1);
        let candidates: Vec<(Address, u128)> = slots
            .iter()
            .map(|i| (addr(*i as u8 + 1), w[*i]))
            .filter(|(a, _)| *a != excluded)
            .collect();
        let want = select_providers(&prev_app_hash, job_id, &candidates, r);
        let got = crate::sampler::draw(&s, &prev_app_hash, job_id, &excluded, r).unwrap();
        prop_assert_eq!(got, want);
        prop_assert_eq!(
            crate::sampler::eligible_count(&s).unwrap(),
            w.iter().filter(|x| **x > 0).count() as u64
        );
    }
}

#[test]
fn heavier_bonds_are_drawn_more_often() {
    let candidates = vec![(addr(1), 1_000_000u128), (addr(2), 9_000_000)];
    let heavy = (0..2_000u64)
        .filter(|id| select_providers(b"hash", *id, &candidates, 1).unwrap()[0] == addr(2))
        .count();
    assert!((1_650..1_950).contains(&heavy), "{heavy} of 2000");
}

#[test]
fn a_different_previous_app_hash_changes_the_draw() {
    let candidates: Vec<(Address, u128)> = (1..=20).map(|i| (addr(i), 1_000)).collect();
    let a = select_providers(b"block a", 1, &candidates, 3).unwrap();
    let b = select_providers(b"block b", 1, &candidates, 3).unwrap();
    let c = select_providers(b"block a", 2, &candidates, 3).unwrap();
    assert!(a != b || a != c);
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Op {
    Submit {
        requester: u8,
        r: u32,
        price: u128,
        input_len: u16,
    },
    Commit {
        job: u8,
        slot: u8,
        variant: u8,
    },
    Reveal {
        job: u8,
        slot: u8,
        bad_salt: bool,
    },
    Work {
        job: u8,
        variants: [u8; 5],
        skip_reveal: u8,
    },
    Advance {
        blocks: u8,
    },
    Register {
        provider: u8,
        bond: u128,
    },
    Bond {
        provider: u8,
        amount: u128,
    },
    Unbond {
        provider: u8,
        amount: u128,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3, 1u32..=5, 1u128..5_000, 0u16..3_000).prop_map(
            |(requester, r, price, input_len)| Op::Submit { requester, r, price, input_len }),
        6 => (any::<u8>(), any::<u8>(), 0u8..8).prop_map(
            |(job, slot, variant)| Op::Commit { job, slot, variant }),
        6 => (any::<u8>(), any::<u8>(), prop::bool::weighted(0.1)).prop_map(
            |(job, slot, bad_salt)| Op::Reveal { job, slot, bad_salt }),
        4 => (any::<u8>(), any::<[u8; 5]>(), prop::bool::weighted(0.7)).prop_map(
            |(job, variants, all)| Op::Work {
                job,
                variants: variants.map(|v| v % 8),
                skip_reveal: if all { 0 } else { variants[0] },
            }),
        3 => (1u8..4).prop_map(|blocks| Op::Advance { blocks }),
        1 => (1u8..=7, 500_000u128..3_000_000).prop_map(
            |(provider, bond)| Op::Register { provider, bond }),
        1 => (1u8..=7, 1u128..500_000).prop_map(|(provider, amount)| Op::Bond { provider, amount }),
        1 => (1u8..=7, 1u128..2_000_000).prop_map(
            |(provider, amount)| Op::Unbond { provider, amount }),
    ]
}

const FUNDS: u128 = 50_000_000;

/// A result per variant, mostly the honest one.
fn result_of(variant: u8) -> Vec<u8> {
    match variant {
        0..=5 => b"honest".to_vec(),
        6 => b"wrong one".to_vec(),
        _ => b"wrong two".to_vec(),
    }
}

/// Runs `ops` and returns the chain; checks the books after every step.
fn run(ops: &[Op]) -> Chain {
    let mut accounts: Vec<Address> = (1..=7).map(addr).collect();
    accounts.extend((100..103).map(addr));
    let mut c = Chain::new(params(), &accounts, FUNDS);
    for i in 1..=4 {
        c.register(addr(i), 2_000_000);
    }
    let start_supply = c.supply();
    let mut committed: BTreeMap<(u64, Address), Vec<u8>> = BTreeMap::new();
    for op in ops {
        // Commits and reveals target jobs in their commit-reveal phase.
        let open: Vec<Job> = c
            .state
            .jobs(None, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(_, j)| j)
            .filter(|j| j.status == JobStatus::Assigned)
            .collect();
        let pick = |j: u8| (!open.is_empty()).then(|| open[j as usize % open.len()].clone());
        match op.clone() {
            Op::Submit {
                requester,
                r,
                price,
                input_len,
            } => {
                let input = gemm(&vec![7u8; (input_len as usize / 2).max(1)]);
                let _ = c.exec_any(&submit_any(addr(100 + requester), r, price, &input));
            }
            Op::Commit { job, slot, variant } => {
                if let Some(j) = pick(job) {
                    let p = j.assignments[slot as usize % j.assignments.len()].provider;
                    let result = result_of(variant);
                    if c.commit(p, j.id, &result).is_ok() {
                        committed.insert((j.id, p), result);
                    }
                }
            }
            Op::Reveal {
                job,
                slot,
                bad_salt,
            } => {
                if let Some(j) = pick(job) {
                    let p = j.assignments[slot as usize % j.assignments.len()].provider;
                    let result = committed
                        .get(&(j.id, p))
                        .cloned()
                        .unwrap_or_else(|| b"honest".to_vec());
                    let s = if bad_salt { b"bad".to_vec() } else { salt(p) };
                    let before = c.state.clone();
                    let outcome = c.exec_any(&reveal_any(p, j.id, &result, &s));
                    if bad_salt {
                        assert!(outcome.is_err());
                        assert_eq!(before.0, c.state.0);
                    }
                }
            }
            Op::Work {
                job,
                variants,
                skip_reveal,
            } => {
                if let Some(j) = pick(job) {
                    for (i, a) in j.assignments.iter().enumerate() {
                        let result = result_of(variants[i % 5]);
                        if c.commit(a.provider, j.id, &result).is_ok() {
                            committed.insert((j.id, a.provider), result);
                        }
                    }
                    for (i, a) in j.assignments.iter().enumerate() {
                        if skip_reveal & (1 << i) == 0 {
                            if let Some(result) = committed.get(&(j.id, a.provider)).cloned() {
                                let _ = c.reveal(a.provider, j.id, &result);
                            }
                        }
                    }
                }
            }
            Op::Advance { blocks } => {
                for _ in 0..blocks {
                    c.advance();
                }
            }
            Op::Register { provider, bond } => {
                let _ = c.exec_any(&pack(
                    crate::MSG_REGISTER_PROVIDER_TYPE_URL,
                    &pb::MsgRegisterProvider {
                        provider: addr(provider).to_bech32(),
                        bond: bond.to_string(),
                        device: String::new(),
                    },
                ));
            }
            Op::Bond { provider, amount } => {
                let _ = c.exec_any(&pack(
                    crate::MSG_BOND_TYPE_URL,
                    &pb::MsgBond {
                        provider: addr(provider).to_bech32(),
                        amount: amount.to_string(),
                    },
                ));
            }
            Op::Unbond { provider, amount } => {
                let _ = c.exec_any(&pack(
                    crate::MSG_UNBOND_TYPE_URL,
                    &pb::MsgUnbond {
                        provider: addr(provider).to_bech32(),
                        amount: amount.to_string(),
                    },
                ));
            }
        }
        check_all(&c, start_supply);
    }
    for _ in 0..25 {
        c.advance();
    }
    check_all(&c, start_supply);
    for (_, j) in c.state.jobs(None, usize::MAX).unwrap() {
        assert!(
            !matches!(j.status, JobStatus::Pending | JobStatus::Assigned),
            "job {} still open",
            j.id
        );
    }
    for (_, p) in c.state.providers(None, usize::MAX).unwrap() {
        assert_eq!((p.open_jobs, p.unbonding), (0, 0));
    }
    c
}

/// Every invariant: bank supply equals balances; the only new tokens are
/// minted rewards; the module account holds exactly bonds, unbondings and
/// open escrow; the treasury holds exactly the slashes; each job's escrow is
/// paid out or refunded to the last udeai; assignments are distinct.
fn check_all(c: &Chain, start_supply: u128) {
    c.check_books();
    let sum = |kind: &str, key: &str| -> u128 {
        of_kind(&c.events, kind)
            .iter()
            .map(|e| attr(e, key).parse::<u128>().unwrap())
            .sum()
    };
    assert_eq!(
        c.supply(),
        start_supply + sum("compute_provider_paid", "reward")
    );
    assert_eq!(
        c.bal(&treasury_address()),
        sum("compute_provider_slashed", "amount")
    );
    let mut paid: BTreeMap<u64, u128> = BTreeMap::new();
    for e in of_kind(&c.events, "compute_provider_paid") {
        *paid.entry(attr(e, "job_id").parse().unwrap()).or_default() +=
            attr(e, "price").parse::<u128>().unwrap();
    }
    let mut refunded: BTreeMap<u64, u128> = BTreeMap::new();
    for kind in ["compute_job_settled", "compute_job_expired"] {
        for e in of_kind(&c.events, kind) {
            let id: u64 = attr(e, "job_id").parse().unwrap();
            assert!(
                refunded
                    .insert(id, attr(e, "refund").parse().unwrap())
                    .is_none(),
                "job {id} closed twice"
            );
        }
    }
    // Minting: never above the price, never without three replicas, never
    // above the epoch cap.
    let mut minted_per_epoch: BTreeMap<u64, u128> = BTreeMap::new();
    for e in of_kind(&c.events, "compute_provider_paid") {
        let id: u64 = attr(e, "job_id").parse().unwrap();
        let reward: u128 = attr(e, "reward").parse().unwrap();
        let j = c.state.job(id).unwrap().unwrap();
        assert!(
            reward <= j.price_per_replica,
            "job {id} minted above its price"
        );
        if j.replication < 3 {
            assert_eq!(reward, 0, "job {id} with R < 3 minted");
        }
        *minted_per_epoch.entry(j.settled_height / 100).or_default() += reward;
    }
    assert!(minted_per_epoch.values().all(|m| *m <= 1_000_000));
    // The sampling index holds exactly the eligible providers' bonds.
    let p = c.state.compute_params().unwrap();
    let mut eligible = 0u64;
    for (_, prov) in c.state.providers(None, usize::MAX).unwrap() {
        let w = crate::sampler::eligible_weight(&prov, &p);
        assert_eq!(
            crate::sampler::weight_of(&c.state, &prov.address).unwrap(),
            w
        );
        eligible += u64::from(w > 0);
    }
    assert_eq!(crate::sampler::eligible_count(&c.state).unwrap(), eligible);
    for (_, j) in c.state.jobs(None, usize::MAX).unwrap() {
        let full = j.price_per_replica * u128::from(j.replication);
        match j.status {
            JobStatus::Pending | JobStatus::Assigned => {
                assert_eq!(j.escrow, full);
                assert!(!refunded.contains_key(&j.id));
            }
            _ => {
                assert_eq!(j.escrow, 0);
                let out = paid.get(&j.id).copied().unwrap_or(0) + refunded[&j.id];
                assert_eq!(out, full, "job {} escrow split", j.id);
            }
        }
        if j.status != JobStatus::Pending && !j.assignments.is_empty() {
            let distinct: BTreeSet<_> = j.assignments.iter().map(|a| a.provider).collect();
            assert_eq!(distinct.len(), j.replication as usize);
            assert!(!distinct.contains(&j.requester));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_history_balances_escrow_payouts_slashes_and_rewards_exactly(
        ops in proptest::collection::vec(op(), 1..80)
    ) {
        run(&ops);
    }

    #[test]
    fn the_same_history_gives_the_same_state(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let a = run(&ops);
        let b = run(&ops);
        prop_assert_eq!(a.state.0, b.state.0);
    }
}
