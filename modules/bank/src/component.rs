//! The bank module as the app composes it (see `deai_types::module`).

use deai_types::{BlockHooks, Module};

/// The bank module: balances, supply and transfers. It has no block hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct BankModule;

impl BlockHooks for BankModule {}

impl Module for BankModule {
    fn name(&self) -> &'static str {
        "bank"
    }
}
