//! Genesis parsing: the CometBFT document and the `app_state` CometBFT hands
//! to InitChain. Parsing and validation may refuse anything, never panic;
//! the tools' check of the module sections and InitChain's agree; what
//! validates must also initialise state or refuse with an error, and must
//! survive a round trip through JSON unchanged.

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
            // The tools read auth and bank typed and check every other
            // section through the registry (`check_sections`), as InitChain
            // does: the two verdicts agree.
            let app_state = serde_json::to_vec(&doc.app_state).expect("app_state serializes");
            let by_tools = doc.app_state.check_sections(MODULES);
            let sections = ModuleSections::from_json(MODULES, &app_state);
            assert_eq!(
                by_tools.is_ok(),
                sections.is_ok(),
                "the tools and InitChain disagree on {:?}",
                String::from_utf8_lossy(&app_state)
            );
            if let Ok(sections) = sections {
                let _ = sections.init(&mut MemState::default());
            }
        }
        if let Ok(sections) = ModuleSections::from_json(MODULES, data) {
            let _ = sections.init(&mut MemState::default());
        }
        if let Ok(s) = std::str::from_utf8(data) {
            let _ = deai_genesis::validate_chain_id(s);
        }
    }
);
