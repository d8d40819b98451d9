//! Genesis parsing: the CometBFT document and the `app_state` CometBFT hands
//! to InitChain. Parsing and validation may refuse anything, never panic;
//! what validates must also initialise state or refuse with an error, and
//! must survive a round trip through JSON unchanged.

#![no_main]

use deai_app::modules::MODULES;
use deai_genesis::{GenesisDoc, ModuleSections};
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
            let app_state = serde_json::to_vec(&doc.app_state).expect("app_state serializes");
            let sections = ModuleSections::from_json(MODULES, &app_state)
                .expect("what the tools validate, InitChain validates");
            let _ = sections.init(&mut MemState::default());
        }
        if let Ok(sections) = ModuleSections::from_json(MODULES, data) {
            let _ = sections.init(&mut MemState::default());
        }
        if let Ok(s) = std::str::from_utf8(data) {
            let _ = deai_genesis::validate_chain_id(s);
        }
    }
);
