//! The module registry: every module the chain runs, listed once, in the
//! order the app calls them.
//!
//! Each module crate exposes a unit struct implementing
//! [`deai_types::Module`]; [`MODULES`] lists them. The app walks the list
//! for every block hook, every query (the first module that knows a query
//! path answers it) and every message (the first module that handles its
//! type URL decodes and executes it, see [`crate::tx::Registry`]), so the
//! order of the list is the order of the work:
//!
//! * begin block (before the block's transactions): compute assigns
//!   providers to waiting jobs; mint mints the block's provision of
//!   inflation into the fee collector (while anything is bonded);
//!   distribution pays the rewards collected
//!   since the last block to the last commit's validators (before
//!   slashing, so a validator slashed now is paid for the commit it
//!   signed, as in the SDK); slashing handles double-sign evidence and
//!   counts the last commit's votes, slashing and jailing validators (so a
//!   jailed validator leaves the set at this block's end);
//! * end block (after the transactions):
//!   1. governance: lapsed deposit periods expire; ended votes are tallied
//!      and passed proposals' messages run (as the governance account, all
//!      or nothing) through the same executor as transactions;
//!   2. compute: jobs whose reveal deadline came are settled (payouts,
//!      rewards, slashes to the treasury), unbondings paid, jails lifted;
//!   3. rounds: private data rounds whose phase ends move on or finish
//!      (unmasking, evaluation, payment; unpaid pools back to the treasury);
//!   4. treasury: its share of the block's fees moves from the fee collector
//!      to the treasury, then streams pay.
//!
//! Why this order: governance runs first so that what a passed proposal
//! changes (parameters, a spend, a stream) holds for the rest of the block's
//! work; compute and rounds settle before the treasury so that slashes and
//! returned reward pools paid to the treasury and the fee share all count
//! before streams pay; rounds reads compute's providers only in messages,
//! so their relative order is free; streams pay
//! last, so a stream created or a treasury refilled in this block already
//! counts; staking ends the block, so that the set it sends CometBFT
//! reflects every stake the block moved. Auth and bank have no hooks; they
//! come first because every other module builds on them.
//!
//! IBC has no block hooks (its host's consensus states come from
//! staking's historical info); its messages run ibc-rs's handlers.
//!
//! Staking and slashing tell distribution of every stake change they make
//! (`deai_distribution::DistributionHooks`, given to them here), so that
//! rewards are settled on the stake that earned them.
//!
//! The order is consensus: changing it changes app hashes.

use deai_types::Module;

/// The chain's modules, in the order their hooks run (see the module docs).
/// Adding a module: implement [`Module`] in its crate (hooks, queries and
/// messages) and add one line here.
pub static MODULES: &[&dyn Module] = &[
    &deai_auth::AuthModule,
    &deai_bank::BankModule,
    &deai_gov::GovModule,
    &deai_compute_module::ComputeModule,
    // Its providers and models are compute's, read through the app's glue.
    &deai_rounds::RoundsModule::new(&crate::rounds_glue::ComputeProviders),
    &deai_treasury::TreasuryModule,
    &deai_mint::MintModule,
    &deai_distribution::DistributionModule,
    &deai_staking::StakingModule::new(&deai_distribution::DistributionHooks),
    &deai_slashing::SlashingModule::new(&deai_distribution::DistributionHooks),
    &deai_ibc::IbcModule,
];

/// The `app_state` of a new genesis: every registered module's default
/// section (auth and bank typed, the others as their modules write them),
/// so the tools can show and edit every parameter.
pub fn default_app_state() -> deai_genesis::AppState {
    let mut state = deai_genesis::AppState::default();
    for m in MODULES {
        if let Some(key) = m.genesis_key() {
            if !deai_genesis::TYPED_SECTIONS.contains(&key) {
                state.sections.insert(key.to_string(), m.default_genesis());
            }
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_lists_each_module_once_in_hook_order() {
        let names: Vec<&str> = MODULES.iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            [
                "auth",
                "bank",
                "gov",
                "compute",
                "rounds",
                "treasury",
                "mint",
                "distribution",
                "staking",
                "slashing",
                "ibc"
            ]
        );
    }

    #[test]
    fn a_new_app_state_has_one_valid_section_per_registered_module() {
        let state = default_app_state();
        let json = serde_json::to_value(&state).unwrap();
        let mut fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| *k != deai_genesis::VALIDATORS_KEY)
            .collect();
        fields.sort_unstable();
        let mut keys: Vec<&str> = MODULES.iter().filter_map(|m| m.genesis_key()).collect();
        keys.sort_unstable();
        assert_eq!(fields, keys);
        state.check_sections(MODULES).unwrap();
        // A section no module claims is refused by name.
        let mut typo = state.clone();
        typo.sections.insert("bnak".into(), serde_json::json!({}));
        let e = typo.check_sections(MODULES).unwrap_err().to_string();
        assert!(e.contains("unknown field `bnak`"), "{e}");
    }

    #[test]
    fn every_message_type_url_is_handled_by_the_one_module_that_lists_it() {
        let mut count = 0;
        for owner in MODULES {
            for url in owner.msg_type_urls() {
                count += 1;
                let handlers: Vec<&str> = MODULES
                    .iter()
                    .filter(|m| m.handles_msg(url))
                    .map(|m| m.name())
                    .collect();
                assert_eq!(handlers, [owner.name()], "{url}");
            }
        }
        assert_eq!(
            count,
            3 + 1 + 8 + 12 + 4 + 5 + 1 + 4 + 7 + 2 + 21,
            "auth, bank, gov, compute, rounds, treasury, mint, distribution, staking, slashing, ibc"
        );
    }
}
