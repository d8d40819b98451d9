//! `deaid` under the real CometBFT v0.38 binary, through `localnet/localnet.sh`:
//! one validator set up by the README's steps (blocks, a CLI transfer,
//! CosmJS, a proof that verifies against the next header's app hash); four
//! validators that agree on every app hash, gossip txs, pass a governance
//! proposal, survive a `kill -9` of an app, a stopped validator and a halt,
//! and take in a fifth node that joins by state sync.
//!
//! CometBFT comes from `COMETBFT_BIN` (`scripts/test.sh` sets it from
//! `scripts/install-cometbft.sh`). Without it these tests skip, unless
//! `DEAI_REQUIRE_COMETBFT=1`, which makes a missing binary a failure.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::Command,
    sync::Mutex,
    time::{Duration, Instant},
};

use common::{ok, Cli, BIN};
use prost::Message;
use serde_json::Value;

/// One network at a time: each is several processes on a 2-core machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The CometBFT binary, or `None` to skip.
fn cometbft() -> Option<String> {
    match std::env::var("COMETBFT_BIN") {
        Ok(bin) if Path::new(&bin).is_file() => Some(bin),
        _ if std::env::var("DEAI_REQUIRE_COMETBFT").as_deref() == Ok("1") => {
            panic!("DEAI_REQUIRE_COMETBFT=1 but COMETBFT_BIN names no file")
        }
        _ => {
            eprintln!("skipping: set COMETBFT_BIN (scripts/install-cometbft.sh prints it)");
            None
        }
    }
}

/// A network made by `localnet/localnet.sh` in a temporary directory.
struct Net {
    dir: tempfile::TempDir,
    keys: PathBuf,
    base: u16,
    cometbft: String,
}

impl Net {
    fn up(base: u16, args: &[&str]) -> Option<Net> {
        let cometbft = cometbft()?;
        let dir = tempfile::tempdir().unwrap();
        let net = Net {
            keys: dir.path().join("keys"),
            dir,
            base,
            cometbft,
        };
        let mut all = vec!["up", "--base-port"];
        let base = base.to_string();
        all.push(&base);
        all.extend(args);
        ok(&net.script(&all));
        Some(net)
    }

    fn script(&self, args: &[&str]) -> std::process::Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../localnet/localnet.sh");
        Command::new("bash")
            .arg(script)
            .args(args)
            .arg("--nodes-dir")
            .arg(self.dir.path())
            .env("DEAID_BIN", BIN)
            .env("COMETBFT_BIN", &self.cometbft)
            .env("LOCALNET_STOP_TIMEOUT", "10")
            .output()
            .unwrap()
    }

    fn rpc_port(&self, node: u16) -> u16 {
        self.base + 10 * node + 1
    }

    fn cli(&self, node: u16) -> Cli<'_> {
        Cli {
            home: &self.keys,
            node: format!("http://127.0.0.1:{}", self.rpc_port(node)),
        }
    }

    /// GET `path` of node `node`'s RPC; its `result`, if it answered one.
    fn get(&self, node: u16, path: &str) -> Option<Value> {
        let addr = format!("127.0.0.1:{}", self.rpc_port(node));
        let mut s =
            std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))
                .ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let json = body.split_once("\r\n\r\n")?.1;
        let v: Value = serde_json::from_str(json).ok()?;
        v.get("result").cloned()
    }

    fn height(&self, node: u16) -> Option<u64> {
        self.get(node, "/status")?["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    }

    /// Waits until node `node` is at `height` or above.
    fn wait_height(&self, node: u16, height: u64, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.height(node).is_some_and(|h| h >= height) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {node} did not reach height {height} in {secs} s (at {:?})",
                self.height(node)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The app hash in block `height`'s header, as node `node` has it.
    fn header_app_hash(&self, node: u16, height: u64) -> String {
        self.get(node, &format!("/block?height={height}")).unwrap()["block"]["header"]["app_hash"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Every node in `nodes` has the same header app hash at every height
    /// from `from` to the lowest height they all have.
    fn assert_agree(&self, nodes: &[u16], from: u64) {
        let top = nodes
            .iter()
            .map(|&n| self.height(n).unwrap())
            .min()
            .unwrap();
        for h in from..=top {
            let hashes: Vec<String> = nodes.iter().map(|&n| self.header_app_hash(n, h)).collect();
            assert!(
                hashes.iter().all(|x| x == &hashes[0]),
                "app hashes differ at height {h}: {hashes:?}"
            );
        }
    }

    fn dev_address(&self, i: usize) -> String {
        self.cli(0).address(&format!("dev{i}"))
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.script(&["down"]);
    }
}

#[test]
fn one_validator_from_the_readme_steps_makes_blocks_takes_txs_and_proves_state() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(net) = Net::up(29100, &["--validators", "1", "--block-time", "300ms"]) else {
        return;
    };
    net.wait_height(0, 3, 60);
    let cli = net.cli(0);
    let to = net.dev_address(1);
    let before = cli.balance(&to);
    cli.tx(
        &["tx", "bank", "send", &to, "1234udeai", "--gas", "auto"],
        "dev0",
    );
    assert_eq!(cli.balance(&to), before + 1234);

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
        let mnemonic = std::fs::read_to_string(net.keys.join("dev0.txt")).unwrap();
        let mnemonic = mnemonic
            .lines()
            .find(|l| l.split_whitespace().count() >= 12)
            .unwrap()
            .trim()
            .to_string();
        let out = Command::new("node")
            .arg("--test")
            .arg(&js)
            .env("DEAI_RPC", &cli.node)
            .env("DEAI_MNEMONIC", mnemonic)
            .env("DEAI_RECIPIENT", net.dev_address(2))
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
}

#[test]
fn four_validators_agree_pass_a_proposal_survive_faults_and_a_fifth_node_state_syncs() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(net) = Net::up(
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
    let to = net.dev_address(1);
    let out = net.cli(0).tx(
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
    let mut draft: Value = serde_json::from_str(&ok(&net.cli(0).run(&[
        "tx",
        "gov",
        "draft-proposal",
        "--kind",
        "gov-params",
    ])))
    .unwrap();
    let mut params = serde_json::to_value(deai_gov::GovParams::default()).unwrap();
    params["max_title_len"] = 150.into();
    params["voting_period_blocks"] = 8.into();
    params["expedited_voting_period_blocks"] = 4.into();
    params["min_deposit"] = serde_json::json!([{"denom": "udeai", "amount": "1000"}]);
    draft["messages"][0]["params"] = params;
    draft["deposit"] = "1000udeai".into();
    let file = net.dir.path().join("proposal.json");
    std::fs::write(&file, draft.to_string()).unwrap();
    net.cli(0).tx(
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
    let id = net.cli(0).json(&["query", "gov", "proposals"])["proposals"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, node) in [(0, 0), (1, 1), (2, 2), (3, 3)] {
        net.cli(node).tx(
            &["tx", "gov", "vote", &id, "yes", "--gas", "auto"],
            &format!("dev{i}"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let p = net.cli(3).json(&["query", "gov", "proposal", &id]);
        if p["status"] == "passed" {
            break;
        }
        assert!(
            p["status"] == "voting_period" && Instant::now() < deadline,
            "proposal {id}: {p}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let gov = net.cli(2).json(&["query", "gov", "params"]);
    assert_eq!(gov["max_title_len"], 150, "{gov}");

    // kill -9 of one app mid-run: its CometBFT exits; both restart, the
    // handshake replays what the app missed, and no hash diverges.
    ok(&net.script(&["kill", "1", "--app-only"]));
    std::thread::sleep(Duration::from_secs(1));
    ok(&net.script(&["start", "1"]));
    let now = net.height(0).unwrap();
    net.wait_height(1, now + 2, 60);

    // One validator stopped: the other three go on; it catches up.
    ok(&net.script(&["stop", "3"]));
    let stopped_at = net.height(0).unwrap();
    net.wait_height(0, stopped_at + 3, 60);
    ok(&net.script(&["start", "3"]));
    net.wait_height(3, net.height(0).unwrap(), 60);

    // Two stopped: no 2/3 of the power, the chain halts; it resumes when
    // they return.
    ok(&net.script(&["stop", "2"]));
    ok(&net.script(&["stop", "3"]));
    let halted = net.height(0).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        net.height(0).unwrap() <= halted + 1,
        "the chain went on with half the power"
    );
    ok(&net.script(&["start", "2"]));
    ok(&net.script(&["start", "3"]));
    for n in all {
        net.wait_height(n, halted + 3, 90);
    }

    // A fifth node joins by state sync, then follows the chain.
    let out = ok(&net.script(&["join"]));
    assert!(!out.is_empty());
    let log = std::fs::read_to_string(net.dir.path().join("node4/deaid.log")).unwrap();
    assert!(log.contains("state restored from a snapshot"), "{log}");
    let target = net.height(0).unwrap() + 2;
    net.wait_height(4, target, 60);
    let restored_at: u64 = log
        .lines()
        .find(|l| l.contains("restoring a snapshot"))
        .and_then(|l| l.split("height=").nth(1))
        .and_then(|h| h.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    net.assert_agree(&[0, 1, 2, 3, 4], restored_at + 1);
    net.assert_agree(&all, 1);
}
