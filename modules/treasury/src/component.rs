//! The treasury module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_bank::BankWrite;
use deai_types::{
    coin::ppm_share,
    module::{decode_any, shown_type_url, FEE_COLLECTOR},
    Address, BlockCtx, BlockHooks, Coin, DecodeCtx, Event, GenesisHandler, HookError, Module,
    ModuleMsg, MsgError, MsgHandler, QueryCtx, QueryError, QueryHandler, StateWrite,
};

use crate::{
    msg::TreasuryMsg, TreasuryRead, MSG_CANCEL_STREAM_TYPE_URL, MSG_CREATE_STREAM_TYPE_URL,
    MSG_FUND_TYPE_URL, MSG_SPEND_TYPE_URL, MSG_UPDATE_PARAMS_TYPE_URL,
};

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

impl MsgHandler for TreasuryModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[
            MSG_FUND_TYPE_URL,
            MSG_SPEND_TYPE_URL,
            MSG_CREATE_STREAM_TYPE_URL,
            MSG_CANCEL_STREAM_TYPE_URL,
            MSG_UPDATE_PARAMS_TYPE_URL,
        ]
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        let msg = match any.type_url.as_str() {
            MSG_FUND_TYPE_URL => TreasuryMsg::fund(&decode_any(any)?),
            MSG_SPEND_TYPE_URL => TreasuryMsg::spend(&decode_any(any)?),
            MSG_CREATE_STREAM_TYPE_URL => TreasuryMsg::create_stream(&decode_any(any)?),
            MSG_CANCEL_STREAM_TYPE_URL => TreasuryMsg::cancel_stream(&decode_any(any)?),
            MSG_UPDATE_PARAMS_TYPE_URL => TreasuryMsg::update_params(&decode_any(any)?),
            other => return Err(MsgError::UnknownMessage(shown_type_url(other))),
        };
        Ok(Box::new(msg?))
    }
}

impl GenesisHandler for TreasuryModule {
    deai_types::typed_genesis_section!(crate::MODULE_NAME, crate::TreasuryGenesis);
}

impl Module for TreasuryModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// The treasury: the DAO's funds.
    fn module_accounts(&self) -> &'static [deai_types::ModuleAccount] {
        &[deai_types::ModuleAccount {
            name: crate::MODULE_NAME,
            voting: false,
        }]
    }
}
