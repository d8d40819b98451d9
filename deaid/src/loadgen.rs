//! `deaid bench load`: sustained throughput of signed transfers through a
//! real network's RPC (CometBFT's or the devnet's), and broadcast-to-commit
//! latency.
//!
//! It funds fresh sender accounts from one key, signs every transfer before
//! the clock starts (signing is not measured), then broadcasts for a fixed
//! time over many keep-alive connections spread across the nodes given,
//! each sender's txs in sequence order on one connection. A tracker polls
//! the first node's blocks and matches their txs to the send times. The
//! throughput is the txs committed successfully within the broadcast window
//! divided by its length; latency runs from just before `broadcast_tx_sync`
//! to when the tracker saw the block (polled every 50 ms).

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use deai_app::{bench::per_second, home::Home};
use deai_client::{
    keyring,
    tx::{msg_send, sign_tx, tx_hash, Key, TxParams},
    Gas, NodeClient,
};
use deai_types::Coin;
use rayon::prelude::*;
use tendermint_rpc::Client;

/// Most messages one funding tx carries (the chain allows 64).
const FUNDING_MSGS: usize = 64;

/// What `deaid bench load` is asked to do.
#[derive(clap::Args)]
pub struct LoadArgs {
    /// A node's RPC; repeat to spread connections across nodes.
    #[arg(long = "node", required = true)]
    pub nodes: Vec<String>,
    /// The funded key that pays the senders.
    #[arg(long)]
    pub from: String,
    /// Fresh sender accounts.
    #[arg(long, default_value_t = 400)]
    pub senders: usize,
    /// Transfers signed in advance per sender (signing is not timed).
    #[arg(long, default_value_t = 300)]
    pub txs_per_sender: usize,
    /// Seconds of broadcasting.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
}

/// One sender's pre-signed txs, in sequence order.
struct Sender {
    txs: Vec<([u8; 32], Vec<u8>)>,
}

/// Shared between the broadcasters and the tracker.
#[derive(Default)]
struct Tally {
    /// Send time of every tx CheckTx accepted, by hash.
    sent: Mutex<BTreeMap<[u8; 32], Instant>>,
    accepted: AtomicU64,
    refused: AtomicU64,
    mempool_full: AtomicU64,
    /// The first refusal's log.
    first_refusal: Mutex<Option<String>>,
    /// (seen at, latency, code 0) of every committed tx we sent.
    committed: Mutex<Vec<(Instant, Duration, bool)>>,
}

/// Runs the benchmark and prints its figures.
pub async fn run(home: &Home, keyring: &crate::KeyringArgs, args: LoadArgs) -> anyhow::Result<()> {
    if args.nodes.is_empty() || args.senders == 0 || args.txs_per_sender == 0 {
        bail!("give at least one --node, and positive --senders and --txs-per-sender");
    }
    let clients = args
        .nodes
        .iter()
        .map(|n| NodeClient::new(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let first = &clients[0];
    let (chain_id, _) = first.status().await?;
    let kr = keyring::open(
        &home.0,
        keyring.keyring_backend,
        keyring.keyring_dir.as_deref(),
    )?;
    let funder = keyring::signer(&kr, &args.from)?;
    let funder_addr = kr.show(&args.from)?.address;

    // Fresh senders for every run, so sequences start at 0.
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let keys: Vec<Key> = (0..args.senders)
        .map(|i| Key::from_label(&format!("bench-load-{run_id}-{i}")))
        .collect();
    let recipient = Key::from_label(&format!("bench-load-{run_id}-recipient")).address();

    // Gas of one transfer, from the node's own simulation.
    let mut probe = TxParams {
        chain_id: chain_id.clone(),
        account_number: 0,
        sequence: 0,
        fee: Some(Coin::new(10_000, "udeai")),
        gas_limit: 1_000_000,
        memo: String::new(),
    };
    let funder_acc = first
        .account(&funder_addr.to_bech32())
        .await?
        .with_context(|| format!("{} has no account on the node", args.from))?;
    probe.account_number = funder_acc.account_number;
    probe.sequence = funder_acc.sequence;
    let one = vec![msg_send(&funder_addr, &recipient, &[Coin::new(1, "udeai")])];
    let transfer_gas = first
        .gas_limit(
            &funder,
            &one,
            &probe,
            Gas::Auto {
                adjustment_per_mille: 1300,
            },
        )
        .await?;
    let transfer_fee = transfer_gas.div_ceil(100) + 1;
    let per_sender = u128::from(transfer_fee + 1) * args.txs_per_sender as u128;

    eprintln!("funding {} senders from {}", args.senders, args.from);
    let mut next_sequence = funder_acc.sequence;
    for (sequence, group) in (funder_acc.sequence..).zip(keys.chunks(FUNDING_MSGS)) {
        let msgs: Vec<_> = group
            .iter()
            .map(|k| {
                msg_send(
                    &funder_addr,
                    &k.address(),
                    &[Coin::new(per_sender, "udeai")],
                )
            })
            .collect();
        let gas = transfer_gas * msgs.len() as u64 * 2;
        let tx = sign_tx(
            &funder,
            msgs,
            &TxParams {
                chain_id: chain_id.clone(),
                account_number: funder_acc.account_number,
                sequence,
                fee: Some(Coin::new(u128::from(gas.div_ceil(100) + 1), "udeai")),
                gas_limit: gas,
                memo: String::new(),
            },
        );
        let (code, log) = first.broadcast_sync(tx).await?;
        if code != 0 {
            bail!("a funding tx was refused (code {code}): {log}");
        }
        next_sequence = sequence + 1;
    }
    // Every funding tx is in a block once the funder's sequence has moved
    // past the last: watched by account queries, not `/tx`, so it works on
    // nodes that do not index txs (validators often run `indexer = "null"`).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let funder_now = first
            .account(&funder_addr.to_bech32())
            .await?
            .context("the funder's account disappeared")?;
        if funder_now.sequence >= next_sequence {
            break;
        }
        if Instant::now() >= deadline {
            bail!("the funding txs were not all in a block after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut numbers = Vec::with_capacity(keys.len());
    for k in &keys {
        let acc = first
            .account(&k.address().to_bech32())
            .await?
            .context("a sender has no account: its funding tx failed in its block")?;
        numbers.push(acc.account_number);
    }

    eprintln!(
        "signing {} transfers ({} per sender)",
        args.senders * args.txs_per_sender,
        args.txs_per_sender
    );
    let senders: Vec<Sender> = keys
        .par_iter()
        .zip(&numbers)
        .map(|(k, &account_number)| Sender {
            txs: (0..args.txs_per_sender as u64)
                .map(|sequence| {
                    let tx = sign_tx(
                        k,
                        vec![msg_send(&k.address(), &recipient, &[Coin::new(1, "udeai")])],
                        &TxParams {
                            chain_id: chain_id.clone(),
                            account_number,
                            sequence,
                            fee: Some(Coin::new(u128::from(transfer_fee), "udeai")),
                            gas_limit: transfer_gas,
                            memo: String::new(),
                        },
                    );
                    (tx_hash(&tx), tx)
                })
                .collect(),
        })
        .collect();

    let tally = Arc::new(Tally::default());
    let stop_tracking = Arc::new(AtomicBool::new(false));
    let start_height = first.status().await?.1;
    let tracker = tokio::spawn(track(
        NodeClient::new(&args.nodes[0])?,
        start_height,
        tally.clone(),
        stop_tracking.clone(),
    ));

    eprintln!(
        "broadcasting for {} s over {} connections to {} node(s)",
        args.seconds,
        args.connections,
        args.nodes.len()
    );
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let connections = args.connections.max(1);
    let mut groups: Vec<Vec<Sender>> = (0..connections).map(|_| Vec::new()).collect();
    for (i, s) in senders.into_iter().enumerate() {
        groups[i % connections].push(s);
    }
    let mut tasks = Vec::new();
    for (i, group) in groups.into_iter().enumerate() {
        let client = NodeClient::new(&args.nodes[i % args.nodes.len()])?;
        tasks.push(tokio::spawn(broadcast(
            client,
            group,
            deadline,
            tally.clone(),
        )));
    }
    for t in tasks {
        t.await??;
    }
    let sent_for = start.elapsed();

    // Let what was accepted commit (or give up after 30 s).
    let wait_until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < wait_until {
        let done = lock(&tally.committed).len() as u64;
        if done >= tally.accepted.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop_tracking.store(true, Ordering::SeqCst);
    let blocks = tracker.await??;

    let committed = lock(&tally.committed).clone();
    let window = Duration::from_secs(args.seconds);
    let in_window = committed
        .iter()
        .filter(|(at, _, ok)| *ok && at.duration_since(start) <= window)
        .count() as u64;
    let failed = committed.iter().filter(|(_, _, ok)| !ok).count();
    let mut latencies: Vec<Duration> = committed.iter().map(|(_, l, _)| *l).collect();
    latencies.sort();
    let pct = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .map_or(0, |d| d.as_millis())
    };
    let accepted = tally.accepted.load(Ordering::SeqCst);
    println!(
        "load: {} senders, {} connections, {} node(s), {} s",
        args.senders,
        args.connections,
        args.nodes.len(),
        args.seconds
    );
    println!(
        "accepted by CheckTx: {accepted} ({} tx/s over {} ms); refused {}, mempool full {} times",
        per_second(accepted as usize, sent_for),
        sent_for.as_millis(),
        tally.refused.load(Ordering::SeqCst),
        tally.mempool_full.load(Ordering::SeqCst)
    );
    if let Some(why) = lock(&tally.first_refusal).as_ref() {
        println!("first refusal: {why}");
    }
    println!(
        "committed in the window: {in_window} ({} tx/s); committed in all {}, failed in block {failed}, in {blocks} blocks",
        per_second(in_window as usize, window),
        committed.len()
    );
    println!(
        "broadcast to commit: p50 {} ms, p99 {} ms, max {} ms",
        pct(50),
        pct(99),
        latencies.last().map_or(0, |d| d.as_millis())
    );
    Ok(())
}

/// An RPC error as one line.
fn rpc_error(e: tendermint_rpc::Error) -> anyhow::Error {
    anyhow::anyhow!("RPC: {}", deai_client::rpc::one_line(&e))
}

/// Locks a mutex, taking a poisoned one as it is (a panicked task already failed the run).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends the group's txs round-robin across its senders until `deadline`.
async fn broadcast(
    client: NodeClient,
    mut group: Vec<Sender>,
    deadline: Instant,
    tally: Arc<Tally>,
) -> anyhow::Result<()> {
    let rounds = group.first().map_or(0, |s| s.txs.len());
    for round in 0..rounds {
        for sender in group.iter_mut() {
            let Some((hash, tx)) = sender.txs.get(round).cloned() else {
                continue;
            };
            loop {
                if Instant::now() >= deadline {
                    return Ok(());
                }
                let at = Instant::now();
                let (code, log) = match client.broadcast_sync(tx.clone()).await {
                    Ok(answer) => answer,
                    // CometBFT answers a full mempool with a JSON-RPC error,
                    // the devnet with a CheckTx log: either way, back off.
                    Err(e) if format!("{e:#}").contains("mempool is full") => {
                        (u32::MAX, "mempool is full".to_string())
                    }
                    Err(e) => return Err(e),
                };
                if code == 0 {
                    lock(&tally.sent).insert(hash, at);
                    tally.accepted.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                if log.contains("mempool is full") {
                    tally.mempool_full.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                // This sender's later txs would all fail on their sequence.
                tally.refused.fetch_add(1, Ordering::SeqCst);
                lock(&tally.first_refusal).get_or_insert(format!("code {code}: {log}"));
                sender.txs.clear();
                break;
            }
        }
    }
    Ok(())
}

/// Follows the node's blocks from `from + 1` (its height polled every 50 ms,
/// each new block and its results read once), matching txs to send times;
/// returns how many blocks it saw.
async fn track(
    client: NodeClient,
    from: u64,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<u64> {
    let rpc = client.rpc();
    let mut next = from + 1;
    let mut blocks = 0;
    loop {
        // `/status`, not `/block`: polling the latest block would have the
        // node encode every tx in it 20 times a second, load the benchmark
        // itself would add.
        let latest = client.status().await?.1;
        while next <= latest {
            let height = tendermint::block::Height::try_from(next)?;
            let block = rpc.block(height).await.map_err(rpc_error)?;
            let seen = Instant::now();
            // CometBFT stores a block before its results: try again next poll.
            let Ok(results) = rpc.block_results(height).await else {
                break;
            };
            let codes = results.txs_results.unwrap_or_default();
            let sent = lock(&tally.sent);
            let mut committed = lock(&tally.committed);
            for (i, tx) in block.block.data.iter().enumerate() {
                if let Some(at) = sent.get(&tx_hash(tx)) {
                    let ok = codes.get(i).is_some_and(|r| r.code.is_ok());
                    committed.push((seen, seen.duration_since(*at), ok));
                }
            }
            blocks += 1;
            next += 1;
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(blocks);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
