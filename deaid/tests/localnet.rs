//! `deaid` under the real CometBFT v0.38 binary, through `localnet/localnet.sh`:
//! one validator set up by the README's steps (blocks, a CLI transfer,
//! CosmJS, a proof that verifies against the next header's app hash); four
//! validators that agree on every app hash, gossip txs, pass a governance
//! proposal, survive a `kill -9` of an app, a stopped validator and a halt,
//! and take in a fifth node that joins by state sync while the chain is
//! halted, first rejecting a snapshot whose state is not the chain's at its
//! height (served over CometBFT's p2p by two validators), then restoring a
//! real one; and a validator created by a transaction for a node that joined
//! by state sync, which CometBFT adds to its set and which signs, then is
//! paid rewards it withdraws to the udeai, slashed and jailed when stopped,
//! and signs again once unjailed; and a validator whose key signs on two
//! nodes, which the chain slashes and tombstones on CometBFT's evidence.
//!
//! CometBFT comes from `COMETBFT_BIN` (`scripts/test.sh` sets it from
//! `scripts/install-cometbft.sh`). Without it these tests skip, unless
//! `DEAI_REQUIRE_COMETBFT=1`, which makes a missing binary a failure (see
//! `deai_tests::localnet`).

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use common::{err, ok, Cli, BIN};
use deai_tests::localnet::{Localnet, ONE_AT_A_TIME};
use prost::Message;
use serde_json::Value;

/// Runs the CLI against node `node` of `net` with its dev keyring.
fn cli(net: &Localnet, node: u16) -> Cli<'_> {
    Cli {
        home: &net.keys,
        node: net.rpc_url(node),
    }
}

/// The address of dev key `devI`.
fn dev_address(net: &Localnet, i: usize) -> String {
    cli(net, 0).address(&format!("dev{i}"))
}

/// Brings up a network with this test binary's `deaid`.
fn up(base: u16, args: &[&str]) -> Option<Localnet> {
    Localnet::up(Path::new(BIN), base, args)
}

#[test]
fn one_validator_from_the_readme_steps_makes_blocks_takes_txs_and_proves_state() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(net) = up(29100, &["--validators", "1", "--block-time", "300ms"]) else {
        return;
    };
    net.wait_height(0, 3, 60);
    let node0 = cli(&net, 0);
    let to = dev_address(&net, 1);
    let before = node0.balance(&to);
    node0.tx(
        &["tx", "bank", "send", &to, "1234udeai", "--gas", "auto"],
        "dev0",
    );
    assert_eq!(node0.balance(&to), before + 1234);

    // abci_query with prove=true: the proof verifies against the app hash
    // CometBFT put in the next block's header.
    let addr: deai_types::Address = to.parse().unwrap();
    let mut key = b"bank/balance/".to_vec();
    key.extend_from_slice(addr.as_bytes());
    key.extend_from_slice(b"udeai");
    let q = net
        .get(
            0,
            &format!(
                "/abci_query?path=%22store/bank/key%22&data=0x{}&prove=true",
                hex::encode(&key)
            ),
        )
        .unwrap();
    let resp = &q["response"];
    assert_eq!(resp["code"], 0, "{resp}");
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let value = b64(&resp["value"]);
    assert_eq!(
        String::from_utf8(value.clone()).unwrap(),
        (before + 1234).to_string()
    );
    let height: u64 = resp["height"].as_str().unwrap().parse().unwrap();
    let op = &resp["proofOps"]["ops"][0];
    assert_eq!(op["type"], "ics23:jmt");
    let proof = ics23::CommitmentProof::decode(b64(&op["data"]).as_slice()).unwrap();
    net.wait_height(0, height + 1, 30);
    let root: [u8; 32] = hex::decode(net.header_app_hash(0, height + 1))
        .unwrap()
        .try_into()
        .unwrap();
    assert!(deai_store::verify_membership(&root, &proof, &key, &value));
    assert!(!deai_store::verify_membership(&root, &proof, &key, b"1"));

    // CosmJS, unchanged, against the real node (when Node.js and the
    // test's npm packages are installed, as scripts/test.sh does).
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/js");
    if js.join("node_modules/@cosmjs/stargate").is_dir() {
        let out = Command::new("node")
            .arg("--test")
            .arg(&js)
            .env("DEAI_RPC", &node0.node)
            .env("DEAI_MNEMONIC", net.dev_mnemonic(0))
            .env("DEAI_RECIPIENT", dev_address(&net, 2))
            .env("DEAI_CHAIN_ID", "deai-localnet")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "CosmJS against CometBFT failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else if std::env::var("DEAI_REQUIRE_COMETBFT").as_deref() == Ok("1") {
        panic!("tests/js/node_modules is missing: run npm ci in tests/js first");
    }

    // The node's Cosmos gRPC and REST servers (deaid's, reading CometBFT's
    // RPC for blocks, txs and broadcasts): cosmpy over both, and grpcurl
    // through reflection.
    use deai_tests::api;
    if let (Some(python), Some(grpcurl)) = (api::cosmpy_python(), api::grpcurl()) {
        let grpc = net.grpc_addr(0);
        let recipient = dev_address(&net, 2);
        for url in [
            format!("grpc+http://{grpc}"),
            format!("rest+{}", net.rest_url(0)),
        ] {
            let seen = api::cosmpy_check(
                &python,
                &url,
                "deai-localnet",
                &net.dev_mnemonic(0),
                &recipient,
            );
            assert!(seen["height"].as_u64() > Some(0), "{seen}");
        }
        assert!(api::grpcurl_list(&grpcurl, &grpc)
            .iter()
            .any(|s| s == "cosmos.tx.v1beta1.Service"));
        let info = api::grpcurl_call(
            &grpcurl,
            &grpc,
            "cosmos.base.tendermint.v1beta1.Service/GetNodeInfo",
            "{}",
        );
        assert_eq!(
            info["defaultNodeInfo"]["network"], "deai-localnet",
            "{info}"
        );
        let version = info["defaultNodeInfo"]["version"].as_str().unwrap();
        assert!(
            version.starts_with("0.38."),
            "the real CometBFT answers: {version}"
        );
        let balance = api::grpcurl_call(
            &grpcurl,
            &grpc,
            "cosmos.bank.v1beta1.Query/Balance",
            &format!(r#"{{"address":"{recipient}","denom":"udeai"}}"#),
        );
        assert_eq!(
            balance["balance"]["amount"],
            node0.balance(&recipient).to_string()
        );
    }
}

#[test]
fn four_validators_agree_pass_a_proposal_survive_faults_and_a_fifth_node_state_syncs() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(net) = up(
        29200,
        &[
            "--validators",
            "4",
            "--block-time",
            "300ms",
            "--snapshot-interval",
            "10",
            "--param",
            "gov.expedited_voting_period_blocks=4",
            "--param",
            "gov.voting_period_blocks=8",
            "--param",
            "gov.min_deposit=[{\"denom\":\"udeai\",\"amount\":\"1000\"}]",
        ],
    ) else {
        return;
    };
    let all = [0, 1, 2, 3];
    for n in all {
        net.wait_height(n, 3, 60);
    }

    // A tx sent to node 0 is found on node 3.
    let to = dev_address(&net, 1);
    let out = cli(&net, 0).tx(
        &["tx", "bank", "send", &to, "777udeai", "--gas", "auto"],
        "dev0",
    );
    let hash = out.split_whitespace().nth(1).unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while net.get(3, &format!("/tx?hash=0x{hash}")).is_none() {
        assert!(Instant::now() < deadline, "tx {hash} never reached node 3");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A governance proposal (a gov params change) passes and executes.
    let mut draft: Value = serde_json::from_str(&ok(&cli(&net, 0).run(&[
        "tx",
        "gov",
        "draft-proposal",
        "--kind",
        "gov-params",
    ])))
    .unwrap();
    // The draft holds the default params in proto JSON; change four.
    let params = &mut draft["messages"][0]["params"];
    params["max_title_len"] = "150".into();
    params["voting_period_blocks"] = "8".into();
    params["expedited_voting_period_blocks"] = "4".into();
    params["min_deposit"] = serde_json::json!([{"denom": "udeai", "amount": "1000"}]);
    draft["deposit"] = "1000udeai".into();
    let file = net.dir().join("proposal.json");
    std::fs::write(&file, draft.to_string()).unwrap();
    cli(&net, 0).tx(
        &[
            "tx",
            "gov",
            "submit-proposal",
            file.to_str().unwrap(),
            "--gas",
            "auto",
        ],
        "dev0",
    );
    let id = cli(&net, 0).json(&["query", "gov", "proposals"])["proposals"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, node) in [(0, 0), (1, 1), (2, 2), (3, 3)] {
        cli(&net, node).tx(
            &["tx", "gov", "vote", &id, "yes", "--gas", "auto"],
            &format!("dev{i}"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let p = cli(&net, 3).json(&["query", "gov", "proposal", &id])["proposal"].clone();
        if p["status"] == "PROPOSAL_STATUS_PASSED" {
            break;
        }
        assert!(
            p["status"] == "PROPOSAL_STATUS_VOTING_PERIOD" && Instant::now() < deadline,
            "proposal {id}: {p}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let gov = cli(&net, 2).json(&["query", "gov", "params"]);
    assert_eq!(gov["params"]["max_title_len"], "150", "{gov}");

    // kill -9 of one app mid-run: its CometBFT exits; both restart, the
    // handshake replays what the app missed, and no hash diverges.
    net.ok(&["kill", "1", "--app-only"]);
    std::thread::sleep(Duration::from_secs(1));
    net.ok(&["start", "1"]);
    let now = net.height(0).unwrap();
    net.wait_height(1, now + 2, 60);

    // One validator stopped: the other three go on; it catches up.
    net.ok(&["stop", "3"]);
    let stopped_at = net.height(0).unwrap();
    net.wait_height(0, stopped_at + 3, 60);
    net.ok(&["start", "3"]);
    net.wait_height(3, net.height(0).unwrap(), 60);

    // Two stopped: no 2/3 of the power, the chain halts (where the newest
    // snapshot is at least four heights below the top).
    let (halted, newest) = halt_past_a_snapshot(&net);

    // While it is halted, a fifth node joins by state sync from nodes 0 and
    // 1, which now also offer a snapshot that is not this chain's state at
    // its height: the state of height `newest` under the name `fake`. It
    // ranks first (the highest); the new node's deaid restores it, finds its
    // root is not the app hash the light client trusts, rejects it with
    // nothing written, and CometBFT goes on to the real one.
    let fake = halted - 3;
    for node in [0, 1] {
        let dir = net.dir().join(format!("node{node}/deaid/data/snapshots"));
        let partial = dir.join(format!("{fake}.partial"));
        std::fs::create_dir(&partial).unwrap();
        for file in std::fs::read_dir(dir.join(newest.to_string())).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), partial.join(file.file_name())).unwrap();
        }
        std::fs::rename(&partial, dir.join(fake.to_string())).unwrap();
    }
    let out = net.ok(&["join"]);
    assert!(!out.is_empty());
    let log = std::fs::read_to_string(net.dir().join("node4/deaid.log")).unwrap();
    let restoring: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("restoring a snapshot"))
        .filter_map(|l| {
            l.split("height=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(restoring, [fake, newest], "{log}");
    assert!(
        log.lines().any(|l| l.contains(&format!("height={fake}"))
            && l.contains("rejecting the snapshot: its state does not have the trusted app hash")),
        "{log}"
    );
    assert_eq!(
        log.matches("state restored from a snapshot").count(),
        1,
        "{log}"
    );

    // The chain resumes when the two return, and the new node follows it.
    net.ok(&["start", "2"]);
    net.ok(&["start", "3"]);
    for n in [0, 1, 2, 3, 4] {
        net.wait_height(n, halted + 3, 90);
    }
    net.assert_agree(&[0, 1, 2, 3, 4], newest + 1);
    net.assert_agree(&all, 1);
}

/// The heights of node `node`'s complete snapshots, lowest first.
fn snapshots(net: &Localnet, node: u16) -> Vec<u64> {
    let dir = net.dir().join(format!("node{node}/deaid/data/snapshots"));
    let mut heights: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    heights.sort_unstable();
    heights
}

/// Stops validators 2 and 3 of a 4-validator network taking a snapshot
/// every 10 heights, checks the chain halts, and returns the height it
/// halted at and nodes 0 and 1's newest snapshot, at least four heights
/// below it. A halt too close above a snapshot is resumed and tried again.
fn halt_past_a_snapshot(net: &Localnet) -> (u64, u64) {
    for _ in 0..4 {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !net.height(0).is_some_and(|h| (5..=7).contains(&(h % 10))) {
            assert!(Instant::now() < deadline, "node 0 stopped making blocks");
            std::thread::sleep(Duration::from_millis(100));
        }
        net.ok(&["stop", "2"]);
        net.ok(&["stop", "3"]);
        let stopped = net.height(0).unwrap();
        std::thread::sleep(Duration::from_secs(4));
        let halted = net.height(0).unwrap();
        assert!(
            halted <= stopped + 1,
            "the chain went on with half the power"
        );
        let newest = snapshots(net, 0).last().copied().unwrap_or(0);
        if newest > 0 && halted >= newest + 4 && snapshots(net, 1).contains(&newest) {
            return (halted, newest);
        }
        net.ok(&["start", "2"]);
        net.ok(&["start", "3"]);
        net.wait_height(0, halted + 3, 90);
    }
    panic!("never halted four heights above a snapshot");
}

/// The CometBFT address (hex, upper case) of the validator key in `file`.
fn cometbft_address(file: &Path) -> String {
    let v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    v["address"].as_str().unwrap().to_uppercase()
}

#[test]
fn a_validator_created_by_a_transaction_joins_cometbfts_set_signs_is_jailed_when_down_and_returns()
{
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(net) = up(
        29300,
        &[
            "--validators",
            "1",
            // Slow enough that the joiner, a debug build sharing two cores
            // with the validator, keeps up and can vote in time.
            "--block-time",
            "1s",
            // A snapshot lives two intervals (the newest two are kept):
            // long enough for the joiner to fetch it.
            "--snapshot-interval",
            "15",
            // Downtime counts over 10 blocks, and jail lasts 5 seconds.
            "--param",
            "slashing.signed_blocks_window=10",
            "--param",
            "slashing.downtime_jail_duration_seconds=5",
        ],
    ) else {
        return;
    };
    net.wait_height(0, 16, 90);
    let (_, address) = join_as_validator(&net);
    let node0 = cli(&net, 0);
    let text = ok(&node0.run(&["query", "staking", "validators", "--status", "bonded"]));
    assert!(text.contains("joiner"), "{text}");
    let dev1 = dev_address(&net, 1);
    let valoper = node0.json(&["query", "staking", "valoper", &dev1])["valoper"]
        .as_str()
        .unwrap()
        .to_string();

    // Signing earns it rewards every block. Its operator withdraws them
    // with the commission: the balance grows by exactly what the tx's
    // events say was paid, less the fee, and at least what was pending.
    let start = Instant::now();
    let pending = loop {
        let r = node0.json(&["query", "distribution", "rewards", &dev1, &valoper]);
        let whole: u128 = r["rewards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["denom"] == "udeai")
            .map_or(0, |c| {
                let amount = c["amount"].as_str().unwrap();
                amount.split('.').next().unwrap().parse().unwrap()
            });
        if whole > 0 {
            break whole;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no rewards: {r}");
        std::thread::sleep(Duration::from_millis(500));
    };
    let before = node0.balance(&dev1);
    let landed = node0.json(&[
        "tx",
        "distribution",
        "withdraw-rewards",
        &valoper,
        "--commission",
        "--from",
        "dev1",
        "--yes",
    ]);
    let hash = landed["hash"].as_str().unwrap();
    let tx = net.get(0, &format!("/tx?hash=0x{hash}")).unwrap();
    let paid: u128 = tx["tx_result"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "withdraw_rewards" || e["type"] == "withdraw_commission")
        .flat_map(|e| e["attributes"].as_array().unwrap().clone())
        .filter(|a| a["key"] == "amount")
        .map(|a| {
            let v = a["value"].as_str().unwrap();
            v.strip_suffix("udeai").map_or(0, |n| n.parse().unwrap())
        })
        .sum();
    assert!(paid >= pending, "paid {paid} < pending {pending}: {tx}");
    assert_eq!(node0.balance(&dev1), before + paid - 2_000, "{tx}");

    // Stopped long enough, it is slashed (1%), jailed and leaves the set.
    net.ok(&["stop", "1"]);
    let in_set = |net: &Localnet| {
        net.get(0, "/validators").unwrap()["validators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["address"] == address.as_str())
    };
    let start = Instant::now();
    while in_set(&net) {
        assert!(start.elapsed() < Duration::from_secs(90), "never jailed");
        std::thread::sleep(Duration::from_millis(500));
    }
    let v = node0.json(&["query", "staking", "validator", &valoper]);
    assert_eq!(v["validator"]["jailed"], true, "{v}");
    assert_eq!(v["validator"]["tokens"], "1980000", "{v}");
    let info = ok(&node0.run(&["query", "slashing", "signing-info", &valoper]));
    assert!(info.contains("jailed until"), "{info}");

    // Back online and unjailed after the jail time, it rejoins and signs.
    net.ok(&["start", "1"]);
    std::thread::sleep(Duration::from_secs(6));
    node0.tx(&["tx", "slashing", "unjail"], "dev1");
    let start = Instant::now();
    while !in_set(&net) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never back in the set"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_signs(&net, &address, 60);
}

/// Waits (up to `secs`) for a block whose last commit holds a signature of
/// the validator with CometBFT address `address`.
fn wait_signs(net: &Localnet, address: &str, secs: u64) {
    let start = Instant::now();
    loop {
        let h = net.height(0).unwrap();
        let block = net.get(0, &format!("/block?height={h}")).unwrap();
        if block["block"]["last_commit"]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["validator_address"] == address && s["block_id_flag"] == 2)
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{address} never signed"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A full node joins a one-validator network by state sync with its own
/// fresh CometBFT key (node1), and dev1 makes it a validator with 2 units
/// of power (the genesis validator has 10, so the chain goes on whatever
/// it does). Returns its key file and CometBFT address once CometBFT's set
/// holds it, with its power, and it has signed.
fn join_as_validator(net: &Localnet) -> (std::path::PathBuf, String) {
    net.ok(&["join"]);
    let key_file = net
        .dir()
        .join("node1/cometbft/config/priv_validator_key.json");
    let address = cometbft_address(&key_file);
    let start = Instant::now();
    while net.height(1).unwrap_or(0) + 2 < net.height(0).unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "node1 never caught up"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    cli(net, 0).tx(
        &[
            "tx",
            "staking",
            "create-validator",
            "--amount",
            "2000000udeai",
            "--cometbft-key",
            key_file.to_str().unwrap(),
            "--moniker",
            "joiner",
        ],
        "dev1",
    );
    // CometBFT's set has it two blocks later, with its power.
    let start = Instant::now();
    loop {
        let vals = net.get(0, "/validators").unwrap();
        let listed = vals["validators"].as_array().unwrap();
        if let Some(v) = listed.iter().find(|v| v["address"] == address.as_str()) {
            assert_eq!(v["voting_power"], "2", "{vals}");
            assert_eq!(listed.len(), 2, "{vals}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never in the set: {vals}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // And it signs: its vote is in a later block's last commit.
    wait_signs(net, &address, 30);
    (key_file, address)
}

#[test]
fn a_validator_whose_key_signs_on_two_nodes_is_slashed_tombstoned_and_the_chain_goes_on() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(net) = up(
        29400,
        &[
            "--validators",
            "1",
            "--block-time",
            "1s",
            "--snapshot-interval",
            "15",
        ],
    ) else {
        return;
    };
    net.wait_height(0, 16, 90);
    let (key_file, address) = join_as_validator(&net);
    let node0 = cli(&net, 0);
    let valoper = node0.json(&["query", "staking", "valoper", &dev_address(&net, 1)])["valoper"]
        .as_str()
        .unwrap()
        .to_string();

    // A second full node joins, then runs with the same validator key: a
    // real double-signer. It waits only 1 ms for each proposal, so it
    // prevotes nil while node1 prevotes the block: two votes of one
    // validator at one height and round, which node0 turns into evidence.
    net.ok(&["join", "--name", "twin"]);
    net.ok(&["stop", "2"]);
    let twin = net.dir().join("node2/cometbft/config");
    std::fs::copy(&key_file, twin.join("priv_validator_key.json")).unwrap();
    let config = std::fs::read_to_string(twin.join("config.toml")).unwrap();
    let config: String = config
        .lines()
        .map(|l| {
            if l.starts_with("timeout_propose =") {
                "timeout_propose = \"1ms\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(config.contains("timeout_propose = \"1ms\""));
    std::fs::write(twin.join("config.toml"), config).unwrap();
    net.ok(&["start", "2"]);

    // The evidence lands in a block: 5% of the 2 units of power at the
    // infraction go to the treasury, the validator is jailed for ever,
    // tombstoned, and leaves CometBFT's set; node0 goes on alone.
    let start = Instant::now();
    let info = loop {
        let v = node0.json(&["query", "staking", "validator", &valoper]);
        if v["validator"]["jailed"] == true {
            break node0.json(&["query", "slashing", "signing-info", &valoper]);
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never slashed for double-signing: {v}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(info["val_signing_info"]["tombstoned"], true, "{info}");
    let v = node0.json(&["query", "staking", "validator", &valoper]);
    assert_eq!(v["validator"]["tokens"], "1900000", "{v}");
    let e = err(&node0.run(&["tx", "slashing", "unjail", "--from", "dev1", "--yes"]));
    assert!(e.contains("tombstoned"), "{e}");
    let start = Instant::now();
    while net.get(0, "/validators").unwrap()["validators"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["address"] == address.as_str())
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "still in the set"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let h = net.height(0).unwrap();
    net.wait_height(0, h + 3, 30);
}
