//! The treasury module as the app composes it (see `deai_types::module`).

use deai_bank::BankWrite;
use deai_types::{
    coin::ppm_share, module::FEE_COLLECTOR, Address, BlockCtx, BlockHooks, Coin, Event, HookError,
    Module, QueryCtx, QueryError, QueryHandler, StateWrite,
};

use crate::TreasuryRead;

/// The treasury module: the DAO's funds, spends and streams.
#[derive(Debug, Clone, Copy, Default)]
pub struct TreasuryModule;

impl BlockHooks for TreasuryModule {
    /// First moves the treasury's share of the block's fees from the fee
    /// collector to the treasury, then pays streams (after the fee share, so
    /// a treasury refilled in this block already counts).
    fn end_block(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        let share = state
            .treasury_params()
            .map_err(|e| HookError(e.to_string()))?
            .fee_share_ppm;
        let to_treasury: Vec<Coin> = ctx
            .fees
            .iter()
            .map(|(denom, amount)| Coin::new(ppm_share(*amount, share), denom.clone()))
            .filter(|c| c.amount > 0)
            .collect();
        let mut events = Vec::new();
        if !to_treasury.is_empty() {
            let collector = Address::module(FEE_COLLECTOR);
            events.extend(
                state
                    .send(&collector, &crate::address(), &to_treasury)
                    .map_err(|e| HookError(format!("fee share to the treasury: {e}")))?,
            );
            events.push(crate::event::fund(&collector, &to_treasury));
        }
        events.extend(
            crate::end_block(&mut state, ctx.height())
                .map_err(|e| HookError(format!("treasury end block: {e}")))?,
        );
        Ok(events)
    }
}

impl QueryHandler for TreasuryModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(&ctx.state, method, data, ctx.height)
    }
}

impl Module for TreasuryModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }
}
