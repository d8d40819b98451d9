//! `deai-compute start` end to end against a `deaid devnet` with short
//! compute windows: provider daemons register, run assigned gemm-i8 jobs,
//! commit and reveal, and get paid to the udeai (the price, and a minted
//! reward per work unit only for jobs with R >= 3); a daemon started with
//! `--corrupt-results` is outvoted and slashed; a daemon killed after its
//! commitment and restarted reveals from its saved state without committing
//! twice; a daemon started before its node backs off until the node is up,
//! and carries on through a node restart, where an R = 1 job pays the price
//! alone. The chain refuses jobs the providers could not serve: R above the
//! eligible providers, an input that is not a valid DGM1 gemm, a price below
//! the minimum per work unit.
//!
//! Needs the `deaid` binary: `cargo build -p deaid` (found beside this test's
//! target directory, or at `$DEAID_BIN`). Without it the test is skipped with
//! a message, unless `DEAI_REQUIRE_DEAID=1` (set by `scripts/test.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod devnet;

use std::time::Duration;

use deai_compute::{
    gemm_i8_reference, random_i8_matrix, result_hash,
    workload::{canonical_bytes, sha3_256, GemmI8Input},
};
use deai_proto::compute::v1 as pb;
use devnet::{
    deaid_bin, gemm_work_units, init_net, paid, start_net, wait, wrong_slash, Daemon, Net, BOND,
    PRICE, REWARD_PER_UNIT,
};

/// The expected output bytes of A × B.
fn expected(a: &deai_compute::Matrix<i8>, b: &deai_compute::Matrix<i8>) -> Vec<u8> {
    let input = GemmI8Input::encode(a, b).unwrap();
    let bt = GemmI8Input::decode(&input).unwrap().b_transposed().unwrap();
    let c = gemm_i8_reference(a, &bt).unwrap();
    let bytes = canonical_bytes(&c);
    assert_eq!(sha3_256(&bytes), result_hash(&c));
    bytes
}

#[test]
fn provider_daemons_earn_on_agreeing_results_the_corrupt_one_is_slashed_and_a_restart_resumes() {
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let net = start_net(deaid, dir.path());
    let keys = ["p0", "p1", "p2", "p3"];
    let addrs = net.funded_keys(&keys);

    // Three honest providers: all three are assigned a job with R = 3.
    let mut d: Vec<Daemon> = keys[..3]
        .iter()
        .map(|k| Daemon::start(&net, dir.path(), k, &[]))
        .collect();
    for a in &addrs[..3] {
        wait(Duration::from_secs(60), "registration", || net.provider(a));
    }

    // Jobs nobody could serve are refused at submission: R = 4 with three eligible
    // providers, a gemm with k = 0 (whose result would be huge for no body bytes), and a
    // 1024 x 1024 x 2 gemm (2^21 multiply-adds: 2 work units) priced below 1000 udeai per
    // work unit.
    let refused = |input: &[u8], r: u32, price: u128, why: &str| {
        let e = net
            .try_submit("dev1", "gemm-i8", "", input, r, price)
            .map(|id| format!("job {id} accepted"))
            .unwrap_err();
        assert!(e.contains(why), "expected a refusal with {why:?}, got: {e}");
    };
    let (a0, b0) = (random_i8_matrix(2, 2, 7), random_i8_matrix(2, 2, 8));
    let small = GemmI8Input::encode(&a0, &b0).unwrap();
    refused(&small, 4, PRICE, "exceeds the 3 providers eligible");
    let mut k_zero = b"DGM1".to_vec();
    for d in [1u32 << 16, 1 << 16, 0] {
        k_zero.extend_from_slice(&d.to_le_bytes());
    }
    refused(&k_zero, 1, PRICE, "every dimension must be at least 1");
    let (a9, b9) = (random_i8_matrix(1024, 2, 9), random_i8_matrix(2, 1024, 10));
    let big = GemmI8Input::encode(&a9, &b9).unwrap();
    assert_eq!(gemm_work_units(&big), 2);
    refused(&big, 1, 1_999, "is below 2000: the job is 2 work units");

    let before: Vec<u128> = addrs.iter().map(|a| net.balance(a)).collect();
    let fees_before: Vec<u128> = addrs.iter().map(|a| net.fees_paid(a)).collect();
    let (a1, b1) = (random_i8_matrix(4, 8, 1), random_i8_matrix(8, 5, 2));
    let out1 = expected(&a1, &b1);
    let input1 = GemmI8Input::encode(&a1, &b1).unwrap();
    let job1 = net.submit_gemm("dev1", &input1, 3);
    let j = net.settled(job1, Duration::from_secs(60));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out1).to_vec());
    let r: pb::QueryResultResponse = net.query(
        deai_compute_module::query::RESULT_PATH,
        pb::QueryResultRequest { job_id: job1 },
    );
    assert_eq!(r.output, out1, "the result query returns A x B");
    // 4 x 5 x 8 = 160 multiply-adds: one work unit. R = 3 agreed: the price and one
    // work unit's reward, minted.
    assert_eq!(j.work_units, 1);
    assert_eq!(j.work_units, gemm_work_units(&input1));
    let earned = paid(3, j.work_units);
    assert_eq!(earned, PRICE + REWARD_PER_UNIT);
    for (i, daemon) in d.iter().enumerate() {
        daemon.wait_metric("jobs_done_total", 1.0);
        daemon.wait_metric("rewards_earned_udeai", earned as f64);
        assert_eq!(daemon.metric("job_failures_total"), 0.0);
        assert!(daemon.metric("kernel_seconds_total") > 0.0);
        // The job was submitted after the daemon had caught up, so it learned of its
        // assignment from the block's compute_job_assigned event, not from a scan.
        let log = std::fs::read_to_string(&daemon.log).unwrap();
        assert!(
            log.contains(&format!(
                "job assigned to us (from block events) job={job1}"
            )),
            "{}: {log}",
            keys[i]
        );
        // Paid the price and the emission, less the fees of its commit and reveal (the
        // daemon estimates gas and pays the minimum fee for it).
        let fees = net.fees_paid(&addrs[i]) - fees_before[i];
        assert!(fees > 0, "{} paid fees", keys[i]);
        assert_eq!(
            net.balance(&addrs[i]),
            before[i] + earned - fees,
            "{}",
            keys[i]
        );
    }

    // A fourth provider corrupts its results: with R = 4 the three honest
    // ones are the majority and the corrupt one is slashed to the treasury.
    d.push(Daemon::start(
        &net,
        dir.path(),
        "p3",
        &["--corrupt-results"],
    ));
    wait(Duration::from_secs(60), "registration", || {
        net.provider(&addrs[3])
    });
    let treasury = deai_compute_module::treasury_address().to_bech32();
    let treasury_before = net.balance(&treasury);
    let before: Vec<u128> = addrs.iter().map(|a| net.balance(a)).collect();
    let fees_before: Vec<u128> = addrs.iter().map(|a| net.fees_paid(a)).collect();
    let (a2, b2) = (random_i8_matrix(6, 3, 3), random_i8_matrix(3, 7, 4));
    let out2 = expected(&a2, &b2);
    let job2 = net.submit_gemm("dev1", &GemmI8Input::encode(&a2, &b2).unwrap(), 4);
    let j = net.settled(job2, Duration::from_secs(60));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out2).to_vec());
    assert_eq!(j.output, out2);
    assert_eq!(j.work_units, 1, "6 x 7 x 3 multiply-adds");
    let slashed = net.provider(&addrs[3]).unwrap();
    let bond: u128 = slashed.bond.parse().unwrap();
    assert_eq!(
        bond,
        BOND - wrong_slash(),
        "the corrupt provider lost the wrong-result share of its bond"
    );
    assert!(
        net.balance(&treasury) >= treasury_before + wrong_slash(),
        "the slash went to the treasury"
    );
    d[3].wait_metric("job_failures_total", 1.0);
    assert_eq!(d[3].metric("jobs_done_total"), 0.0);
    assert_eq!(d[3].metric("rewards_earned_udeai"), 0.0);
    // The three honest providers are paid as for R = 3 (three of four agreed); the
    // corrupt one is paid nothing and only spent its fees.
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

    // Persistence: p1 is paused so the reveal phase cannot open; p0 is
    // killed once its commitment is on chain and restarted; it must reveal
    // from its saved salt without committing again. The slashed p3 is below
    // the minimum bond now, so R = 3 draws p0, p1 and p2.
    d[1].signal("-STOP");
    let seq0 = net.sequence(&addrs[0]);
    let before: Vec<u128> = addrs.iter().map(|a| net.balance(a)).collect();
    let fees_before: Vec<u128> = addrs.iter().map(|a| net.fees_paid(a)).collect();
    let (a3, b3) = (random_i8_matrix(5, 5, 5), random_i8_matrix(5, 5, 6));
    let out3 = expected(&a3, &b3);
    let job3 = net.submit_gemm("dev1", &GemmI8Input::encode(&a3, &b3).unwrap(), 3);
    wait(Duration::from_secs(30), "p0's commitment", || {
        let j = net.job(job3);
        j.assignments
            .iter()
            .any(|a| a.provider == addrs[0] && !a.commitment.is_empty())
            .then_some(())
    });
    d[0].kill();
    let state = std::fs::read_to_string(
        net.home
            .join("compute-node")
            .join(format!("{}.json", addrs[0])),
    )
    .unwrap();
    assert!(state.contains("\"salt\""), "the salt is saved: {state}");
    d[0].spawn();
    std::thread::sleep(Duration::from_secs(2));
    d[1].signal("-CONT");
    let j = net.settled(job3, Duration::from_secs(60));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out3).to_vec());
    let p0 = j
        .assignments
        .iter()
        .find(|a| a.provider == addrs[0])
        .unwrap();
    assert_eq!(p0.result_hash, j.result_hash, "the restarted p0 revealed");
    assert_eq!(
        net.sequence(&addrs[0]),
        seq0 + 2,
        "p0 sent exactly one commit and one reveal"
    );
    // All three agreed, p0 across its restart: each is paid the price and the reward.
    let earned3 = paid(3, j.work_units);
    assert_eq!(j.work_units, 1, "5 x 5 x 5 multiply-adds");
    for (i, key) in keys[..3].iter().enumerate() {
        let fees = net.fees_paid(&addrs[i]) - fees_before[i];
        assert_eq!(net.balance(&addrs[i]), before[i] + earned3 - fees, "{key}");
    }
    // The restarted p0 counts from zero; p1 and p2 count all three jobs.
    d[0].wait_metric("jobs_done_total", 1.0);
    d[0].wait_metric("rewards_earned_udeai", earned3 as f64);
    for daemon in &d[1..3] {
        daemon.wait_metric("jobs_done_total", 3.0);
        daemon.wait_metric("rewards_earned_udeai", (earned + earned2 + earned3) as f64);
    }
    let log = std::fs::read_to_string(&d[0].log).unwrap();
    assert!(
        log.contains("over the websocket"),
        "the daemon follows blocks and job events over the devnet's websocket"
    );
    assert!(
        log.contains("running kernels on"),
        "the daemon says where kernels run"
    );
}

#[test]
fn a_daemon_started_before_its_node_backs_off_then_registers_and_survives_a_node_restart() {
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    init_net(&deaid, dir.path(), |_| {});
    let home = dir.path().join("chain");
    let listen = format!("127.0.0.1:{}", deai_tests::free_port());
    let url = format!("http://{listen}");
    let keyring = |args: &[&str]| {
        devnet::ok(
            &std::process::Command::new(&deaid)
                .arg("--home")
                .arg(&home)
                .args(args)
                .args(["--keyring-backend", "test"])
                .output()
                .unwrap(),
        )
    };
    keyring(&["keys", "add", "solo"]);
    let addr = keyring(&["keys", "show", "solo", "--address"])
        .trim()
        .to_string();

    // No node yet: the daemon retries with a doubling delay.
    let d = Daemon::start_at(&url, &home, dir.path(), "solo", &[]);
    let log = || std::fs::read_to_string(&d.log).unwrap_or_default();
    wait(Duration::from_secs(30), "a second, longer retry", || {
        let l = log();
        (l.contains("connecting to the node") && l.contains("retry_in_ms=400")).then_some(())
    });

    // The node comes up; the daemon's account is funded later, so registration waits too.
    let net = Net::spawn(deaid.clone(), home.clone(), &listen);
    assert_eq!(net.url, url);
    wait(
        Duration::from_secs(30),
        "registration to be retried",
        || log().contains("does not exist yet").then_some(()),
    );
    net.fund(&addr);
    wait(Duration::from_secs(60), "registration", || {
        net.provider(&addr)
    });

    // The node stops while the daemon follows blocks: it keeps retrying; the node comes
    // back on the same home and port.
    wait(
        Duration::from_secs(30),
        "the daemon to follow blocks",
        || log().contains("over the websocket").then_some(()),
    );
    let stopped_at = log().len();
    drop(net);
    wait(Duration::from_secs(30), "the daemon to notice", || {
        log()[stopped_at..]
            .contains("reading the node's height")
            .then_some(())
    });
    let net = Net::spawn(deaid, home, &listen);

    // An R = 1 job after the restart is run, committed, revealed and paid: the price
    // only, since a lone provider's answer mints nothing.
    let before = net.balance(&addr);
    let fees_before = net.fees_paid(&addr);
    let (a, b) = (random_i8_matrix(3, 4, 11), random_i8_matrix(4, 2, 12));
    let out = expected(&a, &b);
    let job = net.submit_gemm("dev1", &GemmI8Input::encode(&a, &b).unwrap(), 1);
    let j = net.settled(job, Duration::from_secs(60));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out).to_vec());
    assert_eq!(paid(1, j.work_units), PRICE);
    d.wait_metric("jobs_done_total", 1.0);
    d.wait_metric("rewards_earned_udeai", PRICE as f64);
    let fees = net.fees_paid(&addr) - fees_before;
    assert!(fees > 0, "the daemon paid fees");
    assert_eq!(net.balance(&addr), before + PRICE - fees);
}
