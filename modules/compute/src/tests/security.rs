//! Regression tests for issue 10: block hooks that cannot be made to fail
//! by params or user data, inputs the network cannot run, payment rules for
//! unanswered and invalid-input jobs, minting only for independent
//! agreement, queue scans whose cost does not grow with history, and
//! assignment whose cost does not grow with the provider count.

use deai_proto::compute::v1 as pb;
use deai_types::{CountingState, MarkedState, StateWriteExt};

use super::*;
use crate::{
    input::{invalid_input_result_hash, INVALID_INPUT_OUTPUT},
    state_key, treasury_address, JobStatus,
};

/// Every assigned provider commits and reveals `results[i]`.
fn answer(c: &mut Chain, id: u64, results: &[&[u8]]) {
    let ps = assigned(c, id);
    for (p, r) in ps.iter().zip(results) {
        c.commit(*p, id, r).unwrap();
    }
    for (p, r) in ps.iter().zip(results) {
        c.reveal(*p, id, r).unwrap();
    }
}

// ---- item 2: params and block hooks ----

#[test]
fn extreme_params_written_straight_into_state_never_make_a_block_hook_fail() {
    let mut c = setup_with(params(), 4);
    // Work in every queue: a job pending, one assigned, an unbonding, a jail term.
    let assigned_id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    let ps = assigned(&c, assigned_id);
    c.commit(ps[0], assigned_id, b"ok").unwrap();
    let idle = (1..=4).map(addr).find(|a| !ps.contains(a)).unwrap();
    unbond(&mut c, idle, 1);
    let pending_id = c.submit_by(REQ, 2, 1_000, 9).unwrap();
    // What a governance proposal could have set before the bounds existed,
    // written past validate().
    let extreme = pb::Params {
        min_provider_bond: "1".into(),
        unbonding_period: u64::MAX,
        jail_period: u64::MAX,
        max_input_bytes: u64::MAX,
        max_output_bytes: u64::MAX,
        max_replication: u32::MAX,
        commit_window: u64::MAX,
        reveal_window: u64::MAX,
        slash_fraction_wrong_ppm: u32::MAX,
        slash_fraction_missed_ppm: u32::MAX,
        reward_per_work_unit: u128::MAX.to_string(),
        max_settlements_per_block: u32::MAX,
        max_assignments_per_block: u32::MAX,
        max_pending_blocks: u64::MAX,
        min_phase_window: u64::MAX,
        epoch_blocks: u64::MAX,
        max_minted_per_epoch: u128::MAX.to_string(),
        min_price_per_work_unit: u128::MAX.to_string(),
    };
    c.state.put_proto(state_key::params(), &extreme).unwrap();
    // Blocks run (Chain::advance unwraps every hook), jobs settle or expire.
    c.advance_to(12);
    assert_ne!(c.job(assigned_id).status, JobStatus::Assigned);
    assert_ne!(c.job(pending_id).status, JobStatus::Pending);
    // A submission under these params is placed with saturated deadlines.
    let late = c.submit(REQ, 2, 1_000).unwrap_or(0);
    c.advance_to(20);
    if late > 0 {
        assert_ne!(c.job(late).status, JobStatus::Pending);
    }
    // And at the end of time heights saturate instead of overflowing.
    c.state.put_compute_params(&params()).unwrap();
    c.height = u64::MAX - 3;
    let id = c.submit(REQ, 2, 1_000).unwrap();
    c.advance_to(u64::MAX);
    let ctx = c.ctx();
    crate::end_block(&mut c.state, &ctx).unwrap();
    assert!(c.state.job(id).unwrap().is_some());
    c.check_books();
}

// ---- item 3: inputs the network cannot run ----

fn submission(kind: &str, model_id: &str, input: &[u8], price: u128) -> Any {
    pack(
        crate::MSG_SUBMIT_JOB_TYPE_URL,
        &pb::MsgSubmitJob {
            requester: REQ.to_bech32(),
            kind: kind.into(),
            model_id: model_id.into(),
            input: input.to_vec(),
            input_hash: sha3(&[input]).to_vec(),
            replication: 1,
            price_per_replica: price.to_string(),
            deadline: 0,
        },
    )
}

fn header(m: u32, n: u32, k: u32) -> Vec<u8> {
    let mut v = crate::input::GEMM_I8_MAGIC_V1.to_vec();
    for d in [m, n, k] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v
}

#[test]
fn inputs_the_network_cannot_run_are_refused_at_submission() {
    let mut c = setup_with(
        ComputeParams {
            min_price_per_work_unit: 100,
            ..params()
        },
        1,
    );
    let model = hex::encode(sha3(&[b"weights"]));
    let refused = |any: &Any| Msg::from_any(any).unwrap_err();
    // The daemon-killing header: huge m and n, k = 0, no body.
    let e = refused(&submission(
        "gemm-i8",
        "",
        &header(u32::MAX, u32::MAX, 0),
        100,
    ));
    assert!(matches!(e, ComputeError::InvalidInput(_)), "{e}");
    assert!(e.to_string().contains("at least 1"), "{e}");
    // A gemm input without its header.
    let e = refused(&submission("gemm-i8", "", b"input matrix", 100));
    assert!(matches!(e, ComputeError::InvalidInput(_)), "{e}");
    // Output too large to size.
    let e = refused(&submission(
        "gemm-i8",
        "",
        &header(1 << 16, 1 << 16, 1),
        100,
    ));
    assert!(matches!(e, ComputeError::InvalidInput(_)), "{e}");
    // Embed text that is not UTF-8, or empty.
    let e = refused(&submission("embed", &model, &[0xff, 0xfe], 100));
    assert!(matches!(e, ComputeError::InvalidInput(_)), "{e}");
    let e = refused(&submission("embed", &model, b"", 100));
    assert!(matches!(e, ComputeError::InvalidInput(_)), "{e}");
    // No node implements infer: refused outright, saying so.
    let e = refused(&submission("infer", &model, b"hello", 100));
    assert!(matches!(e, ComputeError::InvalidKind(_)), "{e}");
    assert!(e.to_string().contains("no compute node implements"), "{e}");
    // The price must cover the work units at the minimum price.
    let e = c
        .exec_any(&submission("gemm-i8", "", &gemm(b"abc"), 99))
        .unwrap_err();
    assert!(matches!(e, ComputeError::InvalidAmount(_)), "{e}");
    c.exec_any(&submission("gemm-i8", "", &gemm(b"abc"), 100))
        .unwrap();
    assert_eq!(c.bal(&REQ), FUNDS - 100);
    c.check_books();
}

#[test]
fn a_batch_of_texts_is_billed_per_text_and_a_malformed_batch_is_refused_at_submission() {
    let model = hex::encode(sha3(&[b"weights"]));
    let long = "x".repeat(600);
    let input = crate::input::encode_embed_input(&["a", &long, "b"]).unwrap();
    let Msg::SubmitJob(job) = Msg::from_any(&submission("embed", &model, &input, 100)).unwrap()
    else {
        panic!("not a submission")
    };
    // One unit for each short text, two for the 600-byte one.
    assert_eq!(job.work_units().unwrap(), 4);
    // A single text is still its own raw bytes, billed as before.
    let Msg::SubmitJob(job) = Msg::from_any(&submission("embed", &model, b"hello", 100)).unwrap()
    else {
        panic!("not a submission")
    };
    assert_eq!(job.work_units().unwrap(), 1);
    let mut trailing = input.clone();
    trailing.push(b'!');
    let e = Msg::from_any(&submission("embed", &model, &trailing, 100)).unwrap_err();
    assert!(matches!(e, ComputeError::InvalidInput(_)), "{e}");
    let mut huge_count = crate::input::EMBED_BATCH_MAGIC_V1.to_vec();
    huge_count.extend_from_slice(&u32::MAX.to_le_bytes());
    let e = Msg::from_any(&submission("embed", &model, &huge_count, 100)).unwrap_err();
    assert!(e.to_string().contains("texts"), "{e}");
}

#[test]
fn a_replication_above_the_eligible_providers_is_refused_at_submission() {
    let mut c = setup_with(params(), 3);
    let e = c.submit(REQ, 4, 1_000).unwrap_err();
    assert!(e.to_string().contains("3 providers eligible"), "{e}");
    // A provider does not count for its own job.
    let e = c.submit(addr(1), 3, 1_000).unwrap_err();
    assert!(e.to_string().contains("2 providers eligible"), "{e}");
    c.submit(REQ, 3, 1_000).unwrap();
    assert_eq!(c.bal(&REQ), FUNDS - 3_000);
}

// ---- item 6: no slash without a reveal; invalid-input answers ----

#[test]
fn a_majority_on_the_invalid_input_answer_is_paid_the_price_and_nothing_is_minted() {
    let mut c = setup_with(params(), 3);
    let supply = c.supply();
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    answer(
        &mut c,
        id,
        &[
            INVALID_INPUT_OUTPUT,
            INVALID_INPUT_OUTPUT,
            b"a real-looking result",
        ],
    );
    let ev = c.advance_to(9);
    let job = c.job(id);
    assert_eq!(job.status, JobStatus::Finalized);
    assert_eq!(job.result_hash, Some(invalid_input_result_hash()));
    assert_eq!(job.output, INVALID_INPUT_OUTPUT);
    let settled = of_kind(&ev, "compute_job_settled");
    assert_eq!(attr(settled[0], "outcome"), "invalid_input");
    let paid = of_kind(&ev, "compute_provider_paid");
    assert_eq!(paid.len(), 2);
    assert!(paid.iter().all(|e| attr(e, "reward") == "0"));
    assert_eq!(c.supply(), supply, "nothing minted");
    // The odd one out is slashed as any minority is; its price is refunded.
    assert_eq!(of_kind(&ev, "compute_provider_slashed").len(), 1);
    assert_eq!(c.bal(&REQ), FUNDS - 2_000);
    c.check_books();
}

// ---- item 7: minting ----

#[test]
fn two_agreeing_replicas_are_paid_the_price_but_mint_nothing() {
    let mut c = setup_with(params(), 2);
    let supply = c.supply();
    let id = c.submit(REQ, 2, 1_000).unwrap();
    c.advance();
    answer(&mut c, id, &[b"ok", b"ok"]);
    let ev = c.advance_to(9);
    assert_eq!(c.job(id).status, JobStatus::Finalized);
    let paid = of_kind(&ev, "compute_provider_paid");
    assert_eq!(paid.len(), 2);
    assert!(paid.iter().all(|e| attr(e, "reward") == "0"));
    assert_eq!(c.supply(), supply);
    c.check_books();
}

#[test]
fn a_minted_reward_never_exceeds_the_price_paid() {
    let mut c = setup_with(
        ComputeParams {
            reward_per_work_unit: 1_000_000,
            ..params()
        },
        3,
    );
    let supply = c.supply();
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    answer(&mut c, id, &[b"ok", b"ok", b"ok"]);
    let ev = c.advance_to(9);
    let paid = of_kind(&ev, "compute_provider_paid");
    assert!(paid.iter().all(|e| attr(e, "reward") == "1000"));
    assert_eq!(c.supply(), supply + 3_000);
    c.check_books();
}

#[test]
fn minted_rewards_stop_at_the_epoch_cap_and_start_again_next_epoch() {
    let p = ComputeParams {
        max_minted_per_epoch: 10,
        epoch_blocks: 20,
        ..params()
    };
    let mut c = setup_with(p, 3);
    let supply = c.supply();
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    answer(&mut c, id, &[b"ok", b"ok", b"ok"]);
    let ev = c.advance_to(9);
    let rewards: Vec<&str> = of_kind(&ev, "compute_provider_paid")
        .iter()
        .map(|e| attr(e, "reward"))
        .collect();
    assert_eq!(rewards, vec!["7", "3", "0"]);
    assert_eq!(of_kind(&ev, "compute_mint_capped").len(), 2);
    assert_eq!(c.supply(), supply + 10);
    // The next epoch starts at height 20.
    c.advance_to(20);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    answer(&mut c, id, &[b"ok", b"ok", b"ok"]);
    c.advance_to(28);
    assert_eq!(c.supply(), supply + 20);
    c.check_books();
}

// ---- item 5: queue scans that do not grow with history ----

/// Keys visited by the begin_block and end_block of an empty block at
/// `height`, after `used` entries in each of the pending, settlement and
/// jail queues were queued at height 10 and drained.
fn empty_block_visits(used: u64, height: u64) -> u64 {
    let mut s = MarkedState::default();
    s.put_compute_params(&ComputeParams {
        max_settlements_per_block: crate::params::MAX_PER_BLOCK_LIMIT,
        max_assignments_per_block: crate::params::MAX_PER_BLOCK_LIMIT,
        ..params()
    })
    .unwrap();
    for i in 0..used {
        // Entries whose job or provider is gone: drained and skipped.
        s.push_pending(10, 1_000_000 + i).unwrap();
        s.push_settlement(10, 1_000_000 + i).unwrap();
        let mut a = [7u8; 20];
        a[..8].copy_from_slice(&i.to_be_bytes());
        s.push_jail_release(10, &Address(a)).unwrap();
    }
    let mut h = 10;
    while has_live(&s, &state_key::pending_prefix())
        || has_live(&s, &state_key::settlement_prefix())
        || has_live(&s, &state_key::jail_prefix())
    {
        let ctx = BlockCtx {
            height: h,
            prev_app_hash: vec![1; 32],
        };
        crate::begin_block(&mut s, &ctx).unwrap();
        crate::end_block(&mut s, &ctx).unwrap();
        h += 1;
    }
    assert!(h < height);
    let ctx = BlockCtx {
        height,
        prev_app_hash: vec![1; 32],
    };
    s.reset_visits();
    crate::begin_block(&mut s, &ctx).unwrap();
    crate::end_block(&mut s, &ctx).unwrap();
    s.visited()
}

fn has_live(s: &MarkedState, prefix: &[u8]) -> bool {
    s.live()
        .0
        .range(prefix.to_vec()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .next()
        .is_some()
}

#[test]
fn an_empty_block_visits_as_many_keys_after_thousands_of_used_up_queue_entries_as_after_none() {
    let none = empty_block_visits(0, 100);
    let many = empty_block_visits(5_000, 100);
    // Scanning from each queue's first key, as before, visited every marker.
    assert_eq!(
        many, none,
        "an empty block walks the queues' deletion markers"
    );
    assert!(none <= 8, "{none} keys visited by an empty block");
}

// ---- item 9: stuck queue head, assignment cost ----

#[test]
fn jobs_nobody_can_take_do_not_hold_back_assignable_jobs_behind_them() {
    let mut c = setup_with(
        ComputeParams {
            max_assignments_per_block: 2,
            ..params()
        },
        3,
    );
    let stuck: Vec<u64> = (0..6).map(|_| c.submit(REQ, 3, 1_000).unwrap()).collect();
    // One provider drops out: the R = 3 jobs cannot be assigned any more.
    unbond(&mut c, addr(3), BOND - 1);
    let ok = c.submit(REQ, 2, 1_000).unwrap();
    c.advance_to(5);
    // Before, begin_block re-examined the two lowest ids every block and the
    // job behind them waited until all six had expired (height 9).
    assert_eq!(c.job(ok).status, JobStatus::Assigned);
    assert_eq!(c.job(ok).assigned_height, 5);
    assert!(!of_kind(&c.events, "compute_job_waiting").is_empty());
    c.advance_to(8);
    for id in stuck {
        assert_eq!(c.job(id).status, JobStatus::Expired, "job {id}");
    }
    assert_eq!(c.bal(&REQ), FUNDS - 2_000);
    c.check_books();
}

/// Keys read by the begin_block that assigns one `R = 3` job among `n` providers.
fn assignment_reads(n: u32) -> u64 {
    let mut s = CountingState::<deai_types::MemState>::default();
    s.put_compute_params(&params()).unwrap();
    for i in 0..n {
        let mut a = [9u8; 20];
        a[..4].copy_from_slice(&i.to_be_bytes());
        s.put_provider(&crate::Provider {
            address: Address(a),
            bond: 1_000_000 + u128::from(i),
            device: String::new(),
            jailed_until: 0,
            open_jobs: 0,
            registered_height: 1,
            unbonding: 0,
        })
        .unwrap();
    }
    s.mint(&REQ, &[Coin::new(FUNDS, D)]).unwrap();
    let ctx = BlockCtx {
        height: 1,
        prev_app_hash: vec![3; 32],
    };
    Msg::from_any(&submit_any(REQ, 3, 1_000, &gemm(b"x")))
        .unwrap()
        .execute(&mut s, &ctx)
        .unwrap();
    s.reads.set(0);
    let ctx = BlockCtx {
        height: 2,
        prev_app_hash: vec![3; 32],
    };
    let ev = crate::begin_block(&mut s, &ctx).unwrap();
    assert_eq!(of_kind(&ev, "compute_job_assigned").len(), 1);
    s.reads.get()
}

#[test]
fn assignment_reads_grow_with_the_log_of_the_provider_count_not_the_count() {
    let small = assignment_reads(16);
    let large = assignment_reads(4_096);
    // 8 more tree levels; each of the 3 draws and the total read one node a level.
    assert!(
        large <= small + 4 * 8,
        "{small} reads with 16 providers, {large} with 4096"
    );
    assert!(large < 200, "{large} reads with 4096 providers");
}

#[test]
fn the_treasury_gets_only_slashes_and_a_missed_reveal_next_to_a_reveal_is_still_slashed() {
    // The no-reveal rule does not let a lazy provider off when others answered.
    let mut c = setup_with(params(), 3);
    let id = c.submit(REQ, 3, 1_000).unwrap();
    c.advance();
    let ps = assigned(&c, id);
    c.commit(ps[0], id, b"ok").unwrap();
    c.commit(ps[1], id, b"ok").unwrap();
    c.advance_to(6);
    c.reveal(ps[0], id, b"ok").unwrap();
    c.reveal(ps[1], id, b"ok").unwrap();
    let ev = c.advance_to(9);
    let slashed = of_kind(&ev, "compute_provider_slashed");
    assert_eq!(slashed.len(), 1);
    assert_eq!(attr(slashed[0], "provider"), ps[2].to_bech32());
    assert_eq!(c.bal(&treasury_address()), BOND / 50);
    c.check_books();
}
