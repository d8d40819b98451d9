//! End-to-end: `deaid start` driven over its real ABCI socket with the call
//! sequence CometBFT v0.38 uses, on real RocksDB data directories.

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, path::Path};

use cosmos_sdk_proto::cosmos::{
    auth::v1beta1::{BaseAccount, QueryAccountRequest, QueryAccountResponse},
    bank::v1beta1::{
        QueryBalanceRequest, QueryBalanceResponse, QueryTotalSupplyRequest,
        QueryTotalSupplyResponse,
    },
};
use deai_client::tx::{msg_send, sign_tx, Key, TxParams};
use deai_tests::{free_port, Consensus, Node};
use deai_types::{Address, Coin};
use prost::Message;

const CHAIN: &str = "deai-e2e";
const BIN: &str = env!("CARGO_BIN_EXE_deaid");
const START: u128 = 1_000_000_000;

fn keys(n: usize) -> Vec<Key> {
    (0..n)
        .map(|i| Key::from_label(&format!("e2e-{i}")))
        .collect()
}

fn genesis(keys: &[Key]) -> serde_json::Value {
    let balances: Vec<_> = keys
        .iter()
        .map(|k| serde_json::json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": START.to_string()}]}))
        .collect();
    serde_json::json!({"bank": {"balances": balances}})
}

/// A node on a unix socket inside its own data dir: no port races between
/// tests running in parallel.
fn start_node(home: &Path) -> Node {
    let sock = home.join("abci.sock");
    Node::start(Path::new(BIN), home, &format!("unix://{}", sock.display())).unwrap()
}

/// A node on TCP, as CometBFT's default `--proxy_app tcp://127.0.0.1:26658`.
fn tcp_node(home: &Path) -> Node {
    Node::start(
        Path::new(BIN),
        home,
        &format!("tcp://127.0.0.1:{}", free_port()),
    )
    .unwrap()
}

/// A fresh node on a temporary data dir, with `n` funded accounts and genesis done.
fn chain(n: usize) -> (tempfile::TempDir, Node, Workload, Consensus) {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(dir.path());
    let w = Workload::new(n);
    let c = Consensus::handshake(node.connect().unwrap(), CHAIN, &genesis(&w.keys)).unwrap();
    (dir, node, w, c)
}

/// Standard tx parameters on this chain: fee 2000udeai, gas 200000.
fn params(account_number: u64, sequence: u64) -> TxParams {
    TxParams {
        chain_id: CHAIN.into(),
        account_number,
        sequence,
        fee: Some(Coin::new(2_000, "udeai")),
        gas_limit: 200_000,
        memo: String::new(),
    }
}

/// A signed MsgSend of `amount` udeai from `key` to `to`, under `p`.
fn send_with(key: &Key, p: &TxParams, to: &Address, amount: u128) -> Vec<u8> {
    sign_tx(
        key,
        vec![msg_send(&key.address(), to, &[Coin::new(amount, "udeai")])],
        p,
    )
}

fn send(key: &Key, account_number: u64, sequence: u64, to: &Address, amount: u128) -> Vec<u8> {
    send_with(key, &params(account_number, sequence), to, amount)
}

fn balance(c: &mut Consensus, addr: &Address, height: i64) -> u128 {
    let req = QueryBalanceRequest {
        address: addr.to_bech32(),
        denom: "udeai".into(),
    };
    let r = c
        .conn
        .query(
            "/cosmos.bank.v1beta1.Query/Balance",
            &req.encode_to_vec(),
            height,
            false,
        )
        .unwrap();
    assert_eq!(r.code, 0, "{}", r.log);
    let resp = QueryBalanceResponse::decode(r.value.as_ref()).unwrap();
    resp.balance.unwrap().amount.parse().unwrap()
}

/// A deterministic workload: per block, every account sends to the next,
/// plus one tx of each kind of failure.
struct Workload {
    keys: Vec<Key>,
    seq: Vec<u64>,
    model: BTreeMap<Address, u128>,
    fees: u128,
}

impl Workload {
    fn new(n: usize) -> Self {
        let keys = keys(n);
        let model = keys.iter().map(|k| (k.address(), START)).collect();
        Workload {
            seq: vec![0; n],
            keys,
            model,
            fees: 0,
        }
    }

    fn block_txs(&mut self, block: u64) -> Vec<Vec<u8>> {
        let n = self.keys.len();
        let mut txs = Vec::new();
        for i in 0..n {
            let to = self.keys[(i + 1 + block as usize) % n].address();
            let amount = 1 + (i as u128 * 7 + block as u128) % 100;
            txs.push(send(&self.keys[i], i as u64, self.seq[i], &to, amount));
            self.seq[i] += 1;
            *self.model.get_mut(&self.keys[i].address()).unwrap() -= amount + 2_000;
            *self.model.get_mut(&to).unwrap() += amount;
            self.fees += 2_000;
        }
        // Failures that must change nothing: garbage, a replayed sequence,
        // a signature for another account number, an overdraft (this one
        // pays its fee and bumps the sequence, as a failed message does).
        txs.push(b"not a transaction".to_vec());
        txs.push(send(
            &self.keys[0],
            0,
            self.seq[0] - 1,
            &self.keys[1].address(),
            1,
        ));
        txs.push(send(
            &self.keys[1],
            99,
            self.seq[1],
            &self.keys[2].address(),
            1,
        ));
        txs.push(send(
            &self.keys[2],
            2,
            self.seq[2],
            &self.keys[3 % n].address(),
            START * 10,
        ));
        self.seq[2] += 1;
        *self.model.get_mut(&self.keys[2].address()).unwrap() -= 2_000;
        self.fees += 2_000;
        txs
    }
}

fn run_blocks(c: &mut Consensus, w: &mut Workload, blocks: u64) {
    for b in 0..blocks {
        let txs = w.block_txs(b);
        let r = c.block(&txs).unwrap();
        let n = w.keys.len();
        let codes: Vec<u32> = r.tx_results.iter().map(|t| t.code).collect();
        // PrepareProposal dropped the garbage tx.
        assert_eq!(codes.len(), n + 3, "{codes:?}");
        assert!(codes[..n].iter().all(|c| *c == 0), "{:?}", r.tx_results);
        assert_eq!(&codes[n..], &[32, 4, 5], "{:?}", &r.tx_results[n..]);
    }
}

#[test]
fn many_blocks_of_signed_transfers_apply_and_balances_match_a_model() {
    let (_dir, _node, mut w, mut c) = chain(12);
    run_blocks(&mut c, &mut w, 25);
    assert_eq!(c.height, 25);
    for (addr, want) in &w.model {
        assert_eq!(balance(&mut c, addr, 0), *want, "balance of {addr}");
    }
    // Fees go to the fee collector, less the treasury's share (20% by
    // default, rounded down per block).
    let fee_collector = balance(&mut c, &Address::module("fee_collector"), 0);
    let treasury = balance(&mut c, &Address::module("treasury"), 0);
    assert_eq!(fee_collector + treasury, w.fees);
    assert!(
        treasury > 0 && treasury <= w.fees / 5,
        "treasury got {treasury} of {}",
        w.fees
    );
    // Total supply is unchanged and equals the sum of balances.
    let r = c
        .conn
        .query(
            "/cosmos.bank.v1beta1.Query/TotalSupply",
            &QueryTotalSupplyRequest::default().encode_to_vec(),
            0,
            false,
        )
        .unwrap();
    let supply = QueryTotalSupplyResponse::decode(r.value.as_ref()).unwrap();
    let total: u128 = supply.supply[0].amount.parse().unwrap();
    assert_eq!(total, START * 12);
    assert_eq!(w.model.values().sum::<u128>() + w.fees, total);
    // Historical reads: the balance at height 1.
    let first = w.keys[0].address();
    assert!(balance(&mut c, &first, 1) > balance(&mut c, &first, 25));
    // The account query returns a BaseAccount with the sequence.
    let r = c
        .conn
        .query(
            "/cosmos.auth.v1beta1.Query/Account",
            &QueryAccountRequest {
                address: first.to_bech32(),
            }
            .encode_to_vec(),
            0,
            false,
        )
        .unwrap();
    let any = QueryAccountResponse::decode(r.value.as_ref())
        .unwrap()
        .account
        .unwrap();
    assert_eq!(any.type_url, "/cosmos.auth.v1beta1.BaseAccount");
    let acc = BaseAccount::decode(any.value.as_slice()).unwrap();
    assert_eq!((acc.account_number, acc.sequence), (0, 25));
}

#[test]
fn a_restarted_node_reports_the_same_height_and_hash_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = start_node(dir.path());
    let mut w = Workload::new(6);
    let g = genesis(&w.keys);
    let mut c = Consensus::handshake(node.connect().unwrap(), CHAIN, &g).unwrap();
    run_blocks(&mut c, &mut w, 5);
    let (height, hash) = (c.height, c.app_hash.clone());
    drop(c);
    node.restart().unwrap();
    let mut conn = node.connect().unwrap();
    let info = conn.info().unwrap();
    assert_eq!(info.last_block_height, height);
    assert_eq!(info.last_block_app_hash.to_vec(), hash);
    let mut c = Consensus::handshake(conn, CHAIN, &g).unwrap();
    run_blocks(&mut c, &mut w, 3);
    assert_eq!(c.height, 8);
    for (addr, want) in &w.model {
        assert_eq!(balance(&mut c, addr, 0), *want);
    }
}

#[test]
fn the_same_blocks_in_two_fresh_data_dirs_give_identical_app_hashes() {
    let hashes: Vec<Vec<Vec<u8>>> = (0..2)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let node = start_node(dir.path());
            let mut w = Workload::new(5);
            let mut c =
                Consensus::handshake(node.connect().unwrap(), CHAIN, &genesis(&w.keys)).unwrap();
            let mut out = vec![c.app_hash.clone()];
            for b in 0..6 {
                let txs = w.block_txs(b);
                c.block(&txs).unwrap();
                out.push(c.app_hash.clone());
            }
            out
        })
        .collect();
    assert_eq!(hashes[0], hashes[1]);
    // And the hash moves with every block that changes state.
    for pair in hashes[0].windows(2) {
        assert_ne!(pair[0], pair[1]);
    }
}

#[test]
fn a_kill_between_finalize_and_commit_recovers_when_the_block_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = start_node(dir.path());
    let mut w = Workload::new(4);
    let g = genesis(&w.keys);
    let mut c = Consensus::handshake(node.connect().unwrap(), CHAIN, &g).unwrap();
    run_blocks(&mut c, &mut w, 3);
    let txs = w.block_txs(3);
    let first = c.finalize(&txs).unwrap();
    let committed_hash = c.app_hash.clone();
    drop(c);
    node.restart().unwrap(); // SIGKILL before Commit
    let mut conn = node.connect().unwrap();
    let info = conn.info().unwrap();
    assert_eq!(info.last_block_height, 3);
    assert_eq!(info.last_block_app_hash.to_vec(), committed_hash);
    // CometBFT replays the block; the app must reach the same result.
    let mut c = Consensus::handshake(conn, CHAIN, &g).unwrap();
    let replay = c.finalize(&txs).unwrap();
    assert_eq!(replay.app_hash, first.app_hash);
    assert_eq!(replay.tx_results, first.tx_results);
    c.commit().unwrap();
    c.app_hash = replay.app_hash.to_vec();
    run_blocks(&mut c, &mut w, 1);
    for (addr, want) in &w.model {
        assert_eq!(balance(&mut c, addr, 0), *want);
    }
}

#[test]
fn a_kill_before_the_first_commit_lets_init_chain_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = start_node(dir.path());
    let w = Workload::new(3);
    let g = genesis(&w.keys);
    let c = Consensus::handshake(node.connect().unwrap(), CHAIN, &g).unwrap();
    let genesis_hash = c.app_hash.clone();
    drop(c);
    node.restart().unwrap();
    let mut c = Consensus::handshake(node.connect().unwrap(), CHAIN, &g).unwrap();
    assert_eq!(c.height, 0);
    assert_eq!(c.app_hash, genesis_hash);
    c.block(&[]).unwrap();
    assert_eq!(balance(&mut c, &w.keys[0].address(), 0), START);
}

#[test]
fn store_queries_carry_ics23_proofs_that_verify_against_the_app_hash() {
    let (_dir, _node, mut w, mut c) = chain(3);
    run_blocks(&mut c, &mut w, 2);
    let root: [u8; 32] = c.app_hash.clone().try_into().unwrap();
    let addr = w.keys[0].address();
    let mut key = b"bank/balance/".to_vec();
    key.extend_from_slice(addr.as_bytes());
    key.extend_from_slice(b"udeai");
    let r = c.conn.query("store/bank/key", &key, 0, true).unwrap();
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.height, 2);
    assert_eq!(
        String::from_utf8(r.value.to_vec()).unwrap(),
        w.model[&addr].to_string()
    );
    let op = &r.proof_ops.unwrap().ops[0];
    assert_eq!(op.r#type, "ics23:jmt");
    let proof = ics23::CommitmentProof::decode(op.data.as_ref()).unwrap();
    assert!(deai_store::verify_membership(&root, &proof, &key, &r.value));
    assert!(!deai_store::verify_membership(&root, &proof, &key, b"1"));

    // An absent key gets a non-existence proof.
    let mut absent = b"bank/balance/".to_vec();
    absent.extend_from_slice(&[0xAB; 20]);
    absent.extend_from_slice(b"udeai");
    let r = c.conn.query("store/bank/key", &absent, 0, true).unwrap();
    assert_eq!(r.code, 0, "{}", r.log);
    assert!(r.value.is_empty());
    let proof = ics23::CommitmentProof::decode(r.proof_ops.unwrap().ops[0].data.as_ref()).unwrap();
    assert!(deai_store::verify_non_membership(&root, &proof, &absent));

    // A key outside the module's namespace is refused.
    let r = c
        .conn
        .query("store/bank/key", b"auth/params", 0, true)
        .unwrap();
    assert_ne!(r.code, 0);
}

#[test]
fn check_tx_gives_clear_codes_and_tracks_sequences_until_commit() {
    let (_dir, node, w, mut c) = chain(3);
    c.block(&[]).unwrap();
    let mut mempool = node.connect().unwrap();
    let k = &w.keys[0];
    let to = w.keys[1].address();
    let ok0 = send(k, 0, 0, &to, 5);
    let ok1 = send(k, 0, 1, &to, 5);
    assert_eq!(mempool.check_tx(&ok0, false).unwrap().code, 0);
    // The same tx again is a replay: the mempool view already bumped the sequence.
    let again = mempool.check_tx(&ok0, false).unwrap();
    assert_eq!(again.code, 32, "{}", again.log);
    assert_eq!(mempool.check_tx(&ok1, false).unwrap().code, 0);
    let garbage = mempool.check_tx(b"\x0a\x05hello", false).unwrap();
    assert_eq!(garbage.code, 2, "{}", garbage.log);
    let wrong_chain = send_with(
        &w.keys[1],
        &TxParams {
            chain_id: "other-chain".into(),
            ..params(1, 0)
        },
        &to,
        1,
    );
    let r = mempool.check_tx(&wrong_chain, false).unwrap();
    assert_eq!(r.code, 4, "{}", r.log);
    let cheap = send_with(
        &w.keys[1],
        &TxParams {
            fee: Some(Coin::new(1, "udeai")),
            ..params(1, 0)
        },
        &to,
        1,
    );
    let r = mempool.check_tx(&cheap, false).unwrap();
    assert_eq!(r.code, 13, "{}", r.log);
    let stranger = Key::from_label("nobody");
    let r = mempool
        .check_tx(&send(&stranger, 0, 0, &to, 1), false)
        .unwrap();
    assert_eq!(r.code, 9, "{}", r.log);

    // After a commit that included ok0, a recheck of ok1 still passes and ok0 fails.
    c.block(std::slice::from_ref(&ok0)).unwrap();
    assert_eq!(mempool.check_tx(&ok1, true).unwrap().code, 0);
    assert_eq!(mempool.check_tx(&ok0, true).unwrap().code, 32);

    // A recheck skips signature verification only for bytes this node
    // verified before: a tx it never saw, with a broken signature, is
    // refused even when it arrives as a recheck.
    let mut forged = send(&w.keys[2], 2, 0, &to, 1);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let r = mempool.check_tx(&forged, true).unwrap();
    assert_eq!(r.code, 4, "{}", r.log);
}

#[test]
fn out_of_gas_reverts_the_messages_but_charges_the_fee_and_bumps_the_sequence() {
    let (_dir, _node, w, mut c) = chain(2);
    let (a, b) = (&w.keys[0], w.keys[1].address());
    // Enough gas for the checks and fee, not for the transfer's writes.
    let p = TxParams {
        fee: Some(Coin::new(300, "udeai")),
        gas_limit: 30_000,
        ..params(0, 0)
    };
    let tx = send_with(a, &p, &b, 10);
    let r = c.block(&[tx]).unwrap();
    assert_eq!(r.tx_results[0].code, 11, "{}", r.tx_results[0].log);
    assert_eq!(r.tx_results[0].gas_used, 30_000);
    assert_eq!(balance(&mut c, &a.address(), 0), START - 300);
    assert_eq!(balance(&mut c, &b, 0), START);
    // The sequence moved on: sequence 1 is now the valid one.
    let r = c.block(&[send(a, 0, 1, &b, 10)]).unwrap();
    assert_eq!(r.tx_results[0].code, 0, "{}", r.tx_results[0].log);
}

#[test]
fn proposals_drop_undecodable_txs_respect_max_bytes_and_are_checked() {
    let (_dir, _node, w, mut c) = chain(3);
    let to = w.keys[2].address();
    let t0 = send(&w.keys[0], 0, 0, &to, 1);
    let t1 = send(&w.keys[1], 1, 0, &to, 1);
    let chosen = c
        .prepare(&[t0.clone(), b"junk".to_vec(), t1.clone()], 1 << 20)
        .unwrap();
    assert_eq!(chosen, vec![t0.clone(), t1.clone()]);
    let chosen = c
        .prepare(&[t0.clone(), t1.clone()], t0.len() as i64 + 1)
        .unwrap();
    assert_eq!(chosen, vec![t0.clone()]);
    assert!(c.process(std::slice::from_ref(&t0)).unwrap());
    assert!(!c.process(&[t0, b"junk".to_vec()]).unwrap());
}

#[test]
fn the_server_also_speaks_over_tcp_as_cometbft_expects_by_default() {
    // The other tests use unix sockets (no port races in parallel runs).
    let dir = tempfile::tempdir().unwrap();
    let node = tcp_node(dir.path());
    assert!(node.addr.starts_with("tcp://"));
    let w = Workload::new(2);
    let mut c = Consensus::handshake(node.connect().unwrap(), CHAIN, &genesis(&w.keys)).unwrap();
    c.block(&[send(&w.keys[0], 0, 0, &w.keys[1].address(), 7)])
        .unwrap();
    assert_eq!(balance(&mut c, &w.keys[1].address(), 0), START + 7);
}

#[test]
fn a_malformed_genesis_is_refused_with_a_clear_error_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(dir.path());
    let bad = serde_json::json!({"bank": {"balances": [{"address": "cosmos1xyz", "coins": []}]}});
    let err = Consensus::handshake(node.connect().unwrap(), CHAIN, &bad)
        .err()
        .expect("refused");
    assert!(!err.to_string().is_empty());
    // A new connection still gets answers.
    let info = node.connect().unwrap().info().unwrap();
    assert_eq!(info.last_block_height, 0);
}

#[test]
fn simulation_estimates_gas_that_is_enough_to_deliver_the_tx() {
    use cosmos_sdk_proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse, TxRaw};
    let (_dir, _node, w, mut c) = chain(2);
    c.block(&[]).unwrap();
    let (a, b) = (&w.keys[0], w.keys[1].address());
    // As a wallet simulates: no fee, zero gas, an empty signature.
    let p = TxParams {
        chain_id: CHAIN.into(),
        account_number: 0,
        sequence: 0,
        fee: None,
        gas_limit: 0,
        memo: String::new(),
    };
    let mut raw = TxRaw::decode(
        sign_tx(
            a,
            vec![msg_send(&a.address(), &b, &[Coin::new(10, "udeai")])],
            &p,
        )
        .as_slice(),
    )
    .unwrap();
    raw.signatures = vec![Vec::new()];
    let req = SimulateRequest {
        tx_bytes: raw.encode_to_vec(),
        ..Default::default()
    };
    let r = c
        .conn
        .query(
            "/cosmos.tx.v1beta1.Service/Simulate",
            &req.encode_to_vec(),
            0,
            false,
        )
        .unwrap();
    assert_eq!(r.code, 0, "{}", r.log);
    let gas = SimulateResponse::decode(r.value.as_ref())
        .unwrap()
        .gas_info
        .unwrap()
        .gas_used;
    assert!(gas > 10_000, "{gas}");
    // Nothing was written by the simulation.
    assert_eq!(balance(&mut c, &b, 0), START);
    let gas_limit = gas * 13 / 10;
    let p = TxParams {
        chain_id: CHAIN.into(),
        account_number: 0,
        sequence: 0,
        fee: Some(Coin::new(u128::from(gas_limit).div_ceil(100), "udeai")),
        gas_limit,
        memo: String::new(),
    };
    let r = c
        .block(&[sign_tx(
            a,
            vec![msg_send(&a.address(), &b, &[Coin::new(10, "udeai")])],
            &p,
        )])
        .unwrap();
    assert_eq!(r.tx_results[0].code, 0, "{}", r.tx_results[0].log);
    assert!(r.tx_results[0].gas_used as u64 <= gas_limit);
    assert_eq!(balance(&mut c, &b, 0), START + 10);
}

#[test]
fn a_tx_signed_offline_by_the_cli_is_accepted_by_the_node() {
    use std::{io::Write, process::Stdio};
    let dir = tempfile::tempdir().unwrap();
    let cli_home = dir.path().join("cli");
    let mnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    let mut child = std::process::Command::new(BIN)
        .args([
            "--home",
            cli_home.to_str().unwrap(),
            "keys",
            "recover",
            "alice",
            "--keyring-backend",
            "test",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{mnemonic}\n").as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let alice = deai_keys::derive_from_mnemonic(mnemonic, "").unwrap();
    let alice = Key::from_signing_key(alice).address();
    let bob = Key::from_label("bob").address();

    let node = start_node(&dir.path().join("node"));
    let g = serde_json::json!({"bank": {"balances": [{"address": alice.to_bech32(), "coins": [{"denom": "udeai", "amount": "100000"}]}]}});
    let mut c = Consensus::handshake(node.connect().unwrap(), CHAIN, &g).unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "--home",
            cli_home.to_str().unwrap(),
            "tx",
            "bank",
            "send",
            "alice",
            &bob.to_bech32(),
            "250udeai",
            "--offline",
            "--chain-id",
            CHAIN,
            "--account-number",
            "0",
            "--sequence",
            "0",
            "--keyring-backend",
            "test",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tx = hex::decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(c.conn.check_tx(&tx, false).unwrap().code, 0);
    let r = c.block(&[tx]).unwrap();
    assert_eq!(r.tx_results[0].code, 0, "{}", r.tx_results[0].log);
    assert_eq!(balance(&mut c, &bob, 0), 250);
    assert_eq!(balance(&mut c, &alice, 0), 100_000 - 250 - 2_000);
}

#[test]
fn blocks_of_random_bytes_fail_tx_by_tx_and_change_no_state() {
    use rand::{Rng, SeedableRng};
    let (_dir, _node, w, mut c) = chain(2);
    c.block(&[]).unwrap();
    // Block hooks advance their queue cursors every block, so the reference
    // is a twin chain (same genesis) that finalizes an empty block instead.
    let (_twin_dir, _twin_node, _, mut twin) = chain(2);
    twin.block(&[]).unwrap();
    twin.block(&[]).unwrap();
    let before = twin.app_hash.clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let junk: Vec<Vec<u8>> = (0..50)
        .map(|i| (0..(i * 13 % 300 + 1)).map(|_| rng.gen()).collect())
        .collect();
    // A faulty proposer includes them anyway (FinalizeBlock without Prepare).
    let r = c.finalize(&junk).unwrap();
    c.commit().unwrap();
    assert!(r.tx_results.iter().all(|t| t.code != 0));
    assert_eq!(r.app_hash.to_vec(), before, "failed txs wrote nothing");
    assert_eq!(balance(&mut c, &w.keys[0].address(), 0), START);
}

#[test]
fn an_unsupported_cometbft_is_refused_at_info_and_deaid_exits_saying_which_is_needed() {
    use tendermint_proto::v0_38::abci::{request, RequestInfo};
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("abci.sock");
    let child = std::process::Command::new(BIN)
        .args(["start", "--abci", &format!("unix://{}", sock.display())])
        .args(["--grpc-listen", "off", "--rest-listen", "off"])
        .env("DEAI_HOME", dir.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut client = deai_tests::AbciClient::connect(
        &format!("unix://{}", sock.display()),
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    // CometBFT v0.37 speaks ABCI 1.0: its Info gets no answer.
    let answer = client.call(request::Value::Info(RequestInfo {
        version: "0.37.5".into(),
        block_version: 11,
        p2p_version: 8,
        abci_version: "1.0.0".into(),
    }));
    assert!(answer.is_err(), "{answer:?}");
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Error: CometBFT \"0.37.5\" with ABCI \"1.0.0\" is not supported")
            && stderr.contains("v0.38.x")
            && !stderr.contains("panicked"),
        "{stderr}"
    );
}
