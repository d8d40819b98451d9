//! The bank module as the app composes it (see `deai_types::module`).

use deai_types::{BlockHooks, Module, QueryCtx, QueryError, QueryHandler};

/// The bank module: balances, supply and transfers. It has no block hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct BankModule;

impl BlockHooks for BankModule {}

impl QueryHandler for BankModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(&ctx.state, method, data)
    }
}

impl Module for BankModule {
    fn name(&self) -> &'static str {
        "bank"
    }
}
