//! Tx decoding: `decode` and `decode_for_simulation` with the default auth
//! parameters must refuse any input with an error, never panic, overflow the
//! stack or allocate without bound.

#![no_main]

use deai_app::tx;
use deai_auth::AuthParams;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: deai_fuzz::write_seeds_if_asked("tx_decode"),
    |data: &[u8]| {
        let params = AuthParams::default();
        let full = tx::decode(data, &params);
        let simulated = tx::decode_for_simulation(data, &params);
        // Simulation only relaxes the signature and fee checks: a tx the
        // mempool would take must also be one a wallet can simulate.
        if let Ok(tx) = &full {
            assert!(simulated.is_ok(), "decode accepts what simulation refuses: {simulated:?}");
            assert_eq!(tx.hash, tx::tx_hash(data));
        }
    }
);
