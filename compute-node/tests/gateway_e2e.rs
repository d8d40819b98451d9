//! `deai-compute gateway` end to end (issue 15): a devnet with all-MiniLM-L6-v2 registered
//! in genesis, three provider daemons, and the gateway in front of them, driven by the
//! official OpenAI Python client (`tests/py/openai_embeddings.py`, pinned by
//! `scripts/install-openai.sh`). The embeddings it gets are the reference encoder's (the
//! same integers, the same result hash as `deai-compute run`), the paying account is
//! debited exactly the price paid to the providers plus the fees, and bad requests get
//! OpenAI-shaped errors. Then `deai-compute verify` checks both jobs from the chain alone,
//! and `deaid tx compute embed` embeds a text from the command line.
//!
//! Needs the `deaid` binary, the model at `DEAI_MINILM_DIR` and the client's python at
//! `DEAI_OPENAI_PYTHON`; without them the test is skipped, unless `DEAI_REQUIRE_MODEL=1`,
//! `DEAI_REQUIRE_DEAID=1` or `DEAI_REQUIRE_OPENAI=1` makes it fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod devnet;
mod gateway;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use deai_compute::{
    encoder::Reference,
    model::{ModelFiles, SentenceModel},
    workload::{canonical_bytes, sha3_256, stack_rows},
    Matrix,
};
use deai_proto::compute::v1 as pb;
use devnet::{deaid_bin, model_dir, ok, start_net_with, wait, Daemon, COMPUTE};
use gateway::{api_key_hash, Gateway};
use serde_json::{json, Value};

fn required(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

fn openai_python() -> Option<PathBuf> {
    match std::env::var_os("DEAI_OPENAI_PYTHON").map(PathBuf::from) {
        Some(p) if p.exists() => Some(p),
        _ => {
            assert!(
                !required("DEAI_REQUIRE_OPENAI"),
                "DEAI_REQUIRE_OPENAI=1 but DEAI_OPENAI_PYTHON is not a python (scripts/install-openai.sh)"
            );
            eprintln!("SKIPPED: set DEAI_OPENAI_PYTHON (scripts/install-openai.sh prints it)");
            None
        }
    }
}

/// The reference encoder's embedding of `text`, one row.
fn reference(model: &SentenceModel, text: &str) -> Matrix<i32> {
    model
        .encoder()
        .forward(&Reference, &model.tokenize(text).unwrap())
        .unwrap()
}

fn compute(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(COMPUTE)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ints(floats: &Value) -> Vec<i32> {
    floats
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let x = v.as_f64().unwrap() * 32768.0;
            assert_eq!(x, x.round(), "a float is an integer times 2^-15: {v}");
            x as i32
        })
        .collect()
}

#[test]
fn the_openai_client_gets_verified_embeddings_paid_from_its_keys_account() {
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let Some(models) = model_dir() else { return };
    let Some(python) = openai_python() else {
        return;
    };
    let model = SentenceModel::load(&models).unwrap();
    let model_id = hex::encode(model.id());
    let size = std::fs::metadata(ModelFiles::locate(&models).unwrap().weights)
        .unwrap()
        .len();
    let dir = tempfile::tempdir().unwrap();
    let net = start_net_with(deaid.clone(), dir.path(), |genesis| {
        // 200 ms blocks: a batch with a 256-token text takes the daemons several seconds
        // on lavapipe and two shared cores, so the commit window is 40 s of blocks.
        genesis["app_state"]["compute"]["params"]["commit_window"] = json!(200);
        genesis["app_state"]["compute"]["params"]["reveal_window"] = json!(75);
        genesis["app_state"]["compute"]["models"] = json!([{
            "id": model_id,
            "name": "all-MiniLM-L6-v2",
            "architecture": "bert",
            "quantization": "int8",
            "license": "apache-2.0",
            "size_bytes": size,
        }]);
    });
    let providers = net.funded_keys(&["p0", "p1", "p2"]);
    let payer = net.funded_keys(&["payer"]).remove(0);
    let racer = net.funded_keys(&["racer"]).remove(0);
    net.deaid(&["keys", "add", "pauper"]);
    let flags = ["--models", models.to_str().unwrap()];
    let _daemons: Vec<Daemon> = ["p0", "p1", "p2"]
        .iter()
        .map(|k| Daemon::start(&net, dir.path(), k, &flags))
        .collect();
    for a in &providers {
        wait(Duration::from_secs(90), "registration", || net.provider(a));
    }

    // The gateway: three API keys, two paid by `payer` (one capped below any request's
    // cost), one by an account that holds nothing.
    let (rich, poor, capped, race) = (
        "r".repeat(40),
        "p".repeat(40),
        "c".repeat(40),
        "z".repeat(40),
    );
    let config = json!({
        "replication": 3,
        "timeout_secs": 240,
        "keys": [
            {"name": "rich", "api_key_sha256": api_key_hash(&rich), "from": "payer", "daily_limit_udeai": "1000000000"},
            {"name": "poor", "api_key_sha256": api_key_hash(&poor), "from": "pauper", "daily_limit_udeai": "1000000000"},
            {"name": "capped", "api_key_sha256": api_key_hash(&capped), "from": "payer", "daily_limit_udeai": "1"},
            // Room for one request of RACE_TEXT (escrow 3 × 8 units × the minimum price, and
            // a fee far below half of that), not two.
            {"name": "race", "api_key_sha256": api_key_hash(&race), "from": "racer", "daily_limit_udeai": "36000"},
        ],
    });
    let gw = Gateway::start(&net.url, &net.home, dir.path(), &config, &models);
    let port = gw.port;

    // The first text alone; then a batch of three, the last past 256 tokens (the
    // tokenizer keeps the first 256, as sentence-transformers does).
    let long = "the quick brown fox jumps over the lazy dog ".repeat(40);
    let texts = [
        "A man is eating food.",
        "Integer-only inference makes every node compute the same bytes.",
        long.as_str(),
    ];
    assert!(
        model.tokenize(&long).unwrap().ids.len() == 256,
        "the long text is truncated"
    );
    let before = net.balance(&payer);
    let fees_before = net.fees_paid(&payer);
    let out = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/py/openai_embeddings.py"))
        .env("DEAI_GATEWAY_URL", format!("http://127.0.0.1:{port}/v1"))
        .env("DEAI_API_KEY", &rich)
        .env("DEAI_API_KEY_POOR", &poor)
        .env("DEAI_API_KEY_CAPPED", &capped)
        .env("DEAI_MODEL_NAME", "all-MiniLM-L6-v2")
        .env("DEAI_MODEL_ID", &model_id)
        .env("DEAI_TEXTS", json!(texts).to_string())
        .output()
        .unwrap();
    let r: Value = serde_json::from_str(&ok(&out)).unwrap();

    // One text: the reference encoder's integers, and the hash `deai-compute run` prints.
    let single = reference(&model, texts[0]);
    let got = &r["single"];
    assert_eq!(
        ints(&got["embeddings"][0]),
        single.data(),
        "the first text's embedding"
    );
    let hash = hex::encode(sha3_256(&canonical_bytes(&single)));
    assert_eq!(got["deai"]["result_hash"], hash);
    let (ran, stdout, stderr) = compute(&[
        "run",
        "--model",
        models.to_str().unwrap(),
        "--text",
        texts[0],
    ]);
    assert!(ran, "{stderr}");
    assert!(stdout.contains(&format!("result hash: {hash}")), "{stdout}");
    assert_eq!(got["model"], "all-MiniLM-L6-v2");
    assert_eq!(got["deai"]["checked_by"], "chain-output");
    assert!(got["usage"]["prompt_tokens"].as_u64().unwrap() > 2);

    // The batch: one job, one row per text, each the reference's.
    let rows: Vec<Matrix<i32>> = texts.iter().map(|t| reference(&model, t)).collect();
    let got = &r["batch"];
    assert_eq!(got["indices"], json!([0, 1, 2]));
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(ints(&got["embeddings"][i]), row.data(), "text {i}");
    }
    let batch_hash = hex::encode(sha3_256(&canonical_bytes(&stack_rows(&rows).unwrap())));
    assert_eq!(got["deai"]["result_hash"], batch_hash);
    // 3 × 384 int32 is more than max_output_bytes: the gateway recomputed it.
    assert_eq!(got["deai"]["checked_by"], "recomputed");

    // Each job: finalized on chain by all three, the receipt's numbers the chain's.
    let min_price: u128 = {
        let p: pb::QueryParamsResponse = net.query(
            deai_compute_module::query::PARAMS_PATH,
            pb::QueryParamsRequest {},
        );
        p.params.unwrap().min_price_per_work_unit.parse().unwrap()
    };
    let (mut debited, mut fees) = (0u128, 0u128);
    for which in ["single", "batch"] {
        let d = &r[which]["deai"];
        let id = d["job_id"].as_u64().unwrap();
        let job = net.job(id);
        assert_eq!(
            job.status,
            pb::JobStatus::Finalized as i32,
            "{which}: {job:?}"
        );
        assert_eq!(
            hex::encode(&job.result_hash),
            d["result_hash"].as_str().unwrap()
        );
        assert_eq!(job.requester, payer);
        assert_eq!(d["providers"].as_array().unwrap().len(), 3, "{which}");
        assert_eq!(d["height"], job.settled_height);
        let price: u128 = d["price_per_replica_udeai"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            price,
            min_price.max(1) * u128::from(job.work_units),
            "{which}"
        );
        assert_eq!(job.price_per_replica, price.to_string());
        let paid: u128 = d["price_paid_udeai"].as_str().unwrap().parse().unwrap();
        assert_eq!(paid, 3 * price);
        assert_eq!(d["refunded_udeai"], "0");
        let fee: u128 = d["fee_udeai"].as_str().unwrap().parse().unwrap();
        debited += paid + fee;
        fees += fee;
    }
    // Work units follow the batch: one per short text, the long one's bytes.
    let batch_job = net.job(r["batch"]["deai"]["job_id"].as_u64().unwrap());
    assert_eq!(
        batch_job.work_units,
        texts
            .iter()
            .map(|t| deai_compute_module::input::embed_work_units(t.len() as u64))
            .sum::<u64>()
    );
    // Debited exactly what the providers were paid and the two submissions' fees (the
    // chain's own record of them); the refused requests cost nothing.
    assert_eq!(net.fees_paid(&payer) - fees_before, fees);
    assert_eq!(before - net.balance(&payer), debited);

    // The models list names the model by id and by name.
    let listed: Vec<&str> = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&model_id.as_str()) && listed.contains(&"all-MiniLM-L6-v2"),
        "{listed:?}"
    );

    // Errors: OpenAI's status and shape.
    let expect = [
        ("bad_model", 404, Some("model_not_found")),
        ("empty_input", 400, None),
        ("empty_list", 400, None),
        ("too_long", 400, Some("input_too_large")),
        ("dimensions", 400, None),
        ("no_funds", 402, Some("insufficient_funds")),
        ("over_daily_limit", 429, Some("daily_limit_exceeded")),
        ("bad_key", 401, Some("invalid_api_key")),
    ];
    for (case, status, code) in expect {
        let e = &r["errors"][case];
        assert_eq!(e["status"], status, "{case}: {e}");
        let err = &e["body"]["error"];
        for field in ["message", "type", "param", "code"] {
            assert!(err.get(field).is_some(), "{case}: no {field} in {e}");
        }
        assert!(!err["message"].as_str().unwrap().is_empty());
        if let Some(code) = code {
            assert_eq!(err["code"], code, "{case}: {e}");
        }
    }

    // Anyone can check both jobs from the chain alone.
    for which in ["single", "batch"] {
        let id = r[which]["deai"]["job_id"].as_u64().unwrap().to_string();
        let (ok, stdout, stderr) = compute(&[
            "verify",
            "--job",
            &id,
            "--rpc",
            &net.url,
            "--models",
            models.to_str().unwrap(),
            "--cpu",
        ]);
        assert!(ok, "verify {which}: {stdout}\n{stderr}");
        assert!(stdout.contains("verified:"), "{stdout}");
        assert!(
            stdout.contains(r[which]["deai"]["result_hash"].as_str().unwrap()),
            "{stdout}"
        );
    }
    let (ok, _, stderr) = compute(&["verify", "--job", "999", "--rpc", &net.url, "--cpu"]);
    assert!(!ok);
    assert!(stderr.contains("no such job"), "{stderr}");

    // Two requests at once on a key whose daily limit fits one: one is served, the other
    // refused before anything is sent (the limit is reserved under the account's lock);
    // meanwhile `deaid tx compute embed` embeds a text from the command line.
    let race_text = "the race is on ".repeat(280);
    let race_before = net.balance(&racer);
    let (raced, out) = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    gw.post(
                        "/v1/embeddings",
                        &race,
                        &json!({"model": "all-MiniLM-L6-v2", "input": race_text}),
                    )
                })
            })
            .collect();
        let out = net.deaid(&[
            "tx", "compute", "embed", texts[1], "--model", &model_id, "--from", "payer", "--yes",
            "--output", "json",
        ]);
        let raced: Vec<(u16, Value)> = racers.into_iter().map(|h| h.join().unwrap()).collect();
        (raced, out)
    });
    let mut statuses: Vec<u16> = raced.iter().map(|(s, _)| *s).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 429], "{raced:?}");
    let (won, lost) = if raced[0].0 == 200 {
        (&raced[0].1, &raced[1].1)
    } else {
        (&raced[1].1, &raced[0].1)
    };
    assert_eq!(lost["error"]["code"], "daily_limit_exceeded", "{lost}");
    let cost: u128 = ["price_paid_udeai", "fee_udeai"]
        .iter()
        .map(|f| won["deai"][f].as_str().unwrap().parse::<u128>().unwrap())
        .sum();
    assert_eq!(race_before - net.balance(&racer), cost);
    assert_eq!(
        won["deai"]["price_per_replica_udeai"],
        (8 * min_price).to_string()
    );
    // What the key spent is on disk, for a restarted gateway to find.
    let ledger: Value = serde_json::from_slice(
        &std::fs::read(net.home.join("compute-gateway/spend.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(ledger["race"]["spent"], cost.to_string());

    // The command line's embedding is the reference's.
    let cli: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(cli["embeddings_int"][0], json!(rows[1].data()));
    assert_eq!(
        cli["result_hash"],
        hex::encode(sha3_256(&canonical_bytes(&rows[1])))
    );
    assert_eq!(cli["providers"].as_array().unwrap().len(), 3);
}
