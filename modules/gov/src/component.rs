//! The governance module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    Address, BlockCtx, BlockHooks, BlockHost, Event, HookError, Module, QueryCtx, QueryError,
    QueryHandler, StateRead, StateWrite,
};

use crate::{GovError, GovHost};

/// The governance module: proposals, deposits, votes and their execution.
#[derive(Debug, Clone, Copy, Default)]
pub struct GovModule;

/// [`GovHost`] over the app's [`BlockHost`].
struct Host<'a>(&'a dyn BlockHost);

impl<'a, S: StateWrite> GovHost<S> for Host<'a> {
    type History = Box<dyn StateRead + 'a>;

    fn history(&self, height: u64) -> Result<Self::History, GovError> {
        self.0
            .history(height)
            .map_err(|e| GovError::HistoryUnavailable(height, e))
    }

    fn non_voting(&self) -> Vec<Address> {
        self.0.non_voting()
    }

    fn execute(&self, state: &mut S, height: u64, messages: &[Any]) -> Result<Vec<Event>, String> {
        self.0.execute_as_governance(state, height, messages)
    }
}

impl BlockHooks for GovModule {
    /// Expires lapsed deposit periods, tallies ended votes and runs passed
    /// proposals' messages (see [`crate::end_block`]).
    fn end_block(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::end_block(&mut state, ctx.height(), &Host(ctx.host))
            .map_err(|e| HookError(format!("governance end block: {e}")))
    }
}

impl QueryHandler for GovModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        let history = |h: u64| (ctx.history)(h).map_err(|e| GovError::HistoryUnavailable(h, e));
        crate::query::query(&ctx.state, method, data, &history, ctx.non_voting)
    }
}

impl Module for GovModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }
}
