//! Genesis parsing: the CometBFT document and the `app_state` CometBFT hands
//! to InitChain. Parsing and validation may refuse anything, never panic;
//! what validates must also initialise state or refuse with an error, and
//! must survive a round trip through JSON unchanged.

#![no_main]

use deai_genesis::{AppState, GenesisDoc};
use deai_types::MemState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: deai_fuzz::write_seeds_if_asked("genesis"),
    |data: &[u8]| {
        if let Ok(doc) = GenesisDoc::from_json(data) {
            let _ = doc.initial_height();
            let json = serde_json::to_vec(&doc).expect("a parsed document serializes");
            let again = GenesisDoc::from_json(&json).expect("a saved document parses again");
            assert_eq!(doc, again, "the document changed in a JSON round trip");
            let _ = doc.app_state.init(&mut MemState::default());
        }
        if let Ok(state) = AppState::from_json(data) {
            let _ = state.init(&mut MemState::default());
        }
        if let Ok(s) = std::str::from_utf8(data) {
            let _ = deai_genesis::validate_chain_id(s);
        }
    }
);
