//! The rounds module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    module::{decode_any, shown_type_url},
    BlockCtx, BlockHooks, DecodeCtx, Event, GenesisHandler, HookError, Module, ModuleAccount,
    ModuleMsg, MsgError, MsgHandler, QueryCtx, QueryError, QueryHandler, StateWrite,
};

use crate::{
    msg::{JoinRound, OpenRound, RevealSeeds, RoundsMsg, SubmitUpdate},
    Providers, MSG_JOIN_ROUND_TYPE_URL, MSG_OPEN_ROUND_TYPE_URL, MSG_REVEAL_SEEDS_TYPE_URL,
    MSG_SUBMIT_UPDATE_TYPE_URL,
};

/// The rounds module, given the app's view of compute providers and models.
#[derive(Clone, Copy)]
pub struct RoundsModule {
    providers: &'static dyn Providers,
}

impl RoundsModule {
    /// The module reading providers and models through `providers`.
    pub const fn new(providers: &'static dyn Providers) -> Self {
        RoundsModule { providers }
    }
}

impl std::fmt::Debug for RoundsModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoundsModule")
    }
}

impl BlockHooks for RoundsModule {
    /// Moves on the rounds whose phase ends at this height.
    fn end_block(
        &self,
        state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        let b = crate::block::EndBlock {
            height: ctx.height(),
            prev_app_hash: ctx.prev_app_hash,
            providers: self.providers,
        };
        crate::block::end_block(state, b).map_err(|e| HookError(format!("rounds end block: {e}")))
    }
}

impl QueryHandler for RoundsModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(ctx.state, method, data)
    }
}

impl MsgHandler for RoundsModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[
            MSG_OPEN_ROUND_TYPE_URL,
            MSG_JOIN_ROUND_TYPE_URL,
            MSG_SUBMIT_UPDATE_TYPE_URL,
            MSG_REVEAL_SEEDS_TYPE_URL,
        ]
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        let p = self.providers;
        let msg = match any.type_url.as_str() {
            MSG_OPEN_ROUND_TYPE_URL => {
                OpenRound::from_proto(decode_any(any)?, p).map(|m| RoundsMsg::Open(Box::new(m)))
            }
            MSG_JOIN_ROUND_TYPE_URL => {
                JoinRound::from_proto(decode_any(any)?, p).map(RoundsMsg::Join)
            }
            MSG_SUBMIT_UPDATE_TYPE_URL => {
                SubmitUpdate::from_proto(decode_any(any)?, p).map(RoundsMsg::Submit)
            }
            MSG_REVEAL_SEEDS_TYPE_URL => {
                RevealSeeds::from_proto(decode_any(any)?).map(RoundsMsg::Reveal)
            }
            other => return Err(MsgError::UnknownMessage(shown_type_url(other))),
        };
        Ok(Box::new(msg?))
    }
}

/// No genesis section: rounds start empty; an export copies `rounds/` as it is.
impl GenesisHandler for RoundsModule {}

impl Module for RoundsModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// The rounds account: open rounds' reward pools.
    fn module_accounts(&self) -> &'static [ModuleAccount] {
        &[ModuleAccount {
            name: crate::MODULE_NAME,
            voting: false,
        }]
    }
}
