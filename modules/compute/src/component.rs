//! The compute module as the app composes it (see `deai_types::module`).

use deai_types::{
    BlockHooks, Event, HookError, Module, QueryCtx, QueryError, QueryHandler, StateWrite,
};

use crate::BlockCtx;

/// The compute module: models, providers and verifiable inference jobs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComputeModule;

fn block_ctx(ctx: &deai_types::BlockCtx<'_>) -> BlockCtx {
    BlockCtx {
        height: ctx.height(),
        prev_app_hash: ctx.prev_app_hash.to_vec(),
    }
}

impl BlockHooks for ComputeModule {
    /// Assigns providers to waiting jobs (see [`crate::begin_block`]).
    fn begin_block(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &deai_types::BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::begin_block(&mut state, &block_ctx(ctx))
            .map_err(|e| HookError(format!("compute begin block: {e}")))
    }

    /// Settles jobs whose reveal deadline came, pays unbondings, lifts jails
    /// (see [`crate::end_block`]).
    fn end_block(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &deai_types::BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::end_block(&mut state, &block_ctx(ctx))
            .map_err(|e| HookError(format!("compute end block: {e}")))
    }
}

impl QueryHandler for ComputeModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(&ctx.state, method, data)
    }
}

impl Module for ComputeModule {
    fn name(&self) -> &'static str {
        "compute"
    }
}
