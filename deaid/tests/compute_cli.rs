//! The compute market end to end through the `deaid` command line against
//! one running devnet, with several jobs in flight at once. Three providers
//! (dev0, dev1, dev2) register with bonds; a requester funded by dev0
//! submits, all with R = 3:
//!
//! * an honest job: all three commit and reveal (the salt kept by the CLI
//!   between the two) and are paid, and `query compute result` shows it;
//!   a reveal that does not open its commitment is rejected first, and
//!   costs its provider only the fee and a sequence number;
//! * a job dev2 commits to but never reveals: dev2 is slashed
//!   `slash_fraction_missed` of its bond and jailed, the other two are paid;
//! * a job on which the three reveal three different results: disputed,
//!   the requester refunded, nobody slashed;
//! * a job with `--deadline`: its phases end by the deadline, split like the
//!   params' windows, and it settles at the deadline; a deadline in the past
//!   is refused; so are an R = 4 job (more replicas than the three eligible
//!   providers) and a price below the minimum for the job's work units,
//!   each in its block, for the fee;
//! * a job the treasury pays for, from a governance proposal drafted with
//!   `--kind treasury-job`, submitted, voted on and passed.
//!
//! Every input is a DGM1 gemm-i8 product of one work unit, and every job has
//! R = 3, so agreeing providers are paid the price and minted the reward.
//! Then `bond` and `unbond` move a bond and pay the withdrawal back after
//! the unbonding period. Balances are checked to the udeai: prices,
//! rewards, slashes, refunds and every tx's fee. Bad input (an input no
//! provider could run, an infer job included) is refused before anything is
//! broadcast.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use common::{b64, deaid, err, ok, proto_json, start_devnet, Cli};
use deai_compute_module::record::sha3;
use serde_json::{json, Value};

/// The price per replica of the requester's jobs: the default
/// `min_price_per_work_unit` for their one work unit.
const PRICE: u128 = 1_000;
/// The price per replica of the treasury's job.
const TREASURY_PRICE: u128 = 7_000;
/// Minted per work unit to each agreeing provider of an R = 3 job.
const REWARD: u128 = 500;
const FEE: u128 = 2_000;
const BOND: u128 = 5_000_000;
const COMMIT_WINDOW: u64 = 60;
const REVEAL_WINDOW: u64 = 30;
const MIN_PHASE: u64 = 3;
/// Long enough that dev2 is still jailed when the test looks.
const JAIL: u64 = 10_000;
const UNBONDING: u64 = 10;
/// Default `slash_fraction_missed_ppm`: 1%.
const SLASH_MISSED_PPM: u128 = 10_000;
/// How long any one condition may take to come true, even on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(180);

impl Cli<'_> {
    fn job(&self, id: &str) -> Value {
        self.json(&["query", "compute", "job", id])["job"].clone()
    }

    fn provider(&self, addr: &str) -> Value {
        self.json(&["query", "compute", "provider", addr])["provider"].clone()
    }

    /// The latest block height.
    fn height(&self) -> u64 {
        let s = self.json(&["status"]);
        let h = &s["latest_block_height"];
        h.as_u64()
            .or_else(|| h.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or_else(|| panic!("no height in {s}"))
    }

    /// Polls `probe` until it returns `Some`.
    fn wait<T>(&self, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = probe() {
                return v;
            }
            assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until job `id` has status `status` (`finalized` for
    /// `JOB_STATUS_FINALIZED`).
    fn wait_for(&self, id: &str, status: &str) -> Value {
        self.wait(&format!("job {id} to become {status}"), || {
            let j = self.job(id);
            (j["status"] == job_status(status)).then_some(j)
        })
    }

    /// Waits until every provider assigned to job `id` has committed.
    fn wait_all_committed(&self, id: &str) {
        self.wait(&format!("every commitment to job {id}"), || {
            let j = self.job(id);
            let a = j["assignments"].as_array().unwrap();
            (!a.is_empty() && a.iter().all(|a| a["commitment"] != "")).then_some(())
        })
    }
}

/// The proto JSON name of job status `short`, e.g. `JOB_STATUS_FINALIZED`.
fn job_status(short: &str) -> String {
    format!("JOB_STATUS_{}", short.to_ascii_uppercase())
}

/// A hash written as hex, as proto JSON writes the bytes: base64.
fn b64_of_hex(h: &str) -> String {
    b64(hex::decode(h).unwrap())
}

/// A DGM1 gemm-i8 header for `m × k` times `k × n`.
fn gemm_header(m: u32, n: u32, k: u32) -> Vec<u8> {
    let mut v = deai_compute_module::input::GEMM_I8_MAGIC_V1.to_vec();
    for d in [m, n, k] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v
}

/// A valid gemm-i8 input: a 2×2×2 product (one work unit) whose matrices
/// depend on `tag`.
fn gemm_input(tag: u8) -> Vec<u8> {
    let mut v = gemm_header(2, 2, 2);
    v.extend((0..8u8).map(|i| tag.wrapping_add(i)));
    v
}

/// `submit-job` arguments for a gemm-i8 job on `input_hex` at `price`.
fn gemm_args<'a>(price: &'a str, input_hex: &'a str) -> Vec<&'a str> {
    vec![
        "--kind",
        "gemm-i8",
        "--price",
        price,
        "--input-hex",
        input_hex,
    ]
}

/// The job id printed by `tx compute submit-job`.
fn job_id(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("job "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id in {out}"))
        .to_string()
}

/// One provider's part in one job: commit to `hash` (or to the bytes of
/// `output_file`), then reveal it unless `reveal` is false.
struct Work {
    job: String,
    hash: String,
    output_file: Option<PathBuf>,
    reveal: bool,
}

fn write(dir: &std::path::Path, name: &str, v: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    path
}

#[test]
fn providers_requesters_and_the_treasury_run_the_compute_market_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    ok(&deaid(home, &["devnet", "--init-only"]));
    let genesis_path = home.join("config/genesis.json");
    let mut genesis: Value =
        serde_json::from_slice(&std::fs::read(&genesis_path).unwrap()).unwrap();
    let mut params = serde_json::to_value(deai_compute_module::ComputeParams::default()).unwrap();
    params["min_provider_bond"] = json!("1000000");
    params["commit_window"] = json!(COMMIT_WINDOW);
    params["reveal_window"] = json!(REVEAL_WINDOW);
    params["min_phase_window"] = json!(MIN_PHASE);
    params["jail_period"] = json!(JAIL);
    params["unbonding_period"] = json!(UNBONDING);
    params["slash_fraction_missed_ppm"] = json!(SLASH_MISSED_PPM as u32);
    params["reward_per_work_unit"] = json!(REWARD.to_string());
    genesis["app_state"]["compute"] = json!({ "params": params.clone() });
    let mut gov = serde_json::to_value(deai_gov::GovParams::default()).unwrap();
    gov["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
    gov["expedited_min_deposit"] = json!([{"denom": "udeai", "amount": "5000"}]);
    gov["max_deposit_period_blocks"] = json!(30);
    gov["voting_period_blocks"] = json!(12);
    gov["expedited_voting_period_blocks"] = json!(6);
    genesis["app_state"]["gov"] = json!({ "params": gov });
    std::fs::write(&genesis_path, serde_json::to_vec_pretty(&genesis).unwrap()).unwrap();

    let net = start_devnet(home);
    let cli = Cli {
        home,
        node: net.url.clone(),
    };
    ok(&cli.run(&["keys", "add", "requester"]));
    let requester = cli.address("requester");
    ok(&cli.run(&[
        "tx",
        "bank",
        "send",
        "dev0",
        &requester,
        "100000000udeai",
        "--yes",
    ]));

    // Governance first, as it takes a voting period: the treasury pays for
    // a job once the proposal passes.
    cli.tx(&["tx", "treasury", "fund", "5000000udeai"], "dev0");
    let mut proposal: Value = serde_json::from_str(&ok(&deaid(
        home,
        &["tx", "gov", "draft-proposal", "--kind", "treasury-job"],
    )))
    .unwrap();
    let treasury_input = gemm_input(0x70);
    let m = &mut proposal["messages"][0];
    m["kind"] = json!("gemm-i8");
    m.as_object_mut().unwrap().remove("model_id");
    m["input"] = json!(b64(&treasury_input));
    m["input_hash"] = json!(b64(sha3(&[&treasury_input])));
    m["replication"] = json!(3);
    m["price_per_replica"] = json!(TREASURY_PRICE.to_string());
    proposal["deposit"] = json!("1000udeai");
    proposal["title"] = json!("Public-good compute");
    let file = write(home, "treasury-job.json", &proposal);
    // The requester submits it: its deposit comes back when the proposal
    // passes, and the providers' balances are left alone.
    let out = cli.tx(
        &["tx", "gov", "submit-proposal", file.to_str().unwrap()],
        "requester",
    );
    let proposal_id = out
        .lines()
        .find_map(|l| l.strip_prefix("proposal "))
        .unwrap_or_else(|| panic!("no proposal id in {out}"))
        .trim()
        .to_string();
    cli.tx(&["tx", "gov", "vote", &proposal_id, "yes"], "dev0");
    cli.tx(&["tx", "gov", "vote", &proposal_id, "yes"], "dev1");

    let providers = ["dev0", "dev1", "dev2"];
    std::thread::scope(|s| {
        for p in providers {
            let cli = &cli;
            s.spawn(move || {
                let out = cli.tx(
                    &[
                        "tx",
                        "compute",
                        "register-provider",
                        &format!("{BOND}udeai"),
                        "--device",
                        "test GPU",
                    ],
                    p,
                );
                assert!(
                    out.contains(&format!("registered with bond {BOND}udeai")),
                    "{out}"
                );
            });
        }
    });
    let addrs: Vec<String> = providers.iter().map(|p| cli.address(p)).collect();
    let listed = cli.json(&["query", "compute", "providers"]);
    assert_eq!(listed["providers"].as_array().unwrap().len(), 3, "{listed}");
    let one = cli.provider(&addrs[0]);
    assert_eq!(one["bond"], BOND.to_string());
    assert_eq!(one["device"], "test GPU");
    let p = cli.json(&["query", "compute", "params"]);
    let want: deai_compute_module::ComputeParams = serde_json::from_value(params).unwrap();
    assert_eq!(
        p["params"],
        proto_json("deai.compute.v1.Params", &want.to_proto())
    );
    assert_eq!(p["params"]["commit_window"], COMMIT_WINDOW.to_string());
    assert_eq!(p["params"]["min_phase_window"], MIN_PHASE.to_string());
    assert!(ok(&cli.run(&["query", "compute", "models"])).contains("(no models)"));
    // From here on the providers make no tx but those counted below.
    let before: Vec<u128> = addrs.iter().map(|a| cli.balance(a)).collect();

    // Bad input: each a clear error, nothing broadcast.
    let requester_account = ok(&cli.run(&["query", "account", &requester]));
    let input = home.join("input.bin");
    let a_input = gemm_input(0xaa);
    std::fs::write(&input, &a_input).unwrap();
    let input_arg = input.to_str().unwrap();
    let submit = |replication: &str, extra: &[&str]| {
        let mut args = vec![
            "tx",
            "compute",
            "submit-job",
            "--replication",
            replication,
            "--from",
            "requester",
            "--yes",
        ];
        args.extend(extra);
        cli.run(&args)
    };
    let price = format!("{PRICE}udeai");
    let [bb, cc, dd, ee] = [0xbb, 0xcc, 0xdd, 0xee].map(|t| hex::encode(gemm_input(t)));
    // k = 0 with huge m and n: no provider could size the result.
    let unrunnable = hex::encode(gemm_header(u32::MAX, u32::MAX, 0));
    // 1024×1024×2: 2^21 multiply-adds, two work units.
    let mut two_units = gemm_header(1024, 1024, 2);
    two_units.resize(two_units.len() + 2 * 1024 * 2, 1);
    let two_units = hex::encode(two_units);
    let model = "ab".repeat(32);
    for (extra, why) in [
        (
            vec![
                "--kind",
                "mine-bitcoin",
                "--input-file",
                input_arg,
                "--price",
                "1000udeai",
            ],
            "unknown kind",
        ),
        (
            vec![
                "--kind",
                "gemm-i8",
                "--input-hex",
                "xyz",
                "--price",
                "1000udeai",
            ],
            "not valid hex",
        ),
        (
            vec![
                "--kind",
                "gemm-i8",
                "--input-file",
                "/nonexistent/input.bin",
                "--price",
                "1000udeai",
            ],
            "reading the input file",
        ),
        (
            vec![
                "--kind",
                "embed",
                "--input-file",
                input_arg,
                "--price",
                "1000udeai",
            ],
            "must name a registered model",
        ),
        (
            vec![
                "--kind",
                "gemm-i8",
                "--input-file",
                input_arg,
                "--price",
                "10uatom",
            ],
            "--price",
        ),
        (
            [gemm_args(&price, &dd), vec!["--deadline", "0"]].concat(),
            "--deadline",
        ),
        (
            gemm_args(&price, &unrunnable),
            "every dimension must be at least 1",
        ),
        (
            gemm_args(&price, "44474d31"),
            "shorter than its 16-byte header",
        ),
        (
            vec![
                "--kind",
                "infer",
                "--model",
                &model,
                "--input-hex",
                "00",
                "--price",
                "1000udeai",
            ],
            "infer jobs are not accepted",
        ),
    ] {
        let e = err(&submit("3", &extra));
        assert!(e.contains(why), "{why}: {e}");
    }
    assert_eq!(
        ok(&cli.run(&["query", "account", &requester])),
        requester_account
    );

    // The jobs. A: honest; B: dev2 never reveals; C: three results.
    let out = ok(&submit(
        "3",
        &[
            "--kind",
            "gemm-i8",
            "--input-file",
            input_arg,
            "--price",
            &price,
        ],
    ));
    let a = job_id(&out);
    assert!(out.contains(&hex::encode(sha3(&[&a_input]))), "{out}");
    let b = job_id(&ok(&submit("3", &gemm_args(&price, &bb))));
    let c = job_id(&ok(&submit("3", &gemm_args(&price, &cc))));
    // A deadline in the past: refused in its block, for the fee.
    let e = err(&submit(
        "3",
        &[gemm_args(&price, &dd), vec!["--deadline", "1"]].concat(),
    ));
    assert!(
        e.contains("invalid deadline 1") && e.contains("has passed"),
        "{e}"
    );
    // R = 4 with three eligible providers: refused in its block, for the fee.
    let e = err(&submit("4", &gemm_args(&price, &ee)));
    assert!(e.contains("exceeds the 3 providers eligible"), "{e}");
    // Two work units at the price of one: refused in its block, for the fee.
    let e = err(&submit("3", &gemm_args(&price, &two_units)));
    assert!(
        e.contains("is below 2000") && e.contains("2 work units"),
        "{e}"
    );
    // D: a deadline shorter than the default windows.
    let d_deadline = cli.height() + 60;
    let out = ok(&submit(
        "3",
        &[
            gemm_args(&price, &dd),
            vec!["--deadline", &d_deadline.to_string()],
        ]
        .concat(),
    ));
    assert!(out.contains(&format!("deadline {d_deadline}")), "{out}");
    let d = job_id(&out);
    // The proposal, A, B, C, the three refused ones and D.
    let requester_txs = 8;

    // Each provider's work, in order: D first, its commit window being the shortest.
    let output = home.join("output.bin");
    std::fs::write(&output, b"the product").unwrap();
    let hash = hex::encode(sha3(&[b"the product"]));
    let h = |s: &str| hex::encode(sha3(&[s.as_bytes()]));
    let e = err(&cli.run(&[
        "tx",
        "compute",
        "commit",
        &a,
        "--result-hash",
        "abcd",
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(e.contains("32 bytes"), "{e}");
    let treasury = deai_compute_module::treasury_address().to_bech32();
    let t = cli.wait("the treasury's job", || {
        let jobs = cli.json(&["query", "compute", "jobs"]);
        jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["requester"] == treasury.as_str())
            .map(|j| j["id"].as_str().unwrap().to_string())
    });
    let plans: Vec<Vec<Work>> = (0..3)
        .map(|i| {
            let work = |job: &str, hash: String, reveal: bool| Work {
                job: job.to_string(),
                hash,
                output_file: None,
                reveal,
            };
            vec![
                work(&d, h("d"), true),
                Work {
                    output_file: (i == 0).then(|| output.clone()),
                    ..work(&a, hash.clone(), true)
                },
                work(&b, h("b"), i != 2),
                work(&c, h(&format!("c{i}")), true),
                work(&t, h("t"), true),
            ]
        })
        .collect();
    let txs: Vec<u128> = std::thread::scope(|s| {
        let handles: Vec<_> = providers
            .iter()
            .zip(&plans)
            .map(|(&p, plan)| {
                let cli = &cli;
                let a = &a;
                s.spawn(move || {
                    let mut txs = 0u128;
                    for w in plan {
                        cli.wait_for(&w.job, "assigned");
                        let mut args = vec!["tx", "compute", "commit", w.job.as_str()];
                        match &w.output_file {
                            Some(f) => args.extend(["--output-file", f.to_str().unwrap()]),
                            None => args.extend(["--result-hash", w.hash.as_str()]),
                        }
                        let out = cli.tx(&args, p);
                        assert!(out.contains("salt saved in"), "{out}");
                        txs += 1;
                    }
                    let me = cli.address(p);
                    if p == "dev0" {
                        assert!(cli
                            .home
                            .join("compute/salts")
                            .join(format!("{a}-{me}.json"))
                            .exists());
                        // A provider with unsettled jobs cannot unbond.
                        let e =
                            err(&cli
                                .run(&["tx", "compute", "unbond", "1udeai", "--from", p, "--yes"]));
                        assert!(e.contains("unsettled jobs"), "{e}");
                        txs += 1;
                    }
                    if p == "dev1" {
                        // A second commitment to another result would lose
                        // the saved salt: refused before broadcasting.
                        let e = err(&cli.run(&[
                            "tx",
                            "compute",
                            "commit",
                            a,
                            "--result-hash",
                            &"00".repeat(32),
                            "--from",
                            p,
                            "--yes",
                        ]));
                        assert!(e.contains("remove it to commit to another result"), "{e}");
                    }
                    for w in plan.iter().filter(|w| w.reveal) {
                        cli.wait_all_committed(&w.job);
                        if p == "dev1" && &w.job == a {
                            // The right result with the wrong salt does not
                            // open the commitment: rejected in its block.
                            let e = err(&cli.run(&[
                                "tx",
                                "compute",
                                "reveal",
                                a,
                                "--result-hash",
                                &w.hash,
                                "--salt",
                                "00",
                                "--from",
                                p,
                                "--yes",
                            ]));
                            assert!(e.contains("does not match the commitment"), "{e}");
                            txs += 1;
                            let j = cli.job(a);
                            let mine = j["assignments"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .find(|x| x["provider"] == me.as_str())
                                .unwrap();
                            assert_eq!(mine["result_hash"], "", "{j}");
                            assert_ne!(mine["commitment"], "", "{j}");
                        }
                        let out = cli.tx(&["tx", "compute", "reveal", &w.job], p);
                        assert!(
                            out.contains(&format!("revealed result {}", w.hash)),
                            "{out}"
                        );
                        txs += 1;
                    }
                    txs
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    // D: assigned at `at`, its life to the deadline split 60:30.
    let dj = cli.wait_for(&d, "finalized");
    let at: u64 = dj["assigned_height"].as_str().unwrap().parse().unwrap();
    assert_eq!(dj["deadline"], d_deadline.to_string());
    assert_eq!(dj["reveal_deadline"], d_deadline.to_string(), "{dj}");
    let commit_until = at + (d_deadline - at) * COMMIT_WINDOW / (COMMIT_WINDOW + REVEAL_WINDOW);
    assert_eq!(dj["commit_deadline"], commit_until.to_string(), "{dj}");
    assert_eq!(dj["settled_height"], d_deadline.to_string(), "{dj}");
    assert_eq!(dj["result_hash"], b64_of_hex(&h("d")));
    let text = ok(&cli.run(&["query", "compute", "job", &d]));
    assert!(text.contains(&format!("deadline {d_deadline}")), "{text}");

    // A: finalized with dev0's output.
    let job = cli.wait_for(&a, "finalized");
    assert_eq!(job["result_hash"], b64_of_hex(&hash), "{job}");
    let result = cli.json(&["query", "compute", "result", &a]);
    assert_eq!(result["status"], job_status("finalized"));
    assert_eq!(result["result_hash"], b64_of_hex(&hash));
    assert_eq!(result["output"], b64(b"the product"));
    let text = ok(&cli.run(&["query", "compute", "result", &a]));
    assert!(text.contains(&hash), "{text}");

    // B: final without dev2, which is slashed and jailed.
    let bj = cli.wait_for(&b, "finalized");
    assert_eq!(bj["result_hash"], b64_of_hex(&h("b")));
    let settled: u64 = bj["settled_height"].as_str().unwrap().parse().unwrap();
    let dev2 = cli.provider(&addrs[2]);
    let cut = BOND * SLASH_MISSED_PPM / 1_000_000;
    assert_eq!(dev2["bond"], (BOND - cut).to_string(), "{dev2}");
    assert_eq!(dev2["jailed_until"], (settled + JAIL).to_string(), "{dev2}");
    for addr in &addrs[..2] {
        assert_eq!(cli.provider(addr)["bond"], BOND.to_string());
    }

    // C: disputed, no final result, nobody slashed.
    let cj = cli.wait_for(&c, "disputed");
    assert_eq!(cj["result_hash"], "");
    assert_eq!(cj["escrow"], "0");
    let disputed = cli.json(&["query", "compute", "jobs", "--status", "disputed"]);
    assert_eq!(disputed["jobs"][0]["id"], c.as_str(), "{disputed}");

    // T: the treasury's job, escrowed from the treasury and paid.
    let tj = cli.wait_for(&t, "finalized");
    assert_eq!(tj["price_per_replica"], TREASURY_PRICE.to_string());
    assert_eq!(tj["input_hash"], b64(sha3(&[&treasury_input])));
    assert_eq!(tj["input"], b64(&treasury_input));
    assert_eq!(
        cli.json(&["query", "gov", "proposal", &proposal_id])["proposal"]["status"],
        "PROPOSAL_STATUS_PASSED"
    );
    let spends = cli.json(&["query", "treasury", "spends"]);
    let job_spend = spends["spends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "job")
        .unwrap_or_else(|| panic!("no job spend in {spends}"));
    assert_eq!(
        job_spend["amount"],
        json!([{"denom": "udeai", "amount": (3 * TREASURY_PRICE).to_string()}]),
        "{job_spend}"
    );

    // Every udeai accounted for: each provider paid its fees and got the
    // price and the reward for each job it agreed on (dev2 not for B).
    let paid = [4, 4, 3];
    for i in 0..3 {
        let jobs_paid = paid[i] - 1; // the treasury's job is priced apart
        assert_eq!(
            cli.balance(&addrs[i]),
            before[i] - txs[i] * FEE + jobs_paid * PRICE + TREASURY_PRICE + paid[i] * REWARD,
            "{}",
            providers[i]
        );
    }
    assert_eq!(txs, vec![11, 11, 9], "commits, reveals and the refused txs");
    // The requester paid its fees and three prices for A and D, two for B;
    // C was refunded in full, and so was its proposal deposit; the refused
    // jobs escrowed nothing.
    assert_eq!(
        cli.balance(&requester),
        100_000_000 - requester_txs * FEE - 8 * PRICE
    );
    for addr in &addrs {
        assert_eq!(cli.provider(addr)["open_jobs"], "0");
    }
    let done = cli.json(&["query", "compute", "jobs", "--status", "finalized"]);
    assert_eq!(done["jobs"].as_array().unwrap().len(), 4, "{done}");
    let e = err(&cli.run(&["query", "compute", "jobs", "--status", "done"]));
    assert!(e.contains("use pending, assigned"), "{e}");

    // Bond and unbond, now that dev0 has no open jobs.
    let dev0 = &addrs[0];
    let start = cli.balance(dev0);
    let out = cli.tx(&["tx", "compute", "bond", "1000000udeai"], "dev0");
    assert!(out.contains("bond is now 6000000udeai"), "{out}");
    assert_eq!(cli.balance(dev0), start - 1_000_000 - FEE);
    let out = cli.tx(&["tx", "compute", "unbond", "2000000udeai"], "dev0");
    assert!(
        out.contains("unbonding 2000000udeai, paid out at height"),
        "{out}"
    );
    let p = cli.provider(dev0);
    assert_eq!(
        (p["bond"].clone(), p["unbonding"].clone()),
        (json!("4000000"), json!("2000000")),
        "{p}"
    );
    cli.wait("the unbonding to be paid out", || {
        (cli.provider(dev0)["unbonding"] == "0").then_some(())
    });
    assert_eq!(cli.balance(dev0), start - 1_000_000 - 2 * FEE + 2_000_000);
    assert_eq!(cli.provider(dev0)["bond"], "4000000");
}
