//! The auth module as the app composes it (see `deai_types::module`).

use deai_types::{BlockHooks, Module};

/// The auth module: accounts, sequences and signing parameters. It has no block hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthModule;

impl BlockHooks for AuthModule {}

impl Module for AuthModule {
    fn name(&self) -> &'static str {
        "auth"
    }
}
