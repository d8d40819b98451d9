//! CheckTx (and the Simulate query beside it) on a real app: a list of txs,
//! raw or signed by the harness, goes through the mempool checks one by one.
//! No tx may panic or stop the app.

#![no_main]

use std::sync::Mutex;

use deai_fuzz::{split, Chain, Sequences};
use libfuzzer_sys::fuzz_target;

static CHAIN: Mutex<Option<Chain>> = Mutex::new(None);

fuzz_target!(
    init: deai_fuzz::write_seeds_if_asked("abci_check_tx"),
    |data: &[u8]| {
        let mut guard = CHAIN.lock().unwrap_or_else(|e| e.into_inner());
        let chain = guard.get_or_insert_with(Chain::new);
        // Sequences as the mempool view sees them: committed, plus one per
        // tx it accepted in this run.
        let mut seqs = Sequences::committed(chain);
        let mut accepted = false;
        for chunk in split(data) {
            let (tx, signer) = seqs.tx(chunk);
            let _ = chain.app.simulate(&tx);
            if chain.app.check_tx(&tx).code == 0 {
                accepted = true;
                if let Some(s) = signer {
                    seqs.advance(s);
                }
            }
        }
        // An accepted tx stays in the mempool view; an empty block resets
        // it, so every input starts from the same view.
        if accepted {
            let h = chain.next_height();
            chain.app.finalize_block(&deai_app::BlockInfo::at(h), &[]).expect("an empty block never fails");
            chain.app.commit().expect("committing an empty block");
        }
    }
);
