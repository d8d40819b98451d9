//! The compute market end to end through the `deaid` command line against
//! a running devnet: three providers (dev0, dev1, dev2) register with
//! bonds, a requester funded by dev0 submits a job with R = 3, the
//! providers commit and reveal (the salt kept by the CLI between the two),
//! all three are paid, and `query compute result` shows the result. Bad
//! input is refused before anything is broadcast.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{deaid, err, ok, start_devnet, Cli};
use deai_compute_module::record::sha3;
use serde_json::{json, Value};

const PRICE: u128 = 1_000;
const REWARD: u128 = 500;
const FEE: u128 = 2_000;
const BOND: u128 = 5_000_000;

impl Cli<'_> {
    fn job(&self, id: &str) -> Value {
        self.json(&["query", "compute", "job", id])
    }

    /// Waits until job `id` has status `status`.
    fn wait_for(&self, id: &str, status: &str) -> Value {
        let start = Instant::now();
        loop {
            let j = self.job(id);
            if j["status"] == status {
                return j;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "job {id} never became {status}: {j}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn three_providers_run_a_replicated_job_from_the_cli_and_are_paid() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    ok(&deaid(home, &["devnet", "--init-only"]));
    let genesis_path = home.join("config/genesis.json");
    let mut genesis: Value =
        serde_json::from_slice(&std::fs::read(&genesis_path).unwrap()).unwrap();
    let mut params = serde_json::to_value(deai_compute_module::ComputeParams::default()).unwrap();
    params["min_provider_bond"] = json!("1000000");
    params["commit_window"] = json!(25);
    params["reveal_window"] = json!(25);
    params["reward_per_work_unit"] = json!(REWARD.to_string());
    genesis["app_state"]["compute"] = json!({ "params": params });
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

    let providers = ["dev0", "dev1", "dev2"];
    for p in providers {
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
    }
    let listed = cli.json(&["query", "compute", "providers"]);
    assert_eq!(listed["providers"].as_array().unwrap().len(), 3, "{listed}");
    let dev0 = cli.address("dev0");
    let one = cli.json(&["query", "compute", "provider", &dev0]);
    assert_eq!(one["bond"], BOND.to_string());
    assert_eq!(one["device"], "test GPU");
    let p = cli.json(&["query", "compute", "params"]);
    assert_eq!(p["commit_window"], 25);
    assert!(ok(&cli.run(&["query", "compute", "models"])).contains("(no models)"));

    // Bad input: each a clear error, nothing broadcast.
    let requester_account = ok(&cli.run(&["query", "account", &requester]));
    let input = home.join("input.bin");
    std::fs::write(&input, b"two int8 matrices").unwrap();
    let input_arg = input.to_str().unwrap();
    let submit = |extra: &[&str]| {
        let mut args = vec![
            "tx",
            "compute",
            "submit-job",
            "--replication",
            "3",
            "--from",
            "requester",
            "--yes",
        ];
        args.extend(extra);
        cli.run(&args)
    };
    let e = err(&submit(&[
        "--kind",
        "mine-bitcoin",
        "--input-file",
        input_arg,
        "--price",
        "1000udeai",
    ]));
    assert!(e.contains("unknown kind"), "{e}");
    let e = err(&submit(&[
        "--kind",
        "gemm-i8",
        "--input-hex",
        "xyz",
        "--price",
        "1000udeai",
    ]));
    assert!(e.contains("not valid hex"), "{e}");
    let e = err(&submit(&[
        "--kind",
        "gemm-i8",
        "--input-file",
        "/nonexistent/input.bin",
        "--price",
        "1000udeai",
    ]));
    assert!(e.contains("reading the input file"), "{e}");
    let e = err(&submit(&[
        "--kind",
        "embed",
        "--input-file",
        input_arg,
        "--price",
        "1000udeai",
    ]));
    assert!(e.contains("must name a registered model"), "{e}");
    let e = err(&submit(&[
        "--kind",
        "gemm-i8",
        "--input-file",
        input_arg,
        "--price",
        "10uatom",
    ]));
    assert!(e.contains("--price"), "{e}");
    assert_eq!(
        ok(&cli.run(&["query", "account", &requester])),
        requester_account
    );

    // The providers make no tx until they commit: measure now, so the
    // commit window is not spent on queries.
    let before: Vec<u128> = providers
        .iter()
        .map(|p| cli.balance(&cli.address(p)))
        .collect();

    // The job.
    let out = ok(&submit(&[
        "--kind",
        "gemm-i8",
        "--input-file",
        input_arg,
        "--price",
        &format!("{PRICE}udeai"),
    ]));
    let job_id = out
        .lines()
        .find_map(|l| l.strip_prefix("job "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id in {out}"))
        .to_string();
    assert!(
        out.contains(&hex::encode(sha3(&[b"two int8 matrices"]))),
        "{out}"
    );
    let job = cli.wait_for(&job_id, "assigned");
    assert_eq!(job["assignments"].as_array().unwrap().len(), 3, "{job}");
    let pending = cli.json(&["query", "compute", "jobs", "--status", "assigned"]);
    assert_eq!(pending["jobs"].as_array().unwrap().len(), 1, "{pending}");

    // dev0 commits to an output file (revealed with the result); dev1 and
    // dev2 commit to its hash.
    let output = home.join("output.bin");
    std::fs::write(&output, b"the product").unwrap();
    let hash = hex::encode(sha3(&[b"the product"]));
    let e = err(&cli.run(&[
        "tx",
        "compute",
        "commit",
        &job_id,
        "--result-hash",
        "abcd",
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(e.contains("32 bytes"), "{e}");
    let out = cli.tx(
        &[
            "tx",
            "compute",
            "commit",
            &job_id,
            "--output-file",
            output.to_str().unwrap(),
        ],
        "dev0",
    );
    assert!(out.contains("salt saved in"), "{out}");
    assert!(home
        .join("compute/salts")
        .join(format!("{job_id}-{dev0}.json"))
        .exists());
    for p in ["dev1", "dev2"] {
        cli.tx(
            &["tx", "compute", "commit", &job_id, "--result-hash", &hash],
            p,
        );
    }
    // A second commitment to another result would lose the saved salt: refused.
    let e = err(&cli.run(&[
        "tx",
        "compute",
        "commit",
        &job_id,
        "--result-hash",
        &"00".repeat(32),
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(e.contains("remove it to commit to another result"), "{e}");

    for p in providers {
        let out = cli.tx(&["tx", "compute", "reveal", &job_id], p);
        assert!(out.contains(&format!("revealed result {hash}")), "{out}");
    }
    let job = cli.wait_for(&job_id, "finalized");
    assert_eq!(job["result_hash"], hash, "{job}");
    let result = cli.json(&["query", "compute", "result", &job_id]);
    assert_eq!(result["status"], "finalized");
    assert_eq!(result["result_hash"], hash);
    assert_eq!(result["output"], hex::encode(b"the product"));
    let text = ok(&cli.run(&["query", "compute", "result", &job_id]));
    assert!(text.contains(&hash), "{text}");

    // Each paid the fees of a commit and a reveal, and got the price and the reward.
    for (p, b) in providers.iter().zip(before) {
        assert_eq!(
            cli.balance(&cli.address(p)),
            b - 2 * FEE + PRICE + REWARD,
            "{p}"
        );
    }
    let done = cli.json(&["query", "compute", "jobs", "--status", "finalized"]);
    assert_eq!(done["jobs"][0]["id"], job_id.as_str(), "{done}");
    let e = err(&cli.run(&["query", "compute", "jobs", "--status", "done"]));
    assert!(e.contains("use pending, assigned"), "{e}");
}
