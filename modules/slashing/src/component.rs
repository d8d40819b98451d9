//! The slashing module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    module::{decode_any, shown_type_url},
    BlockCtx, BlockHooks, DecodeCtx, Event, GenesisHandler, HookError, Module, ModuleMsg, MsgError,
    MsgHandler, QueryCtx, QueryError, QueryHandler, StateWrite,
};

use deai_staking::{Notify, StakingHooks};

use crate::{msg, MSG_UNJAIL_TYPE_URL, MSG_UPDATE_PARAMS_TYPE_URL};

/// The slashing module: liveness, double-sign evidence, jail and unjail.
/// Its slashes notify `staking_hooks` (the same listener staking has).
#[derive(Clone, Copy)]
pub struct SlashingModule {
    /// The listener to stake changes its slashes make.
    pub staking_hooks: &'static dyn StakingHooks,
}

impl SlashingModule {
    /// The module, notifying `staking_hooks` of its slashes.
    pub const fn new(staking_hooks: &'static dyn StakingHooks) -> Self {
        SlashingModule { staking_hooks }
    }
}

impl BlockHooks for SlashingModule {
    /// Double-sign evidence first, then the last commit's votes.
    fn begin_block(
        &self,
        state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        let mut n = Notify::new(self.staking_hooks, ctx.height());
        let mut events = crate::begin_block::begin_block(state, ctx, &mut n)
            .map_err(|e| HookError(format!("slashing begin block: {e}")))?;
        events.extend(n.events);
        Ok(events)
    }
}

impl QueryHandler for SlashingModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(ctx.state, method, data)
    }
}

impl MsgHandler for SlashingModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[MSG_UNJAIL_TYPE_URL, MSG_UPDATE_PARAMS_TYPE_URL]
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        Ok(match any.type_url.as_str() {
            MSG_UNJAIL_TYPE_URL => Box::new(msg::Unjail::from_proto(&decode_any(any)?)?),
            MSG_UPDATE_PARAMS_TYPE_URL => Box::new(msg::update_params(&decode_any(any)?)?),
            other => return Err(MsgError::UnknownMessage(shown_type_url(other))),
        })
    }
}

impl GenesisHandler for SlashingModule {
    deai_types::typed_genesis_section!(crate::MODULE_NAME, crate::SlashingGenesis);
}

impl Module for SlashingModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }
}
