//! Job, provider and governance flows, block by block.

use deai_proto::compute::v1 as pb;
use deai_types::{Overlay, StateWrite};

use super::*;
use crate::{
    gov_address, module_address,
    msg::{SubmitJob, UpdateParams},
    state_key, treasury_address, JobStatus, Kind,
};

/// A chain at height 1 with `n` registered providers `addr(1..=n)` bonded
/// `BOND` each, and the requester `REQ`.
fn setup(n: u8) -> Chain {
    setup_with(params(), n)
}

#[test]
fn honest_providers_agree_and_are_paid_price_plus_reward() {
    let mut c = setup(3);
    let supply = c.supply();
    let id = c.submit(REQ, 3, 1_000).unwrap();
    assert_eq!(c.bal(&REQ), FUNDS - 3_000);
    assert_eq!(c.job(id).status, JobStatus::Pending);
    c.check_books();

    let ev = c.advance();
    let job = c.job(id);
    assert_eq!(job.status, JobStatus::Assigned);
    assert_eq!(
        (
            job.assigned_height,
            job.commit_deadline,
            job.reveal_deadline
        ),
        (2, 5, 8)
    );
    let assigned_ev = of_kind(&ev, "compute_job_assigned");
    assert_eq!(assigned_ev.len(), 1);
    let listed: Vec<&str> = assigned_ev[0]
        .attributes
        .iter()
        .filter(|(k, _)| k == "provider")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(listed.len(), 3);

    for p in assigned(&c, id) {
        c.commit(p, id, b"ok").unwrap();
    }
    for p in assigned(&c, id) {
        c.reveal(p, id, b"ok").unwrap();
    }
    c.advance_to(8);
    assert_eq!(
        c.job(id).status,
        JobStatus::Assigned,
        "settles at the reveal deadline"
    );
    let ev = c.advance();
    let job = c.job(id);
    assert_eq!(job.status, JobStatus::Finalized);
    assert_eq!(job.result_hash, Some(sha3(&[b"ok"])));
    assert_eq!(job.output, b"ok");
    assert_eq!(job.escrow, 0);
    assert_eq!(job.settled_height, 8);
    assert_eq!(of_kind(&ev, "compute_provider_paid").len(), 3);
    // R = 3 and three agree: one work unit at 7, below the price, is minted.
    let reward = 7;
    for i in 1..=3 {
        assert_eq!(c.bal(&addr(i)), FUNDS - BOND + 1_000 + reward);
        assert_eq!(c.state.provider(&addr(i)).unwrap().unwrap().open_jobs, 0);
    }
    assert_eq!(c.bal(&REQ), FUNDS - 3_000);
    assert_eq!(c.supply(), supply + 3 * reward);
    assert_eq!(c.bal(&treasury_address()), 0);
    c.check_books();
}

#[test]
fn a_provider_with_a_minority_result_is_slashed_to_the_treasury() {
    let mut c = setup(3);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    let ps = assigned(&c, id);
    let results: [&[u8]; 3] = [b"ok", b"ok", b"bad"];
    for (p, r) in ps.iter().zip(results) {
        c.commit(*p, id, r).unwrap();
    }
    for (p, r) in ps.iter().zip(results) {
        c.reveal(*p, id, r).unwrap();
    }
    let ev = c.advance_to(9);
    let slashed = of_kind(&ev, "compute_provider_slashed");
    assert_eq!(slashed.len(), 1);
    assert_eq!(attr(slashed[0], "reason"), "wrong");
    assert_eq!(attr(slashed[0], "provider"), ps[2].to_bech32());
    let cut = BOND / 10;
    assert_eq!(c.bal(&treasury_address()), cut);
    let loser = c.state.provider(&ps[2]).unwrap().unwrap();
    assert_eq!(loser.bond, BOND - cut);
    assert!(
        !loser.is_jailed(c.height),
        "a wrong result is slashed, not jailed"
    );
    assert_eq!(c.bal(&ps[2]), FUNDS - BOND, "a minority result is not paid");
    // One replica went unpaid: its price returns to the requester.
    assert_eq!(c.bal(&REQ), FUNDS - 2_000);
    assert_eq!(c.job(id).status, JobStatus::Finalized);
    c.check_books();
}

#[test]
fn providers_that_never_reveal_or_never_commit_are_slashed_less_and_jailed() {
    let mut c = setup(5);
    let id = c.submit(REQ, 5, 1_000).unwrap();
    c.advance();
    let ps = assigned(&c, id);
    for p in &ps[..4] {
        c.commit(*p, id, b"ok").unwrap();
    }
    c.advance_to(6); // past the commit deadline: reveals open without ps[4]'s commitment
    for p in &ps[..3] {
        c.reveal(*p, id, b"ok").unwrap();
    }
    let ev = c.advance_to(9);
    let slashed = of_kind(&ev, "compute_provider_slashed");
    assert_eq!(slashed.len(), 2);
    let cut = BOND / 50;
    for (e, p) in slashed.iter().zip(&ps[3..]) {
        assert_eq!(attr(e, "reason"), "missed");
        assert_eq!(attr(e, "provider"), p.to_bech32());
        assert_eq!(attr(e, "amount"), cut.to_string());
    }
    assert_eq!(c.bal(&treasury_address()), 2 * cut);
    assert_eq!(of_kind(&ev, "compute_provider_jailed").len(), 2);
    for p in &ps[3..] {
        let prov = c.state.provider(p).unwrap().unwrap();
        assert_eq!(prov.jailed_until, 8 + 5);
        assert_eq!(prov.bond, BOND - cut);
    }
    assert_eq!(c.job(id).status, JobStatus::Finalized);
    assert_eq!(c.bal(&REQ), FUNDS - 3_000);
    c.check_books();

    // While jailed the two are not eligible: a job for all five is refused
    // at submission (it could not be assigned).
    assert!(matches!(
        c.submit(REQ, 5, 10),
        Err(ComputeError::InvalidJob(_))
    ));
    c.advance_to(13);
    let ev = c.advance(); // end_block(13) ends the terms and clears the records
    assert_eq!(of_kind(&ev, "compute_provider_unjailed").len(), 2);
    assert_eq!(c.state.provider(&ps[4]).unwrap().unwrap().jailed_until, 0);
    assert!(!has_prefix(&c.state, &state_key::jail_prefix()));
    let id2 = c.submit(REQ, 5, 10).unwrap();
    c.advance();
    assert_eq!(c.job(id2).status, JobStatus::Assigned);
    assert_eq!(assigned(&c, id2).len(), 5);
    c.check_books();
}

#[test]
fn a_one_one_one_split_refunds_the_requester_and_marks_the_job_disputed() {
    let mut c = setup(3);
    let supply = c.supply();
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    let ps = assigned(&c, id);
    let results: [&[u8]; 3] = [b"a", b"b", b"c"];
    for (p, r) in ps.iter().zip(results) {
        c.commit(*p, id, r).unwrap();
    }
    for (p, r) in ps.iter().zip(results) {
        c.reveal(*p, id, r).unwrap();
    }
    let ev = c.advance_to(9);
    let job = c.job(id);
    assert_eq!(job.status, JobStatus::Disputed);
    assert_eq!(job.result_hash, None);
    assert_eq!(c.bal(&REQ), FUNDS);
    assert!(of_kind(&ev, "compute_provider_slashed").is_empty());
    assert!(of_kind(&ev, "compute_provider_paid").is_empty());
    let settled = of_kind(&ev, "compute_job_settled");
    assert_eq!(attr(settled[0], "status"), "disputed");
    assert_eq!(attr(settled[0], "refund"), "3000");
    assert_eq!(c.supply(), supply);
    c.check_books();
}

#[test]
fn a_two_two_split_of_four_has_no_strict_majority() {
    let mut c = setup(4);
    let id = c.submit(REQ, 4, 100).unwrap();
    c.advance();
    let ps = assigned(&c, id);
    let results: [&[u8]; 4] = [b"a", b"a", b"b", b"b"];
    for (p, r) in ps.iter().zip(results) {
        c.commit(*p, id, r).unwrap();
    }
    for (p, r) in ps.iter().zip(results) {
        c.reveal(*p, id, r).unwrap();
    }
    c.advance_to(9);
    assert_eq!(c.job(id).status, JobStatus::Disputed);
    assert_eq!(c.bal(&REQ), FUNDS);
    c.check_books();
}

#[test]
fn a_reveal_not_matching_its_commitment_is_rejected_and_changes_nothing() {
    let mut c = setup(3);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    let ps = assigned(&c, id);
    for p in &ps {
        c.commit(*p, id, b"ok").unwrap();
    }
    let ctx = c.ctx();
    for bad in [
        reveal_any(ps[0], id, b"ok", b"another salt"),
        reveal_any(ps[0], id, b"not what was committed", &salt(ps[0])),
        // The right result and salt, revealed by another provider.
        reveal_any(ps[1], id, b"ok", &salt(ps[0])),
    ] {
        let msg = Msg::from_any(&bad).unwrap();
        let mut scratch = Overlay::new(&c.state);
        let err = msg.execute(&mut scratch, &ctx).unwrap_err();
        assert!(
            matches!(err, ComputeError::CommitmentMismatch { job_id, .. } if job_id == id),
            "{err}"
        );
        assert!(err.to_string().contains("does not match the commitment"));
        assert!(
            scratch.changes().is_empty(),
            "a rejected reveal writes nothing"
        );
    }
    // The honest reveal still goes through afterwards.
    c.reveal(ps[0], id, b"ok").unwrap();
    assert!(matches!(
        c.reveal(ps[0], id, b"ok"),
        Err(ComputeError::AlreadyRevealed { .. })
    ));
}

#[test]
fn reveals_open_once_every_provider_has_committed_or_the_commit_deadline_passed() {
    let mut c = setup(3);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    let ps = assigned(&c, id);
    c.commit(ps[0], id, b"ok").unwrap();
    c.commit(ps[1], id, b"ok").unwrap();
    assert!(matches!(
        c.reveal(ps[0], id, b"ok"),
        Err(ComputeError::WrongPhase { .. })
    ));
    c.commit(ps[2], id, b"ok").unwrap();
    c.reveal(ps[0], id, b"ok").unwrap();

    let id2 = c.submit(REQ, 3, 1_000).unwrap();
    c.advance(); // height 3: assigned, commit deadline 6
    let ps = assigned(&c, id2);
    c.commit(ps[0], id2, b"ok").unwrap();
    c.advance_to(6);
    assert!(matches!(
        c.reveal(ps[0], id2, b"ok"),
        Err(ComputeError::WrongPhase { .. })
    ));
    c.advance(); // height 7: the commit phase is over
    assert!(matches!(
        c.commit(ps[1], id2, b"ok"),
        Err(ComputeError::WrongPhase { .. })
    ));
    c.reveal(ps[0], id2, b"ok").unwrap();
    assert!(matches!(
        c.reveal(ps[1], id2, b"ok"),
        Err(ComputeError::NotCommitted { .. })
    ));
}

#[test]
fn commits_are_refused_from_outsiders_twice_and_after_the_deadline() {
    let mut c = setup(4);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    assert!(matches!(
        c.commit(addr(1), id, b"ok"),
        Err(ComputeError::WrongPhase { .. })
    ));
    c.advance();
    let ps = assigned(&c, id);
    let outsider = (1..=4).map(addr).find(|a| !ps.contains(a)).unwrap();
    assert!(matches!(
        c.commit(outsider, id, b"ok"),
        Err(ComputeError::NotAssigned { .. })
    ));
    c.commit(ps[0], id, b"ok").unwrap();
    assert!(matches!(
        c.commit(ps[0], id, b"ok"),
        Err(ComputeError::AlreadyCommitted { .. })
    ));
    c.advance_to(6);
    assert!(matches!(
        c.commit(ps[1], id, b"ok"),
        Err(ComputeError::WrongPhase { .. })
    ));
    assert!(matches!(
        c.commit(ps[1], 99, b"ok"),
        Err(ComputeError::JobNotFound(99))
    ));
}

#[test]
fn a_single_replica_job_pays_the_price_on_reveal_and_mints_nothing() {
    // Issue 10 item 7: one unverified reveal used to mint the reward too.
    let mut c = setup(3);
    let id = c.submit(REQ, 1, 500).unwrap();
    c.advance();
    let p = assigned(&c, id)[0];
    c.commit(p, id, b"anything").unwrap();
    let ev = c.reveal(p, id, b"anything").unwrap();
    assert_eq!(of_kind(&ev, "compute_provider_paid").len(), 1);
    assert_eq!(of_kind(&ev, "compute_job_settled").len(), 1);
    let job = c.job(id);
    assert_eq!(job.status, JobStatus::Finalized);
    assert_eq!(job.settled_height, 2);
    assert_eq!(job.output, b"anything");
    let supply = c.supply();
    assert_eq!(c.bal(&p), FUNDS - BOND + 500);
    assert_eq!(
        attr(of_kind(&ev, "compute_provider_paid")[0], "reward"),
        "0"
    );
    // The settlement entry stays queued (no deletion marker ahead of the
    // cursor) and is skipped when due.
    assert!(has_prefix(&c.state, &state_key::settlement_prefix()));
    assert_eq!(c.state.provider(&p).unwrap().unwrap().open_jobs, 0);
    let ev = c.advance_to(10);
    assert!(of_kind(&ev, "compute_provider_paid").is_empty());
    assert!(!has_prefix(&c.state, &state_key::settlement_prefix()));
    assert_eq!(c.bal(&p), FUNDS - BOND + 500);
    assert_eq!(c.supply(), supply);
    c.check_books();
}

#[test]
fn a_job_nobody_revealed_is_refunded_and_nobody_is_slashed_or_jailed() {
    // Issue 10 item 6: an input no honest node can run is skipped by all of
    // them; slashing them for it let an attacker knock honest providers out.
    for r in [1u32, 3] {
        let mut c = setup(3);
        let id = c.submit(REQ, r, 500).unwrap();
        c.advance();
        let ps = assigned(&c, id);
        c.commit(ps[0], id, b"committed but never revealed")
            .unwrap();
        let ev = c.advance_to(9);
        let job = c.job(id);
        assert_eq!(job.status, JobStatus::Expired);
        assert_eq!(c.bal(&REQ), FUNDS);
        assert!(of_kind(&ev, "compute_provider_slashed").is_empty());
        assert!(of_kind(&ev, "compute_provider_jailed").is_empty());
        let settled = of_kind(&ev, "compute_job_settled");
        assert_eq!(attr(settled[0], "outcome"), "no_reveals");
        for p in ps {
            let prov = c.state.provider(&p).unwrap().unwrap();
            assert_eq!((prov.bond, prov.jailed_until, prov.open_jobs), (BOND, 0, 0));
        }
        assert_eq!(c.bal(&treasury_address()), 0);
        c.check_books();
    }
}

#[test]
fn a_job_from_the_treasury_module_account_is_paid_from_and_refunded_to_the_treasury() {
    let mut c = setup(3);
    let treasury = treasury_address();
    c.state.mint(&treasury, &[Coin::new(50_000, D)]).unwrap();
    let submit = |tag: &[u8]| {
        let input = gemm(tag);
        let input = input.as_slice();
        Msg::SubmitJob(SubmitJob {
            requester: treasury,
            kind: Kind::GemmI8,
            model_id: None,
            input: input.to_vec(),
            input_hash: sha3(&[input]),
            replication: 3,
            price_per_replica: 1_000,
            deadline: None,
        })
    };
    // A job the app builds directly is checked as a decoded one is.
    let mut forged = submit(b"first");
    if let Msg::SubmitJob(j) = &mut forged {
        j.input_hash = sha3(&[b"other"]);
    }
    assert!(matches!(
        c.exec(&forged),
        Err(ComputeError::InputHashMismatch { .. })
    ));
    let mut own = submit(b"first");
    if let Msg::SubmitJob(j) = &mut own {
        j.requester = module_address();
    }
    assert!(matches!(c.exec(&own), Err(ComputeError::InvalidAddress(_))));
    c.exec(&submit(b"first")).unwrap();
    c.exec(&submit(b"second")).unwrap();
    assert_eq!(c.bal(&treasury), 44_000);
    c.advance();
    for (id, results) in [(1u64, [b"x", b"x", b"x"]), (2, [b"x", b"y", b"z"])] {
        let ps = assigned(&c, id);
        for (p, r) in ps.iter().zip(results) {
            c.commit(*p, id, r).unwrap();
        }
        for (p, r) in ps.iter().zip(results) {
            c.reveal(*p, id, r).unwrap();
        }
    }
    c.advance_to(9);
    assert_eq!(c.job(1).status, JobStatus::Finalized);
    assert_eq!(c.job(2).status, JobStatus::Disputed);
    // Job 1 cost 3000; job 2 was refunded in full.
    assert_eq!(c.bal(&treasury), 47_000);
    c.check_books();
}

#[test]
fn a_job_without_enough_eligible_providers_waits_then_expires_with_a_refund() {
    let mut c = setup(3);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    // Enough providers at submission, but one drops below the minimum bond.
    unbond(&mut c, addr(3), BOND - 1);
    c.advance_to(5);
    assert_eq!(c.job(id).status, JobStatus::Pending);
    assert_eq!(c.bal(&REQ), FUNDS - 3_000);
    let ev = c.advance(); // height 6: waited 5 blocks, more than max_pending_blocks
    assert_eq!(of_kind(&ev, "compute_job_expired").len(), 1);
    let job = c.job(id);
    assert_eq!(job.status, JobStatus::Expired);
    assert_eq!(job.escrow, 0);
    assert_eq!(c.bal(&REQ), FUNDS);
    assert!(!has_prefix(&c.state, &state_key::pending_prefix()));
    c.check_books();
}

#[test]
fn a_waiting_job_is_assigned_once_enough_providers_are_eligible_again() {
    let mut c = setup(3);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    unbond(&mut c, addr(3), BOND - 1);
    c.advance_to(3);
    assert_eq!(c.job(id).status, JobStatus::Pending);
    bond(&mut c, addr(3), BOND);
    // Examined at 2 (waited 1: next at 3) and 3 (waited 2: next at 5).
    c.advance();
    assert_eq!(c.job(id).status, JobStatus::Pending);
    c.advance();
    assert_eq!(c.job(id).status, JobStatus::Assigned);
    assert_eq!(c.job(id).assigned_height, 5);
}

#[test]
fn the_requester_is_never_assigned_its_own_job() {
    let mut c = setup(3);
    let id = c.submit(addr(1), 2, 1_000).unwrap();
    c.advance();
    let ps = assigned(&c, id);
    assert_eq!(ps.len(), 2);
    assert!(!ps.contains(&addr(1)));
    // Only two providers besides the requester: R = 3 is refused outright.
    assert!(matches!(
        c.submit(addr(1), 3, 1_000),
        Err(ComputeError::InvalidJob(_))
    ));
}

#[test]
fn settlements_beyond_the_per_block_limit_carry_over_to_the_next_block() {
    let mut accounts: Vec<Address> = (1..=2).map(addr).collect();
    accounts.push(REQ);
    let mut c = Chain::new(
        ComputeParams {
            max_settlements_per_block: 1,
            ..params()
        },
        &accounts,
        FUNDS,
    );
    c.register(addr(1), BOND);
    c.register(addr(2), BOND);
    let ids: Vec<u64> = (0..3).map(|_| c.submit(REQ, 2, 10).unwrap()).collect();
    c.advance();
    for &id in &ids {
        for p in assigned(&c, id) {
            c.commit(p, id, b"ok").unwrap();
        }
        for p in assigned(&c, id) {
            c.reveal(p, id, b"ok").unwrap();
        }
    }
    c.advance_to(11);
    let heights: Vec<u64> = ids.iter().map(|&id| c.job(id).settled_height).collect();
    assert_eq!(heights, vec![8, 9, 10]);
    assert!(ids
        .iter()
        .all(|&id| c.job(id).status == JobStatus::Finalized));
    c.check_books();
}

#[test]
fn an_unbonding_is_paid_out_after_the_unbonding_period() {
    let mut c = setup(3);
    let unbond = |p: Address, amount: u128| {
        Msg::from_any(&pack(
            crate::MSG_UNBOND_TYPE_URL,
            &pb::MsgUnbond {
                provider: p.to_bech32(),
                amount: amount.to_string(),
            },
        ))
        .unwrap()
    };
    let ev = c.exec(&unbond(addr(1), 500_000)).unwrap();
    assert_eq!(attr(ev.last().unwrap(), "completion_height"), "11");
    let p = c.state.provider(&addr(1)).unwrap().unwrap();
    assert_eq!((p.bond, p.unbonding), (BOND - 500_000, 500_000));
    assert!(matches!(
        c.exec(&unbond(addr(1), BOND)),
        Err(ComputeError::InsufficientBond { .. })
    ));
    c.check_books();
    c.advance_to(11);
    assert_eq!(c.bal(&addr(1)), FUNDS - BOND);
    let ev = c.advance(); // end_block(11)
    assert_eq!(of_kind(&ev, "compute_provider_unbonded").len(), 1);
    assert_eq!(c.bal(&addr(1)), FUNDS - BOND + 500_000);
    assert_eq!(c.state.provider(&addr(1)).unwrap().unwrap().unbonding, 0);
    assert!(!has_prefix(&c.state, &state_key::unbonding_prefix()));
    c.check_books();
}

#[test]
fn a_provider_cannot_unbond_while_it_has_unsettled_jobs() {
    let mut c = setup(3);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    let p = assigned(&c, id)[0];
    let msg = Msg::from_any(&pack(
        crate::MSG_UNBOND_TYPE_URL,
        &pb::MsgUnbond {
            provider: p.to_bech32(),
            amount: "1".into(),
        },
    ))
    .unwrap();
    assert!(matches!(
        c.exec(&msg),
        Err(ComputeError::OpenJobs { open_jobs: 1, .. })
    ));
    c.advance_to(9);
    c.exec(&msg).unwrap();
}

#[test]
fn bonding_adds_to_the_bond_and_registration_checks_the_minimum() {
    let mut c = setup(1);
    bond(&mut c, addr(1), 5);
    assert_eq!(c.state.provider(&addr(1)).unwrap().unwrap().bond, BOND + 5);
    let again = pack(
        crate::MSG_REGISTER_PROVIDER_TYPE_URL,
        &pb::MsgRegisterProvider {
            provider: addr(1).to_bech32(),
            bond: BOND.to_string(),
            device: String::new(),
        },
    );
    assert!(matches!(
        c.exec_any(&again),
        Err(ComputeError::ProviderExists(_))
    ));
    let small = pack(
        crate::MSG_REGISTER_PROVIDER_TYPE_URL,
        &pb::MsgRegisterProvider {
            provider: REQ.to_bech32(),
            bond: "999999".into(),
            device: String::new(),
        },
    );
    assert!(matches!(
        c.exec_any(&small),
        Err(ComputeError::BondTooSmall {
            min: 1_000_000,
            got: 999_999
        })
    ));
    let broke = pack(
        crate::MSG_REGISTER_PROVIDER_TYPE_URL,
        &pb::MsgRegisterProvider {
            provider: addr(77).to_bech32(),
            bond: BOND.to_string(),
            device: String::new(),
        },
    );
    assert!(matches!(c.exec_any(&broke), Err(ComputeError::Bank(_))));
    assert!(c.state.provider(&addr(77)).unwrap().is_none());
    c.check_books();
}

fn update_params(authority: Address, p: &ComputeParams) -> Any {
    pack(
        crate::MSG_UPDATE_PARAMS_TYPE_URL,
        &pb::MsgUpdateParams {
            authority: authority.to_bech32(),
            params: Some(p.to_proto()),
        },
    )
}

#[test]
fn params_are_updated_only_by_the_gov_authority() {
    let mut c = setup(0);
    let new = ComputeParams {
        commit_window: 9,
        ..params()
    };
    let err = c.exec_any(&update_params(addr(1), &new)).unwrap_err();
    assert!(matches!(err, ComputeError::Unauthorized { .. }));
    assert_eq!(c.state.compute_params().unwrap(), params());
    assert!(matches!(
        c.exec_any(&update_params(module_address(), &new)),
        Err(ComputeError::Unauthorized { .. })
    ));
    c.exec_any(&update_params(gov_address(), &new)).unwrap();
    assert_eq!(c.state.compute_params().unwrap(), new);
    let invalid = ComputeParams {
        max_replication: 0,
        ..params()
    };
    assert!(matches!(
        Msg::from_any(&update_params(gov_address(), &invalid)),
        Err(ComputeError::InvalidParams(_))
    ));
    // A typed message from the app's governance glue works the same.
    let msg = Msg::UpdateParams(UpdateParams {
        authority: gov_address(),
        params: params(),
    });
    assert_eq!(msg.signer(), gov_address());
    c.exec(&msg).unwrap();
    assert_eq!(c.state.compute_params().unwrap(), params());
}

fn model(weights: &[u8]) -> pb::Model {
    pb::Model {
        id: hex::encode(sha3(&[weights])),
        name: "minilm".into(),
        architecture: "bert".into(),
        quantization: "int8".into(),
        license: "Apache-2.0".into(),
        size_bytes: 22_000_000,
    }
}

fn embed_any(model_id: &str) -> Any {
    let input = b"hello";
    pack(
        crate::MSG_SUBMIT_JOB_TYPE_URL,
        &pb::MsgSubmitJob {
            requester: REQ.to_bech32(),
            kind: "embed".into(),
            model_id: model_id.into(),
            input: input.to_vec(),
            input_hash: sha3(&[input]).to_vec(),
            replication: 1,
            price_per_replica: "10".into(),
            deadline: 0,
        },
    )
}

#[test]
fn the_model_registry_is_changed_only_by_governance() {
    let mut c = setup(1);
    let m = model(b"weights");
    let register = |authority: Address| {
        pack(
            crate::MSG_REGISTER_MODEL_TYPE_URL,
            &pb::MsgRegisterModel {
                authority: authority.to_bech32(),
                model: Some(m.clone()),
            },
        )
    };
    let remove = |authority: Address| {
        pack(
            crate::MSG_REMOVE_MODEL_TYPE_URL,
            &pb::MsgRemoveModel {
                authority: authority.to_bech32(),
                model_id: m.id.clone(),
            },
        )
    };
    assert!(matches!(
        c.exec_any(&embed_any(&m.id)),
        Err(ComputeError::ModelNotFound(_))
    ));
    assert!(matches!(
        c.exec_any(&register(REQ)),
        Err(ComputeError::Unauthorized { .. })
    ));
    let ev = c.exec_any(&register(gov_address())).unwrap();
    assert_eq!(attr(&ev[0], "model_id"), m.id);
    assert!(matches!(
        c.exec_any(&register(gov_address())),
        Err(ComputeError::ModelExists(_))
    ));
    c.exec_any(&embed_any(&m.id)).unwrap();
    assert!(matches!(
        c.exec_any(&remove(REQ)),
        Err(ComputeError::Unauthorized { .. })
    ));
    c.exec_any(&remove(gov_address())).unwrap();
    assert!(c.state.model(&m.id).unwrap().is_none());
    assert!(matches!(
        c.exec_any(&embed_any(&m.id)),
        Err(ComputeError::ModelNotFound(_))
    ));
    assert!(matches!(
        c.exec_any(&remove(gov_address())),
        Err(ComputeError::ModelNotFound(_))
    ));
    let mut bad = m.clone();
    bad.id = "XYZ".into();
    assert!(matches!(
        Msg::from_any(&pack(
            crate::MSG_REGISTER_MODEL_TYPE_URL,
            &pb::MsgRegisterModel {
                authority: gov_address().to_bech32(),
                model: Some(bad),
            },
        )),
        Err(ComputeError::InvalidModel(_))
    ));
}

#[test]
fn malformed_submissions_are_rejected_before_any_escrow() {
    let mut c = setup(5);
    let mut m = pb::MsgSubmitJob {
        requester: REQ.to_bech32(),
        kind: "gemm-i8".into(),
        model_id: String::new(),
        input: gemm(b"abc"),
        input_hash: sha3(&[b"abd"]).to_vec(),
        replication: 1,
        price_per_replica: "10".into(),
        deadline: 0,
    };
    let try_msg = |m: &pb::MsgSubmitJob| Msg::from_any(&pack(crate::MSG_SUBMIT_JOB_TYPE_URL, m));
    assert!(matches!(
        try_msg(&m),
        Err(ComputeError::InputHashMismatch { .. })
    ));
    m.input_hash = sha3(&[&gemm(b"abc")]).to_vec();
    try_msg(&m).unwrap();
    m.replication = 0;
    assert!(matches!(try_msg(&m), Err(ComputeError::InvalidJob(_))));
    m.replication = 1;
    m.price_per_replica = "0".into();
    assert!(matches!(try_msg(&m), Err(ComputeError::InvalidAmount(_))));
    m.price_per_replica = "10".into();
    m.kind = "embed".into();
    assert!(matches!(try_msg(&m), Err(ComputeError::InvalidKind(_))));
    m.kind = "gemm-i8".into();
    m.model_id = hex::encode(sha3(&[b"w"]));
    assert!(matches!(try_msg(&m), Err(ComputeError::InvalidKind(_))));
    m.model_id = String::new();
    m.kind = "mine-bitcoin".into();
    assert!(matches!(try_msg(&m), Err(ComputeError::InvalidKind(_))));

    assert!(matches!(
        c.exec_any(&submit_any(REQ, 6, 10, &gemm(b"x"))),
        Err(ComputeError::InvalidJob(_))
    ));
    assert!(matches!(
        c.exec_any(&submit_any(REQ, 1, 10, &gemm(&[0u8; 2100]))),
        Err(ComputeError::InvalidJob(_))
    ));
    assert!(matches!(
        c.exec_any(&submit_any(REQ, 5, FUNDS, &gemm(b"x"))),
        Err(ComputeError::Bank(_))
    ));
    assert!(matches!(
        c.exec_any(&submit_any(REQ, 2, u128::MAX, &gemm(b"x"))),
        Err(ComputeError::Overflow(_))
    ));
    assert_eq!(c.bal(&REQ), FUNDS);
    assert!(c.state.job(1).unwrap().is_none());
    c.check_books();
}

#[test]
fn reveals_check_output_size_and_hash() {
    let mut c = setup(1);
    let id = c.submit(REQ, 1, 10).unwrap();
    c.advance();
    let p = addr(1);
    let big = vec![1u8; 257];
    c.commit(p, id, &big).unwrap();
    assert!(matches!(
        c.reveal(p, id, &big),
        Err(ComputeError::InvalidReveal(_))
    ));
    let mut m = pb::MsgRevealResult {
        provider: p.to_bech32(),
        job_id: id,
        result_hash: sha3(&[b"x"]).to_vec(),
        salt: salt(p),
        output: b"y".to_vec(),
    };
    let decode =
        |m: &pb::MsgRevealResult| Msg::from_any(&pack(crate::MSG_REVEAL_RESULT_TYPE_URL, m));
    assert!(matches!(decode(&m), Err(ComputeError::InvalidReveal(_))));
    m.output.clear();
    decode(&m).unwrap();
    m.salt.clear();
    assert!(matches!(decode(&m), Err(ComputeError::InvalidReveal(_))));
    m.salt = salt(p);
    m.result_hash.pop();
    assert!(matches!(decode(&m), Err(ComputeError::InvalidReveal(_))));
    // Without output bytes a reveal still settles, by hash alone.
    let ok = pb::MsgRevealResult {
        provider: p.to_bech32(),
        job_id: id,
        result_hash: sha3(&[&big]).to_vec(),
        salt: salt(p),
        output: Vec::new(),
    };
    c.exec_any(&pack(crate::MSG_REVEAL_RESULT_TYPE_URL, &ok))
        .unwrap();
    assert_eq!(c.job(id).status, JobStatus::Finalized);
    assert!(c.job(id).output.is_empty());
    c.check_books();
}

#[test]
fn params_changed_mid_job_leave_assigned_deadlines_alone() {
    let mut c = setup(3);
    let id = c.submit(REQ, 3, 10).unwrap();
    c.advance();
    let before = c.job(id);
    c.exec(&Msg::UpdateParams(UpdateParams {
        authority: gov_address(),
        params: ComputeParams {
            commit_window: 50,
            reveal_window: 50,
            ..params()
        },
    }))
    .unwrap();
    assert_eq!(c.job(id).reveal_deadline, before.reveal_deadline);
    c.advance_to(9);
    assert_ne!(c.job(id).status, JobStatus::Assigned);
    // Writing the params directly also validates them.
    let mut s = c.state.clone();
    assert!(s
        .put_compute_params(&ComputeParams {
            jail_period: 0,
            ..params()
        })
        .is_err());
    s.delete_raw(state_key::params()).unwrap();
    assert_eq!(s.compute_params().unwrap(), ComputeParams::default());
}

#[test]
fn missing_work_again_while_jailed_extends_the_jail_term_once() {
    let mut c = setup(2);
    // Two jobs for both providers; addr(2) answers both, addr(1) neither.
    let a = c.submit(REQ, 2, 10).unwrap();
    c.advance(); // a assigned at 2, settles at 8
    c.commit(addr(2), a, b"ok").unwrap();
    let b = c.submit(REQ, 2, 10).unwrap();
    c.advance(); // b assigned at 3, settles at 9
    assert_eq!(c.job(b).status, JobStatus::Assigned);
    c.commit(addr(2), b, b"ok").unwrap();
    c.advance_to(7);
    c.reveal(addr(2), a, b"ok").unwrap();
    c.reveal(addr(2), b, b"ok").unwrap();
    c.advance_to(9); // end_block(8) settles a: addr(1) jailed until 13
    assert_eq!(c.job(a).status, JobStatus::Disputed);
    assert_eq!(
        c.state.provider(&addr(1)).unwrap().unwrap().jailed_until,
        13
    );
    c.advance(); // end_block(9) settles b: jailed until 14
    let p = c.state.provider(&addr(1)).unwrap().unwrap();
    assert_eq!(p.jailed_until, 14);
    assert_eq!(c.state.provider(&addr(2)).unwrap().unwrap().jailed_until, 0);
    // The release at 13 stays queued (deleting it would leave a deletion
    // marker ahead of the queue's cursor) and is skipped when due.
    let releases = c
        .state
        .prefix_raw(&state_key::jail_prefix(), None, 10)
        .unwrap();
    let heights: Vec<u64> = releases
        .iter()
        .map(|(k, _)| state_key::parse_jail(k).unwrap().0)
        .collect();
    assert_eq!(heights, vec![13, 14]);
    let ev = c.advance_to(14); // end_block(13)
    assert!(of_kind(&ev, "compute_provider_unjailed").is_empty());
    assert_eq!(
        c.state.provider(&addr(1)).unwrap().unwrap().jailed_until,
        14
    );
    let ev = c.advance(); // end_block(14)
    assert_eq!(of_kind(&ev, "compute_provider_unjailed").len(), 1);
    assert_eq!(c.state.provider(&addr(1)).unwrap().unwrap().jailed_until, 0);
    assert!(!has_prefix(&c.state, &state_key::jail_prefix()));
    assert_eq!(c.bal(&REQ), FUNDS);
    c.check_books();
}

/// The test params with a 2:1 commit:reveal split, so placement shows.
fn deadline_params() -> ComputeParams {
    ComputeParams {
        commit_window: 6,
        reveal_window: 3,
        ..params()
    }
}

#[test]
fn a_job_with_a_deadline_settles_by_it_with_its_life_split_like_the_windows() {
    let mut c = setup_with(deadline_params(), 3);
    // Submitted at 1, assigned at 2: 5 blocks to the deadline 7, split 6:3,
    // 3 to commit (5 × 6 / 9 rounded down) and 2 to reveal.
    let id = c.submit_by(REQ, 3, 1_000, 7).unwrap();
    let submitted = of_kind(&c.events, "compute_job_submitted");
    assert_eq!(attr(submitted[0], "deadline"), "7");
    assert_eq!(c.job(id).deadline, Some(7));
    c.advance();
    let job = c.job(id);
    assert_eq!(
        (
            job.assigned_height,
            job.commit_deadline,
            job.reveal_deadline
        ),
        (2, 5, 7)
    );
    assert_eq!(job.to_proto().deadline, 7);
    assert_eq!(Job::from_proto(&job.to_proto()).unwrap(), job);
    for p in assigned(&c, id) {
        c.commit(p, id, b"ok").unwrap();
    }
    for p in assigned(&c, id) {
        c.reveal(p, id, b"ok").unwrap();
    }
    c.advance_to(7);
    assert_eq!(c.job(id).status, JobStatus::Assigned);
    c.advance();
    let job = c.job(id);
    assert_eq!(job.status, JobStatus::Finalized);
    assert_eq!(job.settled_height, 7, "settled at its deadline");
    assert_eq!(c.bal(&REQ), FUNDS - 3_000);
    c.check_books();
}

#[test]
fn a_deadline_later_than_the_windows_allow_leaves_the_default_windows() {
    let mut c = setup_with(deadline_params(), 3);
    // The latest a job submitted at 1 may ask: 1 + 4 pending + 6 + 3 = 14.
    let id = c.submit_by(REQ, 3, 1_000, 14).unwrap();
    c.advance();
    let job = c.job(id);
    assert_eq!((job.commit_deadline, job.reveal_deadline), (8, 11));
    // A job without a deadline gets the same.
    let plain = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    let job = c.job(plain);
    assert_eq!(job.deadline, None);
    assert_eq!((job.commit_deadline, job.reveal_deadline), (9, 12));
}

#[test]
fn deadlines_past_too_close_or_beyond_the_default_are_refused_and_nothing_is_escrowed() {
    let mut c = setup_with(deadline_params(), 3);
    c.advance_to(10);
    let before = c.bal(&REQ);
    let books = c.state.clone();
    // At 10: assigned at 11 at the earliest, one block per phase: 13 at the
    // earliest; 10 + 4 + 6 + 3 = 23 at the latest.
    for (d, why) in [
        (3, "has passed"),
        (10, "has passed"),
        (12, "earliest deadline is 13"),
        (24, "latest deadline is 23"),
    ] {
        let e = c
            .exec_any(&submit_by_any(REQ, 3, 1_000, &gemm(b"in"), d))
            .unwrap_err();
        assert!(
            matches!(e, ComputeError::InvalidDeadline { deadline, height: 10, .. } if deadline == d),
            "{e:?}"
        );
        assert!(e.to_string().contains(why), "{d}: {e}");
        assert_eq!(deai_types::ModuleError::code(&e), 27);
    }
    assert_eq!(c.bal(&REQ), before);
    assert_eq!(c.state, books, "a refused submission writes nothing");
    // The bounds themselves are accepted; 0 means none.
    for d in [13, 23, 0] {
        c.exec_any(&submit_by_any(REQ, 3, 1_000, &gemm(b"in"), d))
            .unwrap();
    }
    // A job the app builds directly is checked the same way.
    let typed = Msg::SubmitJob(SubmitJob {
        requester: REQ,
        kind: Kind::GemmI8,
        model_id: None,
        input: gemm(b"in"),
        input_hash: sha3(&[&gemm(b"in")]),
        replication: 3,
        price_per_replica: 1_000,
        deadline: Some(11),
    });
    assert!(matches!(
        c.exec(&typed),
        Err(ComputeError::InvalidDeadline { .. })
    ));
    // A larger floor moves the earliest deadline: 10 + 1 + 2 × 3 = 17.
    c.state
        .put_compute_params(&ComputeParams {
            min_phase_window: 3,
            ..deadline_params()
        })
        .unwrap();
    let e = c
        .exec_any(&submit_by_any(REQ, 3, 1_000, &gemm(b"in"), 16))
        .unwrap_err();
    assert!(e.to_string().contains("earliest deadline is 17"), "{e}");
    c.exec_any(&submit_by_any(REQ, 3, 1_000, &gemm(b"in"), 17))
        .unwrap();
    c.check_books();
}

#[test]
fn a_pending_job_that_can_no_longer_meet_its_deadline_expires_with_a_full_refund() {
    // R = 3 and one of three providers drops out: never assigned. Deadline
    // 6 from height 1; examined at 2, 3, 4 and, the last try its deadline
    // allows, 5, where only one block would be left, too few for two phases.
    let mut c = setup_with(deadline_params(), 3);
    let id = c.submit_by(REQ, 3, 1_000, 6).unwrap();
    unbond(&mut c, addr(3), BOND - 1);
    c.advance_to(4);
    assert_eq!(c.job(id).status, JobStatus::Pending);
    assert_eq!(c.bal(&REQ), FUNDS - 3_000);
    let ev = c.advance();
    let expired = of_kind(&ev, "compute_job_expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(attr(expired[0], "reason"), "deadline");
    assert_eq!(attr(expired[0], "refund"), "3000");
    let job = c.job(id);
    assert_eq!(
        (job.status, job.escrow, job.settled_height),
        (JobStatus::Expired, 0, 5)
    );
    assert_eq!(c.bal(&REQ), FUNDS);
    assert!(!has_prefix(&c.state, &state_key::pending_prefix()));
    c.check_books();
}

#[test]
fn a_job_assigned_late_gets_what_is_left_before_its_deadline() {
    let mut c = setup_with(deadline_params(), 3);
    let id = c.submit_by(REQ, 3, 1_000, 8).unwrap();
    unbond(&mut c, addr(3), BOND - 1);
    c.advance_to(3);
    assert_eq!(c.job(id).status, JobStatus::Pending);
    bond(&mut c, addr(3), BOND);
    // Examined at 3 (waited 2: next at 5). Assigned at 5: 3 blocks left,
    // 2 to commit (3 × 6 / 9) and 1 to reveal.
    c.advance_to(5);
    let job = c.job(id);
    assert_eq!(job.status, JobStatus::Assigned);
    assert_eq!(
        (
            job.assigned_height,
            job.commit_deadline,
            job.reveal_deadline
        ),
        (5, 7, 8)
    );
    // Nobody works: settled (expired, refunded) at the deadline; with no
    // reveal at all nobody is slashed.
    c.advance_to(9);
    let job = c.job(id);
    assert_eq!((job.status, job.settled_height), (JobStatus::Expired, 8));
    assert_eq!(c.bal(&REQ), FUNDS);
    c.check_books();
}

/// The one event of `kind` among `events`, with its attributes as a map.
fn the_event(events: &[Event], kind: &str) -> std::collections::BTreeMap<String, String> {
    let found = of_kind(events, kind);
    assert_eq!(found.len(), 1, "one {kind} in {events:?}");
    found[0].attributes.iter().cloned().collect()
}

#[test]
fn every_state_change_emits_its_event_with_the_attributes_a_node_follows() {
    let mut c = setup(0);
    let bech = |i: u8| addr(i).to_bech32();
    for i in 1..=3 {
        c.state.mint(&addr(i), &[Coin::new(FUNDS, D)]).unwrap();
    }
    let ev = c
        .exec_any(&pack(
            crate::MSG_REGISTER_PROVIDER_TYPE_URL,
            &pb::MsgRegisterProvider {
                provider: bech(1),
                bond: BOND.to_string(),
                device: "lavapipe".into(),
            },
        ))
        .unwrap();
    let e = the_event(&ev, "compute_provider_registered");
    assert_eq!(e["provider"], bech(1));
    assert_eq!(e["bond"], BOND.to_string());
    c.register(addr(2), BOND);
    c.register(addr(3), BOND);
    let ev = bond(&mut c, addr(1), 5);
    let e = the_event(&ev, "compute_provider_bonded");
    assert_eq!(
        (e["amount"].as_str(), e["bond"].clone()),
        ("5", (BOND + 5).to_string())
    );

    let id = c.submit(REQ, 3, 1_000).unwrap();
    let ev = c.advance();
    let e = the_event(&ev, "compute_job_assigned");
    assert_eq!(e["job_id"], id.to_string());
    let job = c.job(id);
    assert_eq!(e["commit_deadline"], job.commit_deadline.to_string());
    assert_eq!(e["reveal_deadline"], job.reveal_deadline.to_string());
    for p in assigned(&c, id) {
        let ev = c.commit(p, id, b"ok").unwrap();
        let e = the_event(&ev, "compute_result_committed");
        assert_eq!(
            (e["job_id"].clone(), e["provider"].clone()),
            (id.to_string(), p.to_bech32())
        );
    }
    for p in assigned(&c, id) {
        let ev = c.reveal(p, id, b"ok").unwrap();
        let e = the_event(&ev, "compute_result_revealed");
        assert_eq!(e["provider"], p.to_bech32());
        assert_eq!(e["result_hash"], hex::encode(sha3(&[b"ok"])));
    }
    let ev = c.advance_to(job.reveal_deadline + 1);
    let e = the_event(&ev, "compute_job_settled");
    assert_eq!(
        (e["job_id"].clone(), e["status"].as_str()),
        (id.to_string(), "finalized")
    );
    assert_eq!(of_kind(&ev, "compute_provider_paid").len(), 3);

    let ev = c
        .exec_any(&pack(
            crate::MSG_UNBOND_TYPE_URL,
            &pb::MsgUnbond {
                provider: bech(1),
                amount: "5".into(),
            },
        ))
        .unwrap();
    let e = the_event(&ev, "compute_provider_unbonding");
    assert_eq!(e["amount"], "5");

    let m = model(b"weights");
    let ev = c
        .exec_any(&pack(
            crate::MSG_REGISTER_MODEL_TYPE_URL,
            &pb::MsgRegisterModel {
                authority: gov_address().to_bech32(),
                model: Some(m.clone()),
            },
        ))
        .unwrap();
    assert_eq!(the_event(&ev, "compute_model_registered")["model_id"], m.id);
    let ev = c
        .exec_any(&pack(
            crate::MSG_REMOVE_MODEL_TYPE_URL,
            &pb::MsgRemoveModel {
                authority: gov_address().to_bech32(),
                model_id: m.id.clone(),
            },
        ))
        .unwrap();
    assert_eq!(the_event(&ev, "compute_model_removed")["model_id"], m.id);
    let ev = c
        .exec_any(&update_params(gov_address(), &params()))
        .unwrap();
    the_event(&ev, "compute_params_updated");
    c.check_books();
}
