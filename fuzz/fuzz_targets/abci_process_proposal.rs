//! PrepareProposal and ProcessProposal on a real app. Neither may panic,
//! and a proposal this app prepares from any txs must be one it accepts:
//! otherwise an honest proposer's block is refused and the round is lost.

#![no_main]

use std::sync::{Mutex, OnceLock};

use deai_fuzz::{Chain, Sequences};
use libfuzzer_sys::fuzz_target;

/// CometBFT's default block size.
const MAX_TX_BYTES: u64 = 4_194_304;

// Both handlers take `&self`: one chain serves every run unchanged.
static CHAIN: OnceLock<Mutex<(Chain, Sequences)>> = OnceLock::new();

fuzz_target!(
    init: deai_fuzz::write_seeds_if_asked("abci_process_proposal"),
    |data: &[u8]| {
        let fixture = CHAIN.get_or_init(|| {
            let chain = Chain::new();
            let seqs = Sequences::committed(&chain);
            Mutex::new((chain, seqs))
        });
        let guard = fixture.lock().unwrap_or_else(|e| e.into_inner());
        let (chain, seqs) = &*guard;
        let txs = seqs.clone().block(data);
        let _ = chain.app.process_proposal(&txs);
        let prepared = chain.app.prepare_proposal(&txs, MAX_TX_BYTES);
        assert!(
            chain.app.process_proposal(&prepared),
            "the app refuses a proposal it prepared itself"
        );
    }
);
