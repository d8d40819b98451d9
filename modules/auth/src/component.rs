//! The auth module as the app composes it (see `deai_types::module`).

use deai_types::{BlockHooks, Module, QueryCtx, QueryError, QueryHandler};

/// The auth module: accounts, sequences and signing parameters. It has no block hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthModule;

impl BlockHooks for AuthModule {}

impl QueryHandler for AuthModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        let auth = crate::query::QueryCtx {
            gas: ctx.gas,
            module_accounts: ctx.module_accounts,
        };
        crate::query::query(&ctx.state, &auth, method, data)
    }
}

impl Module for AuthModule {
    fn name(&self) -> &'static str {
        "auth"
    }
}
