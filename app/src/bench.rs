//! `deaid bench transfers`: throughput of the real pipeline on a real
//! on-disk store. Builds a block of signed `MsgSend` transactions from a
//! chosen number of senders, on a state with a chosen number of other
//! accounts, then measures a two-thread verification of the block's
//! signatures (the reference), CheckTx (as the mempool runs it) and
//! FinalizeBlock + Commit (as consensus runs it), in one process and run.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use deai_client::tx::{msg_send, sign_tx, Key, TxParams};
use deai_genesis::AppState;
use deai_types::{Coin, BASE_DENOM};
use rayon::prelude::*;

use crate::App;

/// What to put in the transfer benchmark's block and state.
#[derive(Debug, Clone, Copy)]
pub struct TransferConfig {
    /// Transactions in the block.
    pub txs: usize,
    /// Distinct signing accounts in the block (round-robin over the txs).
    pub senders: usize,
    /// Funded accounts written into state before the block, besides the senders.
    pub state_accounts: usize,
}

/// What the benchmark measured.
#[derive(Debug, Clone)]
pub struct TransferReport {
    /// What was measured.
    pub config: TransferConfig,
    /// Threads of the signature-verification reference.
    pub verify_threads: usize,
    /// Time to verify every signature of the block on `verify_threads`
    /// threads (key parse, sign-doc hash and verification, with no key
    /// cache): the reference the block path is compared with.
    pub verify: Duration,
    /// Time to write the extra state accounts (not part of any figure).
    pub build_state: Duration,
    /// Time spent in CheckTx for all txs.
    pub check_tx: Duration,
    /// Time spent in FinalizeBlock on the node whose CheckTx verified the
    /// block's signatures (it does not verify them again).
    pub finalize: Duration,
    /// Time spent in FinalizeBlock on a node that never saw the block's txs
    /// (it verifies every signature).
    pub finalize_unseen: Duration,
    /// Time spent in Commit.
    pub commit: Duration,
    /// CPU time (all threads) of the verification reference, FinalizeBlock
    /// and Commit, where the platform reports it (Linux): steadier than
    /// wall-clock time when other work shares the machine.
    pub cpu: Option<PhaseCpu>,
}

/// CPU time of the benchmark's phases, all threads together.
#[derive(Debug, Clone, Copy)]
pub struct PhaseCpu {
    /// The two-thread signature verification.
    pub verify: Duration,
    /// FinalizeBlock.
    pub finalize: Duration,
    /// Commit.
    pub commit: Duration,
}

/// CPU time this process has used, user and system, all threads (exited
/// ones included), from `/proc/self/stat`, in 10 ms ticks; `None` where
/// that file does not exist.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which may hold spaces: state is
    // field 3 of the file, utime and stime fields 14 and 15.
    let rest = stat.get(stat.rfind(')')?.checked_add(2)?..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux platform.
    Some(Duration::from_millis(ticks.saturating_mul(10)))
}

/// Runs `f`, returning its result and the process CPU time it took.
fn with_cpu<T>(f: impl FnOnce() -> T) -> (T, Option<Duration>) {
    let before = process_cpu();
    let out = f();
    let used = process_cpu()
        .zip(before)
        .map(|(after, before)| after.saturating_sub(before));
    (out, used)
}

/// Throughput in whole items per second (integer arithmetic: this crate is
/// on the consensus path, where floats are banned).
pub fn per_second(items: usize, took: Duration) -> u128 {
    (items as u128 * 1_000_000_000) / took.as_nanos().max(1)
}

/// Threads the signature-verification reference of [`transfers`] uses.
pub const VERIFY_THREADS: usize = 2;

/// Accounts written per commit while building the extra state, which keeps
/// the tree update of each commit within a few hundred MiB.
const STATE_ACCOUNTS_PER_COMMIT: usize = 100_000;

/// The address of extra state account `i`: distinct for every `i`, and
/// never a key-derived sender address in practice.
fn state_account_address(i: usize) -> deai_types::Address {
    let mut bytes = [0xA5u8; 20];
    bytes[12..].copy_from_slice(&(i as u64).to_be_bytes());
    deai_types::Address(bytes)
}

/// Writes `count` funded accounts into `app`'s state directly (the auth and
/// bank modules' own writes, no transactions), committing every
/// [`STATE_ACCOUNTS_PER_COMMIT`] of them as a new height. Returns the last
/// committed height.
fn add_state_accounts(app: &mut App, count: usize, mut height: u64) -> anyhow::Result<u64> {
    use deai_auth::AuthWrite;
    use deai_bank::BankWrite;
    use deai_types::{MemState, StateRead, StateWrite};
    let mut done = 0;
    while done < count {
        let n = STATE_ACCOUNTS_PER_COMMIT.min(count - done);
        // The writes go to an in-memory layer seeded with the two shared
        // records they update, so no write waits on a disk read of a key
        // that does not exist yet.
        let snapshot = app.storage().latest_snapshot();
        let mut layer = MemState::default();
        for key in [
            deai_auth::state_key::next_account_number(),
            deai_bank::state_key::supply(BASE_DENOM),
        ] {
            if let Some(v) = snapshot.get_raw(&key)? {
                layer.put_raw(key, v)?;
            }
        }
        for i in done..done + n {
            let addr = state_account_address(i);
            layer.ensure_account(&addr)?;
            layer.mint(&addr, &[Coin::new(1_000_000, BASE_DENOM)])?;
        }
        let changes: deai_types::Changes = layer.0.into_iter().map(|(k, v)| (k, Some(v))).collect();
        height += 1;
        let prepared = app.storage().prepare(height, &changes)?;
        app.storage().commit(prepared)?;
        done += n;
        eprintln!("  {done} of {count} state accounts written");
    }
    Ok(height)
}

/// Verifies every signature of `block` on [`VERIFY_THREADS`] threads and
/// returns the time it took; fails if any does not verify.
fn verify_reference(
    block: &[bytes::Bytes],
    chain_id: &str,
    account_numbers: &[u64],
) -> anyhow::Result<Duration> {
    let params = deai_auth::AuthParams::default();
    let items: Vec<([u8; 33], Vec<u8>, Vec<u8>)> = block
        .iter()
        .zip(account_numbers)
        .map(|(bytes, &number)| {
            let tx = crate::tx::decode(bytes, &params)?;
            let s = &tx.signers[0];
            Ok((
                s.pub_key,
                tx.sign_doc_bytes(chain_id, number),
                s.signature.clone(),
            ))
        })
        .collect::<Result<_, crate::TxError>>()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(VERIFY_THREADS)
        .build()
        .context("building the verification threads")?;
    // No key cache: the reference parses every key, as a node seeing these
    // signers for the first time would.
    let no_cache = crate::ante::PubKeyCache::new(0);
    let t = Instant::now();
    let all_valid = pool.install(|| {
        items
            .par_iter()
            .all(|(key, doc, sig)| crate::ante::verify_secp256k1_with(&no_cache, key, doc, sig))
    });
    let took = t.elapsed();
    if !all_valid {
        bail!("a benchmark signature does not verify");
    }
    Ok(took)
}

/// Runs the transfer benchmark in a temporary data directory: a block of
/// `txs` signed transfers from `senders` accounts, on a state that also
/// holds `state_accounts` other funded accounts.
pub fn transfers(config: TransferConfig) -> anyhow::Result<TransferReport> {
    let TransferConfig {
        txs,
        senders,
        state_accounts,
    } = config;
    if senders == 0 || txs == 0 {
        bail!("--txs and --senders must be positive");
    }
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let mut app = App::open(dir.path())?;
    let chain_id = "deai-bench";
    let keys: Vec<Key> = (0..senders)
        .into_par_iter()
        .map(|i| Key::from_label(&format!("bench-{i}")))
        .collect();
    let mut state = AppState::default();
    for k in &keys {
        state.add_account(k.address(), &[Coin::new(1_000_000_000_000, BASE_DENOM)])?;
    }
    let genesis = serde_json::to_vec(&state)?;
    app.init_chain(chain_id, 1, &genesis)?;
    app.finalize_block(&crate::BlockInfo::at(1), &[])?;
    app.commit()?;

    let t = Instant::now();
    if state_accounts > 0 {
        eprintln!("writing {state_accounts} funded accounts into state...");
    }
    let last = add_state_accounts(&mut app, state_accounts, 1)?;
    let build_state = t.elapsed();

    eprintln!("signing {txs} transfers from {senders} accounts...");
    let gas_limit = 100_000;
    let fee = Coin::new(1_000, BASE_DENOM);
    // Genesis numbers the senders' accounts in order, from 0.
    let account_numbers: Vec<u64> = (0..txs).map(|n| (n % senders) as u64).collect();
    let block: Vec<bytes::Bytes> = (0..txs)
        .into_par_iter()
        .map(|n| {
            // Round-robin over senders so sequences rise in block order.
            let (i, seq) = (n % senders, n / senders);
            let from = &keys[i];
            let to = keys[(i + 1) % senders].address();
            let p = TxParams {
                chain_id: chain_id.to_string(),
                account_number: i as u64,
                sequence: seq as u64,
                fee: Some(fee.clone()),
                gas_limit,
                memo: String::new(),
            };
            let msg = msg_send(&from.address(), &to, &[Coin::new(1, BASE_DENOM)]);
            bytes::Bytes::from(sign_tx(from, vec![msg], &p))
        })
        .collect();

    let (verify, cpu_verify) = with_cpu(|| verify_reference(&block, chain_id, &account_numbers));
    let verify = verify?;

    let t = Instant::now();
    for (i, tx) in block.iter().enumerate() {
        let r = app.check_tx(tx);
        if r.code != 0 {
            bail!("CheckTx rejected tx {i}: {}", r.log);
        }
    }
    let check_tx = t.elapsed();

    let height = last + 1;
    // First as a node whose CheckTx never saw these txs runs the block
    // (every signature verified); FinalizeBlock may run again for the same
    // height, and this result is discarded. Then as this node runs it,
    // taking the signatures its CheckTx verified as verified.
    let seen = app.set_aside_verified_signatures();
    let t = Instant::now();
    app.finalize_block(&crate::BlockInfo::at(height), &block)?;
    let finalize_unseen = t.elapsed();
    app.restore_verified_signatures(seen);
    let t = Instant::now();
    let (out, cpu_finalize) =
        with_cpu(|| app.finalize_block(&crate::BlockInfo::at(height), &block));
    let out = out?;
    let finalize = t.elapsed();
    let t = Instant::now();
    let (committed, cpu_commit) = with_cpu(|| app.commit());
    committed?;
    let commit = t.elapsed();
    if let Some((i, r)) = out.tx_results.iter().enumerate().find(|(_, r)| r.code != 0) {
        bail!("tx {i} failed in FinalizeBlock: {}", r.log);
    }
    Ok(TransferReport {
        config,
        verify_threads: VERIFY_THREADS,
        verify,
        build_state,
        check_tx,
        finalize,
        finalize_unseen,
        commit,
        cpu: match (cpu_verify, cpu_finalize, cpu_commit) {
            (Some(verify), Some(finalize), Some(commit)) => Some(PhaseCpu {
                verify,
                finalize,
                commit,
            }),
            _ => None,
        },
    })
}

/// One row of the queue-history benchmark.
#[derive(Debug, Clone)]
pub struct QueueHistoryRow {
    /// Queue entries written and then used up before the measurement.
    pub used_up: usize,
    /// Empty blocks it took the real end blocks to drain them.
    pub drain_blocks: u64,
    /// Mean FinalizeBlock + Commit time of an empty block afterwards.
    pub empty_block: Duration,
}

/// `deaid bench queues`: the cost of an empty block after `n` queue entries
/// have been used up, for each `n` in `sizes`, in one run.
///
/// The store keeps a deletion marker for every deleted key, so a block hook
/// that scanned its queue from the first key would slow down forever as
/// entries are used up. For each `n` this writes `n` compute settlements
/// and `n` governance deposit-period ends, all due at the next block and
/// naming no job or proposal (so settling them is skipping them), lets the
/// real end blocks take them, and then times `blocks` empty blocks.
pub fn queue_history(sizes: &[usize], blocks: u64) -> anyhow::Result<Vec<QueueHistoryRow>> {
    if blocks == 0 {
        bail!("--blocks must be positive");
    }
    sizes
        .iter()
        .map(|&n| queue_history_one(n, blocks))
        .collect()
}

fn queue_history_one(n: usize, blocks: u64) -> anyhow::Result<QueueHistoryRow> {
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let mut app = App::open(dir.path())?;
    app.init_chain("deai-bench", 1, b"")?;
    app.finalize_block(&crate::BlockInfo::at(1), &[])?;
    app.commit()?;

    // Height 2: the queues filled directly, as if n jobs and n proposals had
    // been scheduled to end at height 3 (ids past any real one).
    let mut fill = deai_types::Overlay::new(app.storage().latest_snapshot());
    for i in 0..n as u64 {
        let id = 1_000_000_000 + i;
        deai_types::StateWrite::put_raw(
            &mut fill,
            deai_compute_module::state_key::settlement(3, id),
            id.to_be_bytes().to_vec(),
        )?;
        deai_types::StateWrite::put_raw(
            &mut fill,
            deai_gov::state_key::deposit_queue(3, id),
            Vec::new(),
        )?;
    }
    let prepared = app.storage().prepare(2, &fill.into_changes())?;
    app.storage().commit(prepared)?;

    // The real end blocks take them, a bounded number per block.
    let mut height = 3;
    let mut drain_blocks = 0;
    let queues = [
        deai_compute_module::state_key::settlement_prefix(),
        deai_gov::state_key::deposit_queue_prefix(),
    ];
    loop {
        app.finalize_block(&crate::BlockInfo::at(height), &[])?;
        app.commit()?;
        height += 1;
        drain_blocks += 1;
        // Checking walks the markers, so only now and then.
        if drain_blocks % 50 == 1 {
            let snapshot = app.storage().latest_snapshot();
            let mut left = 0;
            for q in &queues {
                left += snapshot.prefix(q, None, 1)?.len();
            }
            if left == 0 {
                break;
            }
        }
        if drain_blocks > 10_000_000 {
            bail!("the queues did not drain");
        }
    }

    let t = Instant::now();
    for _ in 0..blocks {
        app.finalize_block(&crate::BlockInfo::at(height), &[])?;
        app.commit()?;
        height += 1;
    }
    let empty_block = t.elapsed() / u32::try_from(blocks).unwrap_or(u32::MAX);
    Ok(QueueHistoryRow {
        used_up: n,
        drain_blocks,
        empty_block,
    })
}

/// What the state-sync benchmark measured.
#[derive(Debug, Clone)]
pub struct StateSyncReport {
    /// Funded accounts in the state.
    pub accounts: usize,
    /// Chunks of the snapshot.
    pub chunks: u32,
    /// Bytes of all chunks (what a joining node downloads, before p2p framing).
    pub bytes: u64,
    /// Time to write the snapshot.
    pub take: Duration,
    /// Time to apply every chunk on an empty node, root check and commit included.
    pub restore: Duration,
}

/// Snapshots a state of `accounts` funded accounts and restores it on an
/// empty node, both on real on-disk stores; checks the restored root.
pub fn statesync(accounts: usize) -> anyhow::Result<StateSyncReport> {
    use crate::statesync::{Applied, Offer, SnapshotStore};
    if accounts == 0 {
        bail!("--accounts must be positive");
    }
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let mut app = App::open(&dir.path().join("source"))?;
    eprintln!("building a state of {accounts} accounts...");
    let mut state = AppState::default();
    for i in 0..accounts {
        let addr = deai_types::Address::from_slice(&(i as u64).to_be_bytes().repeat(3)[..20])?;
        state.add_account(addr, &[Coin::new(1_000_000, BASE_DENOM)])?;
    }
    app.init_chain("deai-bench", 1, &serde_json::to_vec(&state)?)?;
    app.finalize_block(&crate::BlockInfo::at(1), &[])?;
    app.commit()?;
    let root = app.last_app_hash()?;

    let store = SnapshotStore::new(dir.path().join("snapshots"), 0, 1)?;
    let start = Instant::now();
    let info = store.take(app.storage(), 1)?;
    let take = start.elapsed();

    let mut fresh = App::open(&dir.path().join("restored"))?;
    let mut bytes = 0u64;
    let start = Instant::now();
    if fresh.offer_snapshot(info.clone(), &root) != Offer::Accept {
        bail!("the snapshot was not accepted");
    }
    let mut last = Applied::Abort;
    for i in 0..info.chunks {
        let chunk = store.load_chunk(info.height, info.format, i);
        bytes += chunk.len() as u64;
        last = fresh.apply_snapshot_chunk(i, &chunk)?;
    }
    let restore = start.elapsed();
    if last != Applied::Accept(Some(1)) || fresh.last_app_hash()? != root {
        bail!("the restored state does not have the source's root ({last:?})");
    }
    Ok(StateSyncReport {
        accounts,
        chunks: info.chunks,
        bytes,
        take,
        restore,
    })
}
