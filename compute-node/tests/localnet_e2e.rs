//! The compute market on a real network: four `deaid` validators under the
//! CometBFT v0.38 binary (made by `localnet/localnet.sh`), with three
//! `deai-compute start` provider daemons, each following a different
//! validator's RPC and websocket. A requester submits a gemm-i8 job with
//! R = 3 through the `deaid` CLI on a fourth node; the daemons learn of the
//! assignment from CometBFT's NewBlock events, commit, reveal, and are paid
//! the price plus the minted reward, to the udeai (fees found with
//! CometBFT's own `tx_search`). The treasury's CLI works against the same
//! network, and every node has the same app hash at every height.
//!
//! Needs CometBFT (`COMETBFT_BIN`, see `deai_tests::localnet`) and the `deaid`
//! binary (as `daemon_e2e`); skips without them unless `scripts/test.sh`'s
//! `DEAI_REQUIRE_COMETBFT=1` / `DEAI_REQUIRE_DEAID=1` are set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod devnet;

use std::time::Duration;

use deai_compute::{
    gemm_i8_reference, random_i8_matrix,
    workload::{canonical_bytes, sha3_256, GemmI8Input},
};
use deai_proto::compute::v1 as pb;
use deai_tests::localnet::{Localnet, ONE_AT_A_TIME};
use devnet::{deaid_bin, paid, wait, Daemon, Rpc, BOND, PRICE, REWARD_PER_UNIT};
use serde_json::Value;

/// What the treasury is given by the CLI test.
const TREASURY_GIFT: u128 = 5_000;

#[test]
fn daemons_on_three_validators_run_and_are_paid_for_a_job_sent_through_a_fourth() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let bond = format!("compute.min_provider_bond=\"{BOND}\"");
    let reward = format!("compute.reward_per_work_unit=\"{REWARD_PER_UNIT}\"");
    let Some(net) = Localnet::up(
        &deaid,
        29300,
        &[
            "--validators",
            "4",
            "--block-time",
            "300ms",
            "--param",
            &bond,
            "--param",
            &reward,
            "--param",
            "compute.commit_window=30",
            "--param",
            "compute.reveal_window=20",
            // No fee share, community tax or inflation (whose tax would
            // reach the treasury every block), so the treasury moves only by
            // what it is given.
            "--param",
            "treasury.fee_share_ppm=0",
            "--param",
            "distribution.community_tax=\"0\"",
            "--param",
            "mint.inflation_min=\"0\"",
            "--param",
            "mint.inflation_max=\"0\"",
        ],
    ) else {
        return;
    };
    for n in 0..4 {
        net.wait_height(n, 2, 60);
    }
    let rpc: Vec<Rpc> = (0..4)
        .map(|n| Rpc::new(deaid.clone(), net.keys.clone(), &net.rpc_url(n)))
        .collect();

    // The treasury's CLI: a gift sent through node 1 shows in node 2's answer.
    let treasury = |node: usize| -> u128 {
        let v: Value = serde_json::from_str(
            &rpc[node].deaid(&["query", "treasury", "balance", "--output", "json"]),
        )
        .unwrap();
        v["balance"]
            .as_array()
            .unwrap_or_else(|| panic!("no balance in {v}"))
            .iter()
            .find(|c| c["denom"] == "udeai")
            .map_or(0, |c| c["amount"].as_str().unwrap().parse().unwrap())
    };
    let held = treasury(2);
    rpc[1].deaid(&[
        "tx",
        "treasury",
        "fund",
        &format!("{TREASURY_GIFT}udeai"),
        "--from",
        "dev0",
        "--gas",
        "auto",
        "--yes",
    ]);
    assert_eq!(treasury(2), held + TREASURY_GIFT);

    // Providers dev1, dev2, dev3, each daemon on its own validator's RPC.
    let dir = net.dir();
    let keys = ["dev1", "dev2", "dev3"];
    let addrs: Vec<String> = keys.iter().map(|k| rpc[0].address(k)).collect();
    let daemons: Vec<Daemon> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Daemon::start(&rpc[i + 1], dir, k, &[]))
        .collect();
    for a in &addrs {
        wait(Duration::from_secs(60), "registration", || {
            rpc[0].provider(a)
        });
    }
    let before: Vec<u128> = addrs.iter().map(|a| rpc[0].balance(a)).collect();
    let fees_before: Vec<u128> = addrs.iter().map(|a| rpc[0].fees_paid(a)).collect();

    // The requester submits through node 0's CLI.
    let (a, b) = (random_i8_matrix(6, 8, 21), random_i8_matrix(8, 3, 22));
    let input = GemmI8Input::encode(&a, &b).unwrap();
    let bt = GemmI8Input::decode(&input).unwrap().b_transposed().unwrap();
    let output = canonical_bytes(&gemm_i8_reference(&a, &bt).unwrap());
    let out = rpc[0].deaid(&[
        "tx",
        "compute",
        "submit-job",
        "--kind",
        "gemm-i8",
        "--input-hex",
        &hex::encode(&input),
        "--replication",
        "3",
        "--price",
        &format!("{PRICE}udeai"),
        "--from",
        "dev0",
        "--gas",
        "auto",
        "--yes",
    ]);
    let id: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("job "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no job id in {out}"));

    let job = rpc[2].settled(id, Duration::from_secs(120));
    assert_eq!(job.status, pb::JobStatus::Finalized as i32, "{job:?}");
    assert_eq!(job.result_hash, sha3_256(&output).to_vec());
    // Node 3 may be a block behind node 2: wait until it has applied the settlement.
    let r = wait(
        Duration::from_secs(30),
        "node 3 to see the settlement",
        || {
            let r: pb::QueryResultResponse = rpc[3].query(
                deai_compute_module::query::RESULT_PATH,
                pb::QueryResultRequest { job_id: id },
            );
            (r.status == pb::JobStatus::Finalized as i32).then_some(r)
        },
    );
    assert_eq!(r.output, output, "node 3 answers A x B");
    let earned = paid(3, job.work_units);
    for (i, d) in daemons.iter().enumerate() {
        d.wait_metric("jobs_done_total", 1.0);
        d.wait_metric("rewards_earned_udeai", earned as f64);
        // It learned of the job from the NewBlock events CometBFT pushed over
        // its node's websocket, not from a scan.
        let log = std::fs::read_to_string(&d.log).unwrap();
        assert!(
            log.contains(&format!("job assigned to us (from block events) job={id}")),
            "{}: {}",
            keys[i],
            d.tail()
        );
        let fees = rpc[0].fees_paid(&addrs[i]) - fees_before[i];
        assert!(fees > 0, "{} paid fees for its commit and reveal", keys[i]);
        assert_eq!(
            rpc[i].balance(&addrs[i]),
            before[i] + earned - fees,
            "{}",
            keys[i]
        );
    }

    for n in 0..4 {
        net.wait_height(n, net.height(0).unwrap(), 30);
    }
    net.assert_agree(&[0, 1, 2, 3], 1);
}
