//! Private data rounds on a `deaid devnet` (issue 16).
//!
//! `ten_devices_train_a_head_privately_and_are_paid_exactly`: ten simulated
//! devices, each a separate `deai-compute round contribute` process with its
//! own key (a bonded compute provider from genesis) and its own private
//! labelled sentences of four topics, take part in a round that a
//! governance proposal opens (its evaluation set of texts built by
//! `deai-compute round eval-set --texts`); one device is killed after
//! joining, and another is killed after joining and started again (it
//! resumes from its state file). The round completes through the others'
//! reveals; the chain's
//! unmasked sum (the new head: parent zero, learning rate 1) equals the sum
//! of the nine devices' clipped noised updates, which they wrote with
//! `--update-out`; the parent and the new head are scored by two `classify`
//! jobs that three `deai-compute start` providers run (their outputs equal
//! this test's own run of the same inputs, and the jobs are paid from the
//! pool); the new head beats the base (the zero head) on held-out
//! sentences; each submitter's balance is its start plus its share of what
//! the evaluation left of the pool, plus what it earned in the compute
//! market, less its fees; the dropped device's likewise without a share.
//!
//! `bench_rounds_through_a_node` (ignored; run it by name, see
//! modules/rounds/README.md): round time and transaction bytes per
//! contributor at 10, 50 and 100 contributors, the devices driven in this
//! process with the client library on synthetic features, through the same
//! node RPC.
//!
//! Needs the `deaid` binary (`cargo build -p deaid`, or `$DEAID_BIN`) and,
//! for the first test, the unpacked all-MiniLM-L6-v2 at `DEAI_MINILM_DIR`;
//! skipped without them unless `DEAI_REQUIRE_DEAID=1` / `DEAI_REQUIRE_MODEL=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod devnet;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine as _;
use deai_compute::model::ModelFiles;
use deai_proto::rounds::v1 as pb;
use deai_rounds::{head::correct, mask::decode_head, params::HIDDEN};
use devnet::{
    deaid_bin, init_net, model_dir, ok, wait, Daemon, Net, BOND, COMPUTE, REWARD_PER_UNIT,
};
use serde_json::{json, Value};

const CLASSES: u32 = 4;
const DEVICES: usize = 10;
/// Each device's liquid udeai at genesis (its bond is held by the compute module).
const DEVICE_START: u128 = 10_000_000;
const TREASURY: u128 = 100_000_000;
const POOL: u128 = 2_000_005;
/// Each evaluation job's replication and price per replica (100 short texts
/// are 100 work units at the devnet's minimum of 1,000 udeai each).
const EVAL_R: u32 = 3;
const EVAL_PRICE: u128 = 150_000;
/// The evaluating providers' bond: far above the devices', so that they are
/// drawn for the evaluation jobs almost always (a device drawn instead does
/// not answer; the other two still agree).
const MARKET_BOND: u128 = 1_000 * BOND;
const ROUND_PATH: &str = "/deai.rounds.v1.Query/Round";
const LINEAGE_PATH: &str = "/deai.rounds.v1.Query/Lineage";

/// Creates keys `names` in the test keyring under `home`; their addresses.
fn keyring_keys(deaid: &Path, home: &Path, names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|k| {
            let run = |args: &[&str]| {
                ok(&Command::new(deaid)
                    .arg("--home")
                    .arg(home)
                    .args(args)
                    .env("DEAI_KEYRING_BACKEND", "test")
                    .env("RUST_LOG", "warn")
                    .output()
                    .unwrap())
            };
            run(&["keys", "add", k]);
            run(&["keys", "show", k, "--address"]).trim().to_string()
        })
        .collect()
}

/// Genesis for a round test: `addrs` funded and registered as compute
/// providers (bond [`BOND`]), the treasury funded, governance fast, `model`
/// (id, size) registered.
fn round_genesis(genesis: &mut Value, addrs: &[String], model: (&str, u64)) {
    round_genesis_with_market(genesis, addrs, &[], model)
}

/// [`round_genesis`], with `market` funded and registered as providers
/// bonded with [`MARKET_BOND`].
fn round_genesis_with_market(
    genesis: &mut Value,
    addrs: &[String],
    market: &[String],
    model: (&str, u64),
) {
    let app = &mut genesis["app_state"];
    let coins = |n: u128| json!([{"denom": "udeai", "amount": n.to_string()}]);
    for a in addrs.iter().chain(market) {
        app["auth"]["accounts"]
            .as_array_mut()
            .unwrap()
            .push(json!(a));
        app["bank"]["balances"]
            .as_array_mut()
            .unwrap()
            .push(json!({"address": a, "coins": coins(DEVICE_START)}));
    }
    let bonds = BOND * addrs.len() as u128 + MARKET_BOND * market.len() as u128;
    for (addr, n) in [
        (deai_compute_module::module_address().to_bech32(), bonds),
        (deai_rounds::treasury_address().to_bech32(), TREASURY),
    ] {
        app["bank"]["balances"]
            .as_array_mut()
            .unwrap()
            .push(json!({"address": addr, "coins": coins(n)}));
    }
    app["compute"]["providers"] = json!(addrs
        .iter()
        .map(|a| (a, BOND))
        .chain(market.iter().map(|a| (a, MARKET_BOND)))
        .map(|(a, bond)| json!({"address": a, "bond": bond.to_string(), "device": "round test"}))
        .collect::<Vec<_>>());
    app["compute"]["models"] = json!([{
        "id": model.0, "name": "all-MiniLM-L6-v2", "architecture": "bert",
        "quantization": "int8", "license": "apache-2.0", "size_bytes": model.1,
    }]);
    let gov = &mut app["gov"]["params"];
    gov["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
    gov["max_deposit_period_blocks"] = json!(30);
    gov["voting_period_blocks"] = json!(15);
    gov["expedited_voting_period_blocks"] = json!(10);
}

/// Submits a proposal opening a round with `config` and `eval_set` (proto
/// JSON) from dev0, has dev0..dev2 vote yes, and waits for round `id`.
fn open_round(net: &Net, dir: &Path, config: Value, eval_set: Value, id: u64) -> pb::Round {
    // The CLI's template, filled in: what a proposer would do.
    let mut proposal: Value =
        serde_json::from_str(&net.deaid(&["tx", "gov", "draft-proposal", "--kind", "open-round"]))
            .unwrap();
    proposal["title"] = json!("Train a topic head");
    proposal["summary"] = json!("A private data round on four topics.");
    proposal["deposit"] = json!("1000udeai");
    let msg = &mut proposal["messages"][0];
    assert_eq!(msg["@type"], "/deai.rounds.v1.MsgOpenRound");
    for (k, v) in config.as_object().unwrap() {
        assert!(
            msg["config"].get(k).is_some(),
            "the template has config.{k}"
        );
        msg["config"][k] = v.clone();
    }
    msg["eval_set"] = eval_set;
    pass_proposal(net, dir, &proposal, "open-round");
    wait(Duration::from_secs(60), "the round to open", || {
        round(net, id)
    })
    .round
    .unwrap()
}

/// Submits `proposal` (a filled `draft-proposal` template) from dev0 and has
/// dev0..dev2 vote yes; returns once the votes landed.
fn pass_proposal(net: &Net, dir: &Path, proposal: &Value, name: &str) {
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(proposal).unwrap()).unwrap();
    let out = net.deaid(&[
        "tx",
        "gov",
        "submit-proposal",
        file.to_str().unwrap(),
        "--from",
        "dev0",
        "--gas",
        "auto",
        "--fees",
        "2000000udeai",
        "--yes",
    ]);
    let pid = out
        .lines()
        .find_map(|l| l.strip_prefix("proposal "))
        .unwrap_or_else(|| panic!("no proposal id in {out}"))
        .trim()
        .to_string();
    // The three members vote at once: each from its own account.
    let voters: Vec<Child> = ["dev0", "dev1", "dev2"]
        .iter()
        .map(|k| {
            Command::new(&net.deaid)
                .arg("--home")
                .arg(&net.home)
                .args(["tx", "gov", "vote", &pid, "yes", "--from", k, "--yes"])
                .env("DEAI_NODE", &net.url)
                .env("DEAI_KEYRING_BACKEND", "test")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for v in voters {
        ok(&v.wait_with_output().unwrap());
    }
}

fn round(net: &Net, id: u64) -> Option<pb::QueryRoundResponse> {
    use prost::Message as _;
    let bytes = net
        .rt
        .block_on(net.client.query(
            ROUND_PATH,
            pb::QueryRoundRequest { round_id: id }.encode_to_vec(),
        ))
        .ok()?;
    Some(pb::QueryRoundResponse::decode(bytes.as_slice()).unwrap())
}

/// The round's config as proto JSON, for an evaluation set of embeddings
/// (evaluated on chain).
#[allow(clippy::too_many_arguments)]
fn config_json(
    model: &str,
    clip: u64,
    noise: u64,
    min: u32,
    max: u32,
    windows: (u64, u64, u64),
    hash: &[u8],
) -> Value {
    json!({
        "base_model_id": model,
        "parent_version": "0",
        "classes": CLASSES,
        "lr_num": 1,
        "lr_den": 1,
        "clip_l2_squared": clip.to_string(),
        "noise_variance": noise.to_string(),
        "min_contributors": min,
        "max_contributors": max,
        "min_provider_bond": BOND.to_string(),
        "reward_pool": {"denom": "udeai", "amount": POOL.to_string()},
        "join_blocks": windows.0.to_string(),
        "submit_blocks": windows.1.to_string(),
        "reveal_blocks": windows.2.to_string(),
        "eval_set_hash": base64::engine::general_purpose::STANDARD.encode(hash),
        "eval_replication": 0,
        "eval_price_per_replica": "",
    })
}

/// A small deterministic generator for test data (not for keys or noise).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Subjects, actions, objects and endings of each topic's sentences.
const TOPICS: [[&[&str]; 4]; 4] = [
    [
        &[
            "The striker",
            "Our goalkeeper",
            "The home team",
            "The coach",
            "A young sprinter",
            "The captain",
        ],
        &[
            "scored in",
            "celebrated",
            "trained hard for",
            "lost",
            "won",
            "played",
        ],
        &[
            "the championship final",
            "the football match",
            "the tennis tournament",
            "the marathon",
            "the league derby",
            "the basketball game",
        ],
        &[
            "in front of the fans.",
            "at the stadium.",
            "last weekend.",
            "after extra time.",
            "on the pitch.",
        ],
    ],
    [
        &[
            "The chef",
            "My grandmother",
            "The baker",
            "Our cook",
            "The pastry student",
            "A street vendor",
        ],
        &[
            "baked", "roasted", "seasoned", "simmered", "fried", "served",
        ],
        &[
            "fresh bread with garlic butter",
            "a spicy tomato soup",
            "the chicken with rosemary",
            "chocolate cake",
            "noodles in broth",
            "grilled vegetables",
        ],
        &[
            "for dinner.",
            "in the kitchen.",
            "with olive oil.",
            "in the oven.",
            "for the family lunch.",
        ],
    ],
    [
        &[
            "The forecast",
            "A cold front",
            "The storm",
            "Heavy clouds",
            "The meteorologist",
            "A warm breeze",
        ],
        &[
            "brought",
            "promised",
            "warned of",
            "predicted",
            "delivered",
            "announced",
        ],
        &[
            "heavy rain and thunder",
            "snow in the mountains",
            "a sunny afternoon",
            "strong winds along the coast",
            "freezing temperatures",
            "fog in the valley",
        ],
        &[
            "for tomorrow.",
            "this week.",
            "overnight.",
            "across the region.",
            "by the weekend.",
        ],
    ],
    [
        &[
            "The programmer",
            "Our server",
            "The compiler",
            "A laptop",
            "The database",
            "The software update",
        ],
        &[
            "crashed during",
            "optimized",
            "compiled",
            "encrypted",
            "debugged",
            "installed",
        ],
        &[
            "the source code",
            "the operating system kernel",
            "the network driver",
            "a memory leak",
            "the web application",
            "the graphics card firmware",
        ],
        &[
            "on the computer.",
            "in the data center.",
            "after the reboot.",
            "with the new CPU.",
            "over the network.",
        ],
    ],
];

/// `per_class` labelled sentences of each topic, as data-file lines.
fn sentences(seed: u64, per_class: usize) -> Vec<(String, u8)> {
    let mut rng = Lcg(seed.wrapping_mul(7919).wrapping_add(13));
    let mut out = Vec::new();
    for _ in 0..per_class {
        for (y, parts) in TOPICS.iter().enumerate() {
            let words: Vec<&str> = parts.iter().map(|p| p[rng.below(p.len())]).collect();
            out.push((words.join(" "), y as u8));
        }
    }
    out
}

fn write_data(path: &Path, data: &[(String, u8)]) {
    let lines: Vec<String> = data
        .iter()
        .map(|(t, y)| json!({"text": t, "label": y}).to_string())
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Runs `deai-compute round eval-set` on `data`; returns the set as proto
/// JSON, its raw embeddings and labels, and its hash.
fn eval_set(
    dir: &Path,
    name: &str,
    models: &Path,
    data: &[(String, u8)],
) -> (Value, Vec<u8>, Vec<u8>, Vec<u8>) {
    let input = dir.join(format!("{name}.jsonl"));
    let out = dir.join(format!("{name}.json"));
    write_data(&input, data);
    let printed = ok(&Command::new(COMPUTE)
        .args(["round", "eval-set", "--data"])
        .arg(&input)
        .arg("--models")
        .arg(models)
        .arg("--out")
        .arg(&out)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap());
    assert!(
        printed.contains(&format!("{} examples", data.len())),
        "{printed}"
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let emb = b64.decode(v["embeddings"].as_str().unwrap()).unwrap();
    let labels = b64.decode(v["labels"].as_str().unwrap()).unwrap();
    assert_eq!(emb.len(), data.len() * HIDDEN as usize);
    let hash = deai_rounds::mask::eval_set_hash(&pb::EvalSet {
        embeddings: emb.clone(),
        labels: labels.clone(),
        ..Default::default()
    })
    .to_vec();
    (v, emb, labels, hash)
}

/// Runs `deai-compute round eval-set --texts` on `data` (no model needed);
/// returns the set as proto JSON and decoded, and its hash.
fn eval_set_of_texts(
    dir: &Path,
    name: &str,
    data: &[(String, u8)],
) -> (Value, pb::EvalSet, Vec<u8>) {
    let input = dir.join(format!("{name}.jsonl"));
    let out = dir.join(format!("{name}.json"));
    write_data(&input, data);
    let printed = ok(&Command::new(COMPUTE)
        .args(["round", "eval-set", "--texts", "--data"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .env_remove("DEAI_MINILM_DIR")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap());
    assert!(
        printed.contains(&format!("{} examples (texts)", data.len())),
        "{printed}"
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let set = pb::EvalSet {
        texts: b64.decode(v["texts"].as_str().unwrap()).unwrap(),
        labels: b64.decode(v["labels"].as_str().unwrap()).unwrap(),
        ..Default::default()
    };
    let texts: Vec<&str> = data.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        set.texts,
        deai_compute::workload::encode_embed_input(&texts).unwrap()
    );
    let hash = deai_rounds::mask::eval_set_hash(&set).to_vec();
    (v, set, hash)
}

/// A `deai-compute round contribute` process, its stdout read line by line.
struct Device {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    err: PathBuf,
}

impl Device {
    fn spawn(net: &Net, dir: &Path, key: &str, models: &Path, round: u64) -> Device {
        let data = dir.join(format!("{key}.jsonl"));
        let err = dir.join(format!("{key}.err"));
        let mut child = Command::new(COMPUTE)
            .args([
                "round",
                "contribute",
                "--round",
                &round.to_string(),
                "--data",
            ])
            .arg(&data)
            .arg("--models")
            .arg(models)
            .args([
                "--node",
                &net.url,
                "--from",
                key,
                "--keyring-backend",
                "test",
            ])
            .arg("--home")
            .arg(&net.home)
            .arg("--update-out")
            .arg(dir.join(format!("{key}.update.json")))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Device {
            child,
            lines,
            seen: Vec::new(),
            err,
        }
    }

    /// Waits for a line of stdout starting with `prefix`.
    fn wait_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!(
                    "no `{prefix}` line; stdout: {:?}; stderr: {}",
                    self.seen,
                    std::fs::read_to_string(&self.err).unwrap_or_default()
                ),
            }
        }
    }

    /// Waits for the process to exit; its stdout lines.
    fn finish(mut self, timeout: Duration) -> Vec<String> {
        let status = wait(timeout, "a device to finish", || {
            self.child.try_wait().unwrap()
        });
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(l);
        }
        assert!(
            status.success(),
            "device failed: stdout {:?}; stderr: {}",
            self.seen,
            std::fs::read_to_string(&self.err).unwrap_or_default()
        );
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn ten_devices_train_a_head_privately_and_are_paid_exactly() {
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let Some(models) = model_dir() else { return };
    let started = Instant::now();
    let files = ModelFiles::locate(&models).unwrap();
    let model_id = deai_compute::workload::ModelStore::load(&models)
        .unwrap()
        .ids()
        .next()
        .unwrap()
        .to_string();
    let size = std::fs::metadata(&files.weights).unwrap().len();
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = (0..DEVICES).map(|i| format!("d{i}")).collect();
    let market_keys: Vec<String> = (0..3).map(|i| format!("m{i}")).collect();
    let mut addrs = Vec::new();
    let mut market = Vec::new();
    let chain_home = dir.path().join("chain");
    init_net(&deaid, dir.path(), |g| {
        addrs = keyring_keys(&deaid, &chain_home, &keys);
        market = keyring_keys(&deaid, &chain_home, &market_keys);
        round_genesis_with_market(g, &addrs, &market, (&model_id, size));
    });
    let net = Net::spawn(deaid, chain_home, "127.0.0.1:0");
    // Three compute providers with the model, which evaluate the heads.
    let flags = ["--models", models.to_str().unwrap()];
    let daemons: Vec<Daemon> = market_keys
        .iter()
        .map(|k| Daemon::start(&net, dir.path(), k, &flags))
        .collect();

    // Private data: ten sentences of each topic per device, all different seeds.
    for (i, k) in keys.iter().enumerate() {
        write_data(
            &dir.path().join(format!("{k}.jsonl")),
            &sentences(100 + i as u64, 10),
        );
    }
    // The devices start first: each loads the encoder while governance votes.
    let mut devices: Vec<Device> = keys
        .iter()
        .map(|k| Device::spawn(&net, dir.path(), k, &models, 1))
        .collect();
    let eval_data = sentences(1, 25);
    let (eval_json, eval, hash) = eval_set_of_texts(dir.path(), "eval", &eval_data);
    let held_data = sentences(2, 25);
    let (_, held_emb, held_labels, _) = eval_set(dir.path(), "heldout", &models, &held_data);

    // Clip norm 512, summed noise sigma 362 (0.71 of it) once five submit; each head
    // scored by a classify job of three providers.
    let mut config = config_json(&model_id, 1 << 18, 1 << 17, 5, 16, (40, 100, 40), &hash);
    config["eval_replication"] = json!(EVAL_R);
    config["eval_price_per_replica"] = json!(EVAL_PRICE.to_string());
    let opened = open_round(&net, dir.path(), config, eval_json, 1);
    eprintln!(
        "round opened at height {} after {:.1?}",
        opened.opened_height,
        started.elapsed()
    );

    // Everyone joins; then device 9 dies.
    for d in devices.iter_mut() {
        d.wait_line("joined round 1", Duration::from_secs(120));
    }
    let dropped = devices.pop().unwrap();
    drop(dropped);
    // Device 0 is killed after joining and started again: it resumes from its
    // state file with the key it joined with, and takes part as if nothing
    // happened.
    let restarted = Device::spawn(&net, dir.path(), &keys[0], &models, 1);
    drop(std::mem::replace(&mut devices[0], restarted));
    let outputs: Vec<Vec<String>> = devices
        .into_iter()
        .map(|d| d.finish(Duration::from_secs(150)))
        .collect();
    for out in &outputs {
        for phase in [
            "embedded ",
            "submitted round 1",
            "revealed the seeds shared with 1 dropped",
            "round 1: evaluating in the compute market",
            "round 1 ACCEPTED",
        ] {
            assert!(out.iter().any(|l| l.starts_with(phase)), "{phase}: {out:?}");
        }
    }
    assert!(
        outputs[0]
            .iter()
            .any(|l| l.starts_with("resuming round 1 from") && l.ends_with("(Joined)")),
        "{:?}",
        outputs[0]
    );
    eprintln!("device output: {:#?}", outputs[0]);

    let r = round(&net, 1).unwrap();
    let round = r.round.unwrap();
    assert_eq!(round.status, "ACCEPTED", "{}", round.reason);
    assert_eq!((round.joined, round.submitted), (10, 9));

    // The two evaluation jobs: finalized classify jobs the pool paid for, each
    // provider in the agreeing majority paid the price and the emission.
    let mut spent = 0u128;
    let mut earned = std::collections::BTreeMap::<String, u128>::new();
    let mut jobs = Vec::new();
    for id in [round.parent_eval_job, round.new_eval_job] {
        let job = net.job(id);
        assert_eq!(job.kind, "classify");
        assert_eq!(
            job.status,
            deai_proto::compute::v1::JobStatus::Finalized as i32,
            "{job:?}"
        );
        assert_eq!(job.requester, deai_rounds::module_address().to_bech32());
        let price: u128 = job.price_per_replica.parse().unwrap();
        assert_eq!((job.replication, price), (EVAL_R, EVAL_PRICE));
        let agreed: Vec<&str> = job
            .assignments
            .iter()
            .filter(|a| a.result_hash == job.result_hash)
            .map(|a| a.provider.as_str())
            .collect();
        assert!(agreed.len() >= 2, "{job:?}");
        for p in agreed {
            spent += price;
            *earned.entry(p.to_string()).or_default() +=
                price + (REWARD_PER_UNIT * u128::from(job.work_units)).min(price);
        }
        jobs.push(job);
    }
    assert_eq!(round.eval_spent, spent.to_string());
    let each = (POOL - spent) / 9;
    assert_eq!(round.paid_each, each.to_string());

    // The unmasked sum on chain is the sum of the devices' clipped noised updates.
    let words = (CLASSES * HIDDEN) as usize;
    let mut sum = vec![0i64; words];
    for k in &keys[..9] {
        let u: Vec<i64> = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("{k}.update.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(u.len(), words);
        let norm2: i128 = u.iter().map(|&v| i128::from(v) * i128::from(v)).sum();
        assert!(norm2 > 0);
        for (s, v) in sum.iter_mut().zip(&u) {
            *s += v;
        }
    }
    assert!(
        !dir.path().join("d9.update.json").exists(),
        "d9 died before submitting"
    );
    let lineage: pb::QueryLineageResponse = net.query(
        LINEAGE_PATH,
        pb::QueryLineageRequest {
            version: round.new_version,
        },
    );
    let head = decode_head(&lineage.head).unwrap();
    let expected: Vec<i32> = sum.iter().map(|&v| i32::try_from(v).unwrap()).collect();
    assert_eq!(head, expected, "head = zero parent + 1/1 x unmasked sum");
    assert_eq!(lineage.versions[0].contributors, 9);
    assert_eq!(lineage.versions[0].eval_job, round.new_eval_job);
    assert_eq!(lineage.versions[0].eval_set_hash, hash);

    // The jobs classified the evaluation texts with the parent (zero) head and the
    // new head; their agreed outputs are this test's own run of the same inputs, and
    // the round's scores count the outputs that match the labels.
    let texts: Vec<&str> = eval_data.iter().map(|(t, _)| t.as_str()).collect();
    let workload = deai_compute::workload::Workload::new(
        deai_compute::workload::ModelStore::load(&models).unwrap(),
    );
    for (job, h, correct_on_chain) in [
        (&jobs[0], vec![0; words], round.parent_correct),
        (&jobs[1], head.clone(), round.new_correct),
    ] {
        let input = deai_compute_module::input::encode_classify_input(CLASSES, &h, &texts).unwrap();
        assert_eq!(job.input, input);
        let mine = workload.run("classify", Some(&model_id), &input).unwrap();
        let on_chain: deai_proto::compute::v1::QueryResultResponse = net.query(
            deai_compute_module::query::RESULT_PATH,
            deai_proto::compute::v1::QueryResultRequest { job_id: job.id },
        );
        assert_eq!(on_chain.output, mine.output, "job {}", job.id);
        let hits = mine
            .output
            .iter()
            .zip(&eval.labels)
            .filter(|(a, b)| a == b)
            .count();
        assert_eq!(hits as u32, correct_on_chain, "job {}", job.id);
    }
    assert_eq!(
        round.parent_correct, 25,
        "the zero head says class 0 for all"
    );
    // Anyone can check the new head's evaluation from the chain alone.
    let verified = ok(&Command::new(COMPUTE)
        .args([
            "verify",
            "--job",
            &round.new_eval_job.to_string(),
            "--rpc",
            &net.url,
        ])
        .arg("--models")
        .arg(&models)
        .arg("--print")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap());
    assert!(verified.contains("verified:"), "{verified}");
    let classes: Vec<String> = jobs[1].output.iter().map(u8::to_string).collect();
    assert!(
        verified.contains(&format!("classes:     {}", classes.join(" "))),
        "{verified}"
    );

    // Better than the base on sentences no one trained or evaluated on.
    let base = correct(&vec![0; words], &held_emb, &held_labels);
    let new = correct(&head, &held_emb, &held_labels);
    eprintln!(
        "held-out accuracy: base {base}/100, new head {new}/100; on-chain eval {}/{} (parent {}); epsilon {}",
        round.new_correct, round.eval_count, round.parent_correct, round.epsilon_micro as f64 / 1e6
    );
    assert!(new > base, "held-out: new {new} <= base {base}");
    assert!(round.new_correct > round.parent_correct);

    // Paid exactly: the share of the pool, plus what each earned evaluating (if drawn),
    // less each one's own fees.
    for (i, a) in addrs.iter().chain(&market).enumerate() {
        let fees = net.fees_paid(a);
        let share = if i < 9 { each } else { 0 };
        let market_pay = earned.get(a).copied().unwrap_or(0);
        assert_eq!(
            net.balance(a),
            DEVICE_START + share + market_pay - fees,
            "{}",
            keys.iter().chain(&market_keys).nth(i).unwrap()
        );
    }
    assert_eq!(net.balance(&deai_rounds::module_address().to_bech32()), 0);

    // The model's record shows the round and the version it made.
    let shown: Value = serde_json::from_str(
        &net.deaid(&["query", "compute", "model", &model_id, "--output", "json"]),
    )
    .unwrap();
    assert_eq!(shown["model"]["id"], json!(model_id), "{shown}");
    assert_eq!(shown["rounds"][0]["status"], "ACCEPTED", "{shown}");
    assert_eq!(shown["versions"][0]["id"], "1", "{shown}");
    assert_eq!(shown["versions"][0]["parent"], "0", "{shown}");
    assert_eq!(
        shown["versions"][0]["epsilon_micro"],
        json!(round.epsilon_micro.to_string()),
        "{shown}"
    );
    let text = net.deaid(&["query", "compute", "model", &model_id]);
    assert!(
        text.contains("version 1  parent 0  round 1  9 contributors"),
        "{text}"
    );
    assert!(
        text.contains(&format!("by classify job {}", round.new_eval_job)),
        "{text}"
    );
    eprintln!("{text}");

    // Governance makes the new head, on the held-out sentences, an evaluation suite the
    // encoder must pass to take jobs (from the `eval-suite` template): jobs naming the
    // model are refused until someone runs it; a provider quorum runs it; its score is
    // the one this test computes; then jobs are taken again.
    let mut proposal: Value =
        serde_json::from_str(&net.deaid(&["tx", "gov", "draft-proposal", "--kind", "eval-suite"]))
            .unwrap();
    proposal["title"] = json!("Held-out topics");
    proposal["summary"] = json!("The encoder must keep the round's head accurate.");
    proposal["deposit"] = json!("1000udeai");
    let held_texts: Vec<&str> = held_data.iter().map(|(t, _)| t.as_str()).collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    let suite = &mut proposal["messages"][0]["suite"];
    suite["model_id"] = json!(model_id);
    suite["head"] = json!(b64.encode(&lineage.head));
    suite["texts"] =
        json!(b64.encode(deai_compute::workload::encode_embed_input(&held_texts).unwrap()));
    suite["labels"] = json!(b64.encode(&held_labels));
    // The pass mark is exactly the head's held-out score (the noise makes it differ
    // from run to run): a run passes at equality.
    let want = correct(&head, &held_emb, &held_labels);
    suite["pass_ppm"] = json!(want * 10_000);
    pass_proposal(&net, dir.path(), &proposal, "eval-suite");
    wait(
        Duration::from_secs(60),
        "the suite to be registered",
        || {
            net.deaid(&["query", "compute", "suites"])
                .contains("suite 1  Topic accuracy")
                .then_some(())
        },
    );
    let refused = net
        .try_submit("dev1", "embed", &model_id, b"A text.", 1, 100_000)
        .unwrap_err();
    assert!(
        refused.contains("has not passed evaluation suite 1"),
        "{refused}"
    );
    let ran = net.deaid(&[
        "tx",
        "compute",
        "run-suite",
        "1",
        "--price",
        "150000udeai",
        "--from",
        "dev1",
        "--gas",
        "auto",
        "--fees",
        "100000udeai",
        "--yes",
    ]);
    assert!(ran.contains("suite 1 runs as job"), "{ran}");
    let evaluated = wait(Duration::from_secs(90), "the suite's evaluation", || {
        let e: deai_proto::compute::v1::QueryEvaluationsResponse = net.query(
            deai_compute_module::query::EVALUATIONS_PATH,
            deai_proto::compute::v1::QueryEvaluationsRequest {
                model_id: model_id.clone(),
                pagination: None,
            },
        );
        e.evaluations.into_iter().next()
    });
    assert_eq!((evaluated.correct, evaluated.count), (want, 100));
    assert!(evaluated.passed, "{evaluated:?}");
    net.try_submit("dev1", "embed", &model_id, b"A text.", 1, 100_000)
        .unwrap();
    let text = net.deaid(&["query", "compute", "model", &model_id]);
    assert!(
        text.contains(&format!(
            "evaluation suite 1 (required)  {want}/100  passed  by classify job {}",
            evaluated.job_id
        )),
        "{text}"
    );
    eprintln!("{text}");
    drop(daemons);
    eprintln!("round end to end took {:.1?}", started.elapsed());
}

/// What one benchmark round measured.
struct BenchRow {
    n: usize,
    dropped: usize,
    windows: (u64, u64, u64),
    status: String,
    round_secs: f64,
    blocks: u64,
    joins_secs: f64,
    submits_secs: f64,
    reveals_secs: f64,
    join_bytes: usize,
    submit_bytes: usize,
    reveal_bytes: usize,
    submit_gas: u64,
    prepare_ms: f64,
}

/// Synthetic features of four clusters (the encoder is not what is measured).
fn cluster_examples(seed: u64, per_class: usize) -> Vec<deai_rounds_client::Example> {
    let mut c = Lcg(7);
    let centres: Vec<Vec<i8>> = (0..CLASSES)
        .map(|_| (0..HIDDEN).map(|_| c.below(101) as i8 - 50).collect())
        .collect();
    let mut rng = Lcg(seed + 1000);
    let mut out = Vec::new();
    for _ in 0..per_class {
        for (y, centre) in centres.iter().enumerate() {
            out.push(deai_rounds_client::Example {
                embedding: centre
                    .iter()
                    .map(|&v| (i32::from(v) + rng.below(61) as i32 - 30) as i8)
                    .collect(),
                label: y as u8,
            });
        }
    }
    out
}

/// Sends one signed tx per contributor at once; waits for all; returns
/// the wall time, the largest tx's bytes and the largest gas used.
fn send_all(
    net: &Net,
    keys: &[deai_client::Key],
    msgs: Vec<(usize, cosmos_sdk_proto::Any)>,
) -> (f64, usize, u64) {
    use deai_client::{send::SignedTx, Gas, TxParams};
    let t = Instant::now();
    let (chain_id, _) = net.rt.block_on(net.client.status()).unwrap();
    let results = net.rt.block_on(async {
        let tasks: Vec<_> = msgs
            .into_iter()
            .map(|(i, msg)| {
                let key = keys[i].clone();
                let client = deai_client::NodeClient::new(&net.url).unwrap();
                let chain_id = chain_id.clone();
                tokio::spawn(async move {
                    let addr = key.address().to_bech32();
                    let acc = client.account(&addr).await.unwrap().unwrap();
                    let params = TxParams {
                        chain_id,
                        account_number: acc.account_number,
                        sequence: acc.sequence,
                        fee: Some(deai_types::Coin::new(100_000, "udeai")),
                        gas_limit: 0,
                        memo: String::new(),
                    };
                    let tx: SignedTx = client
                        .sign(&key, vec![msg], params, Gas::Fixed(10_000_000))
                        .await
                        .unwrap();
                    let landed = client.send(&tx, Duration::from_secs(120)).await.unwrap();
                    assert_eq!(landed.code, 0, "{}", landed.log);
                    (tx.bytes.len(), landed.gas_used)
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let bytes = results.iter().map(|r| r.0).max().unwrap_or(0);
    let gas = results.iter().map(|r| r.1).max().unwrap_or(0);
    (t.elapsed().as_secs_f64(), bytes, gas)
}

fn bench_one(deaid: &Path, n: usize, windows: (u64, u64, u64)) -> BenchRow {
    use deai_client::tx::any;
    use deai_rounds_client::{Contributor, RoundView};
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<deai_client::Key> = (0..n)
        .map(|i| deai_client::Key::from_label(&format!("rounds-bench-{n}-{i}")))
        .collect();
    let addrs: Vec<String> = keys.iter().map(|k| k.address().to_bech32()).collect();
    let model = "1".repeat(64);
    init_net(deaid, dir.path(), |g| round_genesis(g, &addrs, (&model, 1)));
    let net = Net::spawn(deaid.to_path_buf(), dir.path().join("chain"), "127.0.0.1:0");
    let eval = cluster_examples(99, 25);
    let set = deai_rounds_client::embeddings_eval_set(&eval);
    let hash = deai_rounds::mask::eval_set_hash(&set);
    let b64 = base64::engine::general_purpose::STANDARD;
    let set_json =
        json!({"embeddings": b64.encode(&set.embeddings), "labels": b64.encode(&set.labels)});
    let min = (n / 2).max(2) as u32;
    let config = config_json(&model, 1 << 14, 8_192, min, n as u32, windows, &hash);
    let opened = open_round(&net, dir.path(), config, set_json, 1);
    let t_open = Instant::now();
    let contributors: Vec<Contributor> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut secret = [0u8; 32];
            secret[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            secret[31] = 0x5a;
            Contributor::new(k.address(), secret)
        })
        .collect();
    let joins = contributors
        .iter()
        .enumerate()
        .map(|(i, c)| (i, any(deai_rounds::MSG_JOIN_ROUND_TYPE_URL, &c.join_msg(1))))
        .collect();
    let (joins_secs, join_bytes, _) = send_all(&net, &keys, joins);
    let height = |net: &Net| net.rt.block_on(net.client.status()).unwrap().1;
    wait(Duration::from_secs(600), "the join window to close", || {
        (height(&net) > opened.join_end).then_some(())
    });
    // One in ten drops out after joining.
    let dropped = n / 10;
    let submitters = n - dropped;
    let r = round(&net, 1).unwrap();
    assert_eq!(
        r.round.as_ref().unwrap().status,
        "SUBMITTING",
        "{:?}",
        r.round
    );
    let view = RoundView::from_query(&r, vec![0; (CLASSES * HIDDEN) as usize]).unwrap();
    let t_prep = Instant::now();
    let submits: Vec<(usize, cosmos_sdk_proto::Any)> = (0..submitters)
        .map(|i| {
            let p = contributors[i]
                .prepare(&view, &cluster_examples(i as u64, 10), [i as u8 ^ 0x33; 32])
                .unwrap();
            (i, any(deai_rounds::MSG_SUBMIT_UPDATE_TYPE_URL, &p.msg))
        })
        .collect();
    let prepare_ms = t_prep.elapsed().as_secs_f64() * 1000.0 / submitters as f64;
    let (submits_secs, submit_bytes, submit_gas) = send_all(&net, &keys, submits);
    wait(
        Duration::from_secs(600),
        "the submit window to close",
        || (height(&net) > opened.submit_end).then_some(()),
    );
    let (mut reveals_secs, mut reveal_bytes) = (0.0, 0);
    if dropped > 0 {
        let r = round(&net, 1).unwrap();
        let view = RoundView::from_query(&r, vec![0; (CLASSES * HIDDEN) as usize]).unwrap();
        let reveals = (0..submitters)
            .map(|i| {
                let m = contributors[i].reveal_dropped(&view).unwrap();
                (i, any(deai_rounds::MSG_REVEAL_SEEDS_TYPE_URL, &m))
            })
            .collect();
        (reveals_secs, reveal_bytes, _) = send_all(&net, &keys, reveals);
    }
    let done = wait(Duration::from_secs(600), "the round to finish", || {
        round(&net, 1)
            .and_then(|r| r.round)
            .filter(|r| !["JOINING", "SUBMITTING", "REVEALING"].contains(&r.status.as_str()))
    });
    BenchRow {
        n,
        dropped,
        windows,
        status: done.status,
        round_secs: t_open.elapsed().as_secs_f64(),
        blocks: height(&net) - opened.opened_height,
        joins_secs,
        submits_secs,
        reveals_secs,
        join_bytes,
        submit_bytes,
        reveal_bytes,
        submit_gas,
        prepare_ms,
    }
}

/// Round time and tx bytes per contributor at 10, 50 and 100 contributors
/// (`DEAI_ROUND_BENCH_SIZES` overrides, e.g. `10,50`), one devnet each.
#[test]
#[ignore = "a benchmark (about a minute per size): run it by name with --ignored --nocapture"]
fn bench_rounds_through_a_node() {
    let deaid = deaid_bin().expect("build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
    let sizes: Vec<usize> = std::env::var("DEAI_ROUND_BENCH_SIZES")
        .unwrap_or_else(|_| "10,50,100".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let rows: Vec<BenchRow> = sizes
        .iter()
        .map(|&n| bench_one(&deaid, n, (20, 20, 20)))
        .collect();
    println!(
        "| contributors (dropped) | windows join/submit/reveal (blocks of 200 ms) | outcome | round time, open to finished | blocks | all joins landed | all submissions landed | all reveals landed | join tx | submit tx | reveal tx | submit gas | prepare per device |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} ({}) | {}/{}/{} | {} | {:.1} s | {} | {:.2} s | {:.2} s | {:.2} s | {} B | {} B | {} B | {} | {:.1} ms |",
            r.n, r.dropped, r.windows.0, r.windows.1, r.windows.2, r.status, r.round_secs, r.blocks,
            r.joins_secs, r.submits_secs, r.reveals_secs, r.join_bytes, r.submit_bytes,
            r.reveal_bytes, r.submit_gas, r.prepare_ms
        );
    }
}

#[test]
fn a_bad_data_file_is_one_error_line_before_anything_is_loaded_or_sent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bad.jsonl");
    std::fs::write(
        &data,
        "{\"text\": \"a goal\", \"label\": 1}\n{\"text\": \"rain\"}\n",
    )
    .unwrap();
    for args in [
        vec![
            "contribute",
            "--round",
            "1",
            "--from",
            "nobody",
            "--node",
            "http://127.0.0.1:9",
        ],
        vec!["eval-set", "--out", "/nonexistent/out.json"],
    ] {
        let o = Command::new(COMPUTE)
            .arg("round")
            .args(&args)
            .arg("--data")
            .arg(&data)
            .args(["--models", "/nonexistent"])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("bad.jsonl: line 2"), "{args:?}: {e}");
        assert!(e.contains("missing field `label`"), "{e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    }
}
