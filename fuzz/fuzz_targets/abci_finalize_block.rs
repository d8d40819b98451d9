//! FinalizeBlock and Commit on a real app, one block of txs per input,
//! blocks following each other. A block must never fail (an error halts
//! every validator at this height), and executing the same block twice must
//! give the same app hash and results (a difference forks the chain).

#![no_main]

use std::sync::Mutex;

use deai_fuzz::{Chain, Sequences};
use libfuzzer_sys::fuzz_target;

/// Blocks after which a fresh chain replaces the old one: bounds the disk a
/// long run uses, and returns to genesis state regularly so state a run
/// wandered into (drained accounts, say) does not hide the paths seeds reach.
const BLOCKS_PER_CHAIN: u64 = 2_000;

static CHAIN: Mutex<Option<Chain>> = Mutex::new(None);

fuzz_target!(
    init: deai_fuzz::write_seeds_if_asked("abci_finalize_block"),
    |data: &[u8]| {
        let mut guard = CHAIN.lock().unwrap_or_else(|e| e.into_inner());
        if guard
            .as_ref()
            .is_some_and(|c| c.app.last_height() > BLOCKS_PER_CHAIN)
        {
            *guard = None;
        }
        let chain = guard.get_or_insert_with(Chain::new);
        let txs = Sequences::committed(chain).block(data);
        let height = chain.next_height();
        let first = match chain.app.finalize_block(&deai_app::BlockInfo::at(height), &txs) {
            Ok(o) => o,
            Err(e) => panic!("FinalizeBlock failed at height {height}: {e:#}"),
        };
        // Nothing is written before Commit, so the same block can run again.
        if std::env::var_os("DEAI_FUZZ_DEBUG").is_some() {
            // Replaying one input: show what each tx did.
            for (i, r) in first.tx_results.iter().enumerate() {
                eprintln!("height {height} tx {i}: code {} gas {} {}", r.code, r.gas_used, r.log);
            }
        }
        let second = chain
            .app
            .finalize_block(&deai_app::BlockInfo::at(height), &txs)
            .expect("FinalizeBlock failed on its second run");
        assert_eq!(first.app_hash, second.app_hash, "the same block gave two app hashes");
        assert_eq!(first.tx_results, second.tx_results, "the same block gave two tx results");
        assert_eq!(first.events, second.events, "the same block gave two lists of block events");
        if let Err(e) = chain.app.commit() {
            panic!("Commit failed at height {height}: {e:#}");
        }
    }
);
