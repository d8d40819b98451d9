//! `deaid bench transfers`: throughput of the real pipeline on a real
//! on-disk store. Builds a block of signed `MsgSend` transactions from many
//! accounts, then measures CheckTx (as the mempool runs it) and
//! FinalizeBlock + Commit (as consensus runs it), in one process and run.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use deai_genesis::AppState;
use deai_types::{Coin, BASE_DENOM};
use rayon::prelude::*;

use crate::{
    txbuilder::{msg_send, sign_tx, Key, TxParams},
    App,
};

/// What the benchmark measured.
#[derive(Debug, Clone)]
pub struct TransferReport {
    /// Transactions in the block.
    pub txs: usize,
    /// Distinct sending accounts.
    pub accounts: usize,
    /// Time spent in CheckTx for all txs.
    pub check_tx: Duration,
    /// Time spent in FinalizeBlock.
    pub finalize: Duration,
    /// Time spent in Commit.
    pub commit: Duration,
}

/// Throughput in whole items per second (integer arithmetic: this crate is
/// on the consensus path, where floats are banned).
pub fn per_second(items: usize, took: Duration) -> u128 {
    (items as u128 * 1_000_000_000) / took.as_nanos().max(1)
}

/// Runs the transfer benchmark in a temporary data directory.
pub fn transfers(txs: usize, accounts: usize) -> anyhow::Result<TransferReport> {
    if accounts == 0 || txs == 0 {
        bail!("--txs and --accounts must be positive");
    }
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let mut app = App::open(dir.path())?;
    let chain_id = "deai-bench";
    let keys: Vec<Key> = (0..accounts)
        .into_par_iter()
        .map(|i| Key::from_label(&format!("bench-{i}")))
        .collect();
    let mut state = AppState::default();
    for k in &keys {
        state.add_account(k.address(), &[Coin::new(1_000_000_000_000, BASE_DENOM)])?;
    }
    let genesis = serde_json::to_vec(&state)?;
    app.init_chain(chain_id, 1, &genesis)?;
    app.finalize_block(1, &[])?;
    app.commit()?;

    eprintln!("signing {txs} transfers from {accounts} accounts...");
    let gas_limit = 100_000;
    let fee = Coin::new(1_000, BASE_DENOM);
    let block: Vec<bytes::Bytes> = (0..txs)
        .into_par_iter()
        .map(|n| {
            // Round-robin over accounts so sequences rise in block order.
            let (i, seq) = (n % accounts, n / accounts);
            let from = &keys[i];
            let to = keys[(i + 1) % accounts].address();
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

    let t = Instant::now();
    for (i, tx) in block.iter().enumerate() {
        let r = app.check_tx(tx);
        if r.code != 0 {
            bail!("CheckTx rejected tx {i}: {}", r.log);
        }
    }
    let check_tx = t.elapsed();

    let t = Instant::now();
    let out = app.finalize_block(2, &block)?;
    let finalize = t.elapsed();
    let t = Instant::now();
    app.commit()?;
    let commit = t.elapsed();
    if let Some((i, r)) = out.tx_results.iter().enumerate().find(|(_, r)| r.code != 0) {
        bail!("tx {i} failed in FinalizeBlock: {}", r.log);
    }
    Ok(TransferReport {
        txs,
        accounts,
        check_tx,
        finalize,
        commit,
    })
}
