//! IBC between two DeAI chains, each a real CometBFT localnet node,
//! relayed by Hermes (pinned, built by `scripts/install-ibc-tools.sh`):
//!
//! 1. Hermes creates clients, a connection and a `transfer` channel.
//! 2. udeai goes A → B (escrowed on A, minted on B as the voucher
//!    `ibc/<hash of transfer/<B's channel>/udeai>`), and part of it comes
//!    back (burned on B, released from escrow on A).
//! 3. A transfer whose timeout passes before it is relayed is refunded.
//! 4. A `compute` channel on the same connection: a gemm-i8 job sent from
//!    B, paid from the sender's remote account on A (funded by an ICS-20
//!    transfer back to A), run by a `deai-compute` provider daemon on A,
//!    and its result arrives in B's acknowledgement.
//! 5. The clients' trusting period is short (45 s); after more than three
//!    of them Hermes has kept both clients alive and a transfer still goes
//!    through.
//!
//! Skips without CometBFT, Hermes and simd unless `scripts/test.sh`'s
//! `DEAI_REQUIRE_COMETBFT=1` / `DEAI_REQUIRE_IBC_TOOLS=1` are set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod devnet;

use std::{
    path::Path,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use deai_compute::{
    gemm_i8_reference, random_i8_matrix,
    workload::{canonical_bytes, sha3_256, GemmI8Input},
};
use deai_tests::{
    hermes::{self, wait_for, ChainConfig, Hermes},
    localnet::{Localnet, ONE_AT_A_TIME},
};
use devnet::{deaid_bin, Daemon, Rpc, BOND, PRICE};
use serde_json::Value;
use sha2::Digest;

const A: &str = "deai-a-1";
const B: &str = "deai-b-1";
/// Transfers in the throughput batch.
const PACKETS: u32 = 50;
/// The clients' trusting period, in seconds: short, so the test outlives
/// several (and long enough for Hermes's channel handshake, which does not
/// refresh clients between its steps).
const TRUSTING_SECS: u64 = 45;

/// The voucher denom of `path/base` (ibc-go's hash).
fn voucher(trace: &str) -> String {
    format!(
        "ibc/{}",
        hex::encode_upper(sha2::Sha256::digest(trace.as_bytes()))
    )
}

/// The balance of `denom` held by `addr`.
fn balance(rpc: &Rpc, addr: &str, denom: &str) -> u128 {
    let v: Value =
        serde_json::from_str(&rpc.deaid(&["query", "bank", "balances", addr, "--output", "json"]))
            .unwrap();
    deai_tests::denom_amount(&v, denom)
}

/// Finds the tx in which Hermes relayed packet 1 to `net` (the tx with
/// event `event` whose `channel_attr` is `channel`), re-signs its message
/// of type `type_url` (proof included) with the same relayer key (dev3) in
/// a new tx, and returns that tx's (code, log).
fn replay_first(
    net: &Localnet,
    rpc: &Rpc,
    (event, channel_attr, channel): (&str, &str, &str),
    type_url: &str,
) -> (u32, String) {
    use cosmos_sdk_proto::cosmos::tx::v1beta1::{TxBody, TxRaw};
    use prost::Message;
    let query = format!("\"{event}.packet_sequence='1' AND {event}.{channel_attr}='{channel}'\"");
    let found = net
        .get(
            0,
            &format!(
                "/tx_search?query={}",
                query
                    .replace(' ', "%20")
                    .replace('\'', "%27")
                    .replace('"', "%22")
            ),
        )
        .expect("tx_search answers");
    let tx = found["txs"][0]["tx"]
        .as_str()
        .expect("the recv tx is indexed");
    let raw = TxRaw::decode(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, tx)
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let body = TxBody::decode(raw.body_bytes.as_slice()).unwrap();
    let msg = body
        .messages
        .into_iter()
        .find(|m| m.type_url == type_url)
        .expect("the relayed message");
    let keyring =
        deai_keys::Keyring::open(&net.keys.join("keyring-test"), deai_keys::Backend::Test).unwrap();
    let key = deai_client::tx::Key::from_signing_key(keyring.signing_key("dev3", None).unwrap());
    let address = rpc.address("dev3");
    rpc.rt.block_on(async {
        let account = rpc.client.account(&address).await.unwrap().unwrap();
        let chain_id = rpc.client.status().await.unwrap().0;
        let params = deai_client::tx::TxParams {
            chain_id,
            account_number: account.account_number,
            sequence: account.sequence,
            fee: Some(deai_types::Coin::new(20_000, "udeai")),
            gas_limit: 2_000_000,
            memo: "replay".into(),
        };
        let tx = deai_client::tx::sign_tx(&key, vec![msg], &params);
        let hash = deai_types::tx_hash(&tx);
        let (code, log) = rpc.client.broadcast_sync(tx).await.unwrap();
        assert_eq!(code, 0, "the replay passes CheckTx: {log}");
        let (_, code, log) = rpc
            .client
            .wait_for_tx(hash, Duration::from_secs(30))
            .await
            .unwrap();
        (code, log)
    })
}

fn chain(deaid: &Path, base: u16, id: &str, extra: &[&str]) -> Option<Localnet> {
    let mut args = vec![
        "--validators",
        "1",
        "--block-time",
        "300ms",
        "--chain-id",
        id,
    ];
    args.extend(extra);
    Localnet::up(deaid, base, &args)
}

fn transfer(rpc: &Rpc, from: &str, channel: &str, to: &str, amount: &str, extra: &[&str]) {
    let mut args = vec![
        "tx",
        "ibc-transfer",
        "transfer",
        "transfer",
        channel,
        to,
        amount,
        "--from",
        from,
        "--gas",
        "auto",
        "--yes",
    ];
    args.extend(extra);
    rpc.deaid(&args);
}

#[test]
fn two_deai_chains_transfer_time_out_and_run_a_compute_job_over_hermes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let Some((hermes_bin, _)) = hermes::tools() else {
        return;
    };
    let bond = format!("compute.min_provider_bond=\"{BOND}\"");
    let Some(net_a) = chain(
        &deaid,
        29600,
        A,
        &[
            "--param",
            &bond,
            "--param",
            "compute.commit_window=30",
            "--param",
            "compute.reveal_window=20",
        ],
    ) else {
        return;
    };
    let Some(net_b) = chain(&deaid, 29700, B, &[]) else {
        return;
    };
    net_a.wait_height(0, 2, 60);
    net_b.wait_height(0, 2, 60);
    let a = Rpc::new(deaid.clone(), net_a.keys.clone(), &net_a.rpc_url(0));
    let b = Rpc::new(deaid.clone(), net_b.keys.clone(), &net_b.rpc_url(0));

    // Hermes, relaying with dev3 of each chain.
    let work = tempfile::tempdir().unwrap();
    let mut configs = [
        ChainConfig::deai(
            A,
            &net_a.rpc_url(0),
            &format!("http://{}", net_a.grpc_addr(0)),
        ),
        ChainConfig::deai(
            B,
            &net_b.rpc_url(0),
            &format!("http://{}", net_b.grpc_addr(0)),
        ),
    ];
    for c in &mut configs {
        c.trusting_period = Some(format!("{TRUSTING_SECS}s"));
    }
    let mut relayer = Hermes::new(&hermes_bin, &configs);
    relayer.add_key(A, &net_a.dev_mnemonic_file(3, work.path()));
    relayer.add_key(B, &net_b.dev_mnemonic_file(3, work.path()));
    let clients_made = Instant::now();
    let (chan_a, chan_b) = relayer.create_channel(A, B, "transfer", "transfer", None);
    relayer.start();
    let log_path = relayer.log_path();
    let hermes_log = || hermes::tail(&log_path);

    // 1. A → B: escrowed on A, minted on B.
    let alice = a.address("dev0");
    let bob = b.address("dev0");
    let escrow: Value = serde_json::from_str(&a.deaid(&[
        "query",
        "ibc-transfer",
        "escrow-address",
        "transfer",
        &chan_a,
        "--output",
        "json",
    ]))
    .unwrap();
    let escrow = escrow["escrow_address"].as_str().unwrap().to_string();
    let on_b = voucher(&format!("transfer/{chan_b}/udeai"));
    let sent_at = Instant::now();
    transfer(&a, "dev0", &chan_a, &bob, "1000000udeai", &[]);
    wait_for(
        60,
        "the voucher on B",
        || (balance(&b, &bob, &on_b) == 1_000_000).then_some(()),
        hermes_log,
    );
    let latency = sent_at.elapsed();
    assert_eq!(balance(&a, &escrow, "udeai"), 1_000_000);

    // 2. B → A: 400000 come back (burned on B, released on A).
    let carol = a.address("dev1");
    let carol_before = balance(&a, &carol, "udeai");
    transfer(&b, "dev0", &chan_b, &carol, &format!("400000{on_b}"), &[]);
    wait_for(
        60,
        "the udeai back on A",
        || (balance(&a, &carol, "udeai") == carol_before + 400_000).then_some(()),
        hermes_log,
    );
    assert_eq!(balance(&b, &bob, &on_b), 600_000);
    assert_eq!(balance(&a, &escrow, "udeai"), 600_000);
    let supply: Value =
        serde_json::from_str(&b.deaid(&["query", "bank", "total", "--output", "json"])).unwrap();
    assert!(
        supply.to_string().contains(&format!("\"{on_b}\""))
            && supply.to_string().contains("600000"),
        "B's voucher supply is what is left: {supply}"
    );

    // A replayed packet: the relayer's own MsgRecvPacket of sequence 1 on
    // B (valid proof and all), signed again and sent in a new tx, is
    // refused with a clear error: nothing is minted twice.
    let (code, log) = replay_first(
        &net_b,
        &b,
        ("recv_packet", "packet_dst_channel", &chan_b),
        "/ibc.core.channel.v1.MsgRecvPacket",
    );
    assert_ne!(code, 0, "a replayed packet is refused");
    assert!(log.contains("already exists"), "with a clear reason: {log}");
    assert_eq!(
        balance(&b, &bob, &on_b),
        600_000,
        "the replay minted nothing"
    );
    // A replayed acknowledgement is ibc-rs's no-op (as ibc-go's): the
    // packet's commitment is gone, so nothing is refunded or released.
    let alice_before = balance(&a, &alice, "udeai");
    let (code, log) = replay_first(
        &net_a,
        &a,
        ("acknowledge_packet", "packet_src_channel", &chan_a),
        "/ibc.core.channel.v1.MsgAcknowledgement",
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        balance(&a, &escrow, "udeai"),
        600_000,
        "nothing left escrow"
    );
    assert_eq!(
        balance(&a, &alice, "udeai"),
        alice_before,
        "no second refund"
    );

    // Throughput: Hermes's relayer key sends 50 transfers in one tx; the
    // running `hermes start` relays them (recv on B, acks back on A).
    let relayer_a = a.address("dev3");
    let before = balance(&b, &bob, &on_b);
    relayer.json(&[
        "tx",
        "ft-transfer",
        "--dst-chain",
        B,
        "--src-chain",
        A,
        "--src-port",
        "transfer",
        "--src-channel",
        &chan_a,
        "--amount",
        "10",
        "--denom",
        "udeai",
        "--number-msgs",
        &PACKETS.to_string(),
        "--receiver",
        &bob,
        "--timeout-seconds",
        "300",
    ]);
    let batch_sent = Instant::now();
    wait_for(
        120,
        "a batch of transfers on B",
        || (balance(&b, &bob, &on_b) == before + 10 * u128::from(PACKETS)).then_some(()),
        hermes_log,
    );
    let received = batch_sent.elapsed();
    wait_for(
        120,
        "the batch's acknowledgements on A",
        || {
            let v = net_a.rest_get(
                0,
                &format!(
                    "/ibc/core/channel/v1/channels/{chan_a}/ports/transfer/packet_commitments"
                ),
            )?;
            v["commitments"].as_array()?.is_empty().then_some(())
        },
        hermes_log,
    );
    let acked = batch_sent.elapsed();
    assert!(balance(&a, &relayer_a, "udeai") > 0);
    eprintln!(
        "ICS-20 A -> B: {PACKETS} packets in one tx received on B in {received:?} ({:.1} packets/s), \
         acknowledged on A in {acked:?} ({:.1} packets/s)",
        f64::from(PACKETS) / received.as_secs_f64(),
        f64::from(PACKETS) / acked.as_secs_f64(),
    );

    // 3. A timeout: the packet's time passes before anyone relays it.
    relayer.stop();
    let escrowed = balance(&a, &escrow, "udeai");
    let before = balance(&a, &alice, "udeai");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let soon = (now + Duration::from_secs(2)).as_nanos().to_string();
    transfer(
        &a,
        "dev0",
        &chan_a,
        &bob,
        "777udeai",
        &["--packet-timeout-timestamp", &soon],
    );
    let spent = before - balance(&a, &alice, "udeai");
    assert!(spent > 777, "escrowed with the fee");
    std::thread::sleep(Duration::from_secs(4));
    net_b.wait_height(0, net_b.height(0).unwrap() + 2, 30);
    relayer.start();
    wait_for(
        90,
        "the timed-out transfer refunded",
        || (balance(&a, &alice, "udeai") == before - (spent - 777)).then_some(()),
        hermes_log,
    );
    assert_eq!(balance(&a, &escrow, "udeai"), escrowed);

    // 4. Compute over IBC: a channel on port compute, B asks, A runs it.
    let (cchan_b, cchan_a) =
        relayer.create_channel_on(B, "connection-0", "compute", "compute", "deai-compute-1");
    let sender = b.address("dev2");
    let payer: Value = serde_json::from_str(&a.deaid(&[
        "query",
        "ibc-compute",
        "remote-account",
        &cchan_a,
        &sender,
        "--output",
        "json",
    ]))
    .unwrap();
    let payer = payer["account"].as_str().unwrap().to_string();
    // Fund it with udeai sent back from B over the transfer channel.
    transfer(
        &b,
        "dev0",
        &chan_b,
        &payer,
        &format!("{}{on_b}", 3 * PRICE),
        &[],
    );
    wait_for(
        60,
        "the remote account funded",
        || (balance(&a, &payer, "udeai") == 3 * PRICE).then_some(()),
        hermes_log,
    );

    let provider_dir = work.path().join("provider");
    std::fs::create_dir_all(&provider_dir).unwrap();
    let provider = Daemon::start(&a, &provider_dir, "dev1", &[]);
    let provider_addr = a.address("dev1");
    wait_for(
        60,
        "the provider registered",
        || a.provider(&provider_addr),
        || provider.tail(),
    );

    let (ma, mb) = (random_i8_matrix(4, 8, 31), random_i8_matrix(8, 2, 32));
    let input = GemmI8Input::encode(&ma, &mb).unwrap();
    let bt = GemmI8Input::decode(&input).unwrap().b_transposed().unwrap();
    let output = canonical_bytes(&gemm_i8_reference(&ma, &bt).unwrap());
    b.deaid(&[
        "tx",
        "ibc-compute",
        "send-job",
        &cchan_b,
        "--kind",
        "gemm-i8",
        "--input-hex",
        &hex::encode(&input),
        "--price",
        &format!("{PRICE}udeai"),
        "--deadline-blocks",
        "80",
        "--from",
        "dev2",
        "--gas",
        "auto",
        "--yes",
    ]);
    // The acknowledgement is written in A's end block once the job is final.
    // Hermes's event stream takes only packets and handshakes from block
    // events, so its packet clearing (which finds block events with
    // block_search) relays it: run here every few seconds, as
    // `clear_interval` does while a channel's worker is busy.
    let mut polls = 0u32;
    let job = wait_for(
        180,
        "the job's result on B",
        || {
            polls += 1;
            if polls.is_multiple_of(10) {
                relayer.run(&[
                    "clear",
                    "packets",
                    "--chain",
                    B,
                    "--port",
                    "compute",
                    "--channel",
                    &cchan_b,
                ]);
            }
            let v: Value = serde_json::from_str(&b.deaid(&[
                "query",
                "ibc-compute",
                "remote-job",
                &cchan_b,
                "1",
                "--output",
                "json",
            ]))
            .ok()?;
            (v["status"] != "pending").then_some(v)
        },
        || format!("{}\n{}", hermes_log(), provider.tail()),
    );
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["job_status"], "finalized", "{job}");
    assert_eq!(job["result_hash"], hex::encode(sha3_256(&output)), "{job}");
    assert_eq!(job["output_hex"], hex::encode(&output), "{job}");
    assert_eq!(
        balance(&a, &payer, "udeai"),
        2 * PRICE,
        "the remote account paid the price"
    );

    // 5. Three trusting periods after the clients were made, Hermes has kept
    // them alive: a transfer still goes through.
    let three_periods = Duration::from_secs(3 * TRUSTING_SECS + 5);
    while clients_made.elapsed() < three_periods {
        std::thread::sleep(Duration::from_secs(2));
    }
    let before = balance(&b, &bob, &on_b);
    transfer(&a, "dev0", &chan_a, &bob, "5udeai", &[]);
    wait_for(
        60,
        "a transfer after three trusting periods",
        || (balance(&b, &bob, &on_b) == before + 5).then_some(()),
        hermes_log,
    );
    eprintln!("ICS-20 A -> B end-to-end latency (tx sent to voucher seen): {latency:?}");
}
