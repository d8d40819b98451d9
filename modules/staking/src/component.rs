//! The staking module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    module::{decode_any, shown_type_url},
    BlockCtx, BlockHooks, DecodeCtx, Event, GenesisHandler, HookError, Module, ModuleMsg, MsgError,
    MsgHandler, QueryCtx, QueryError, QueryHandler, StateRead, StateWrite, ValidatorUpdate,
};

use crate::{
    end_block,
    hooks::{Notify, StakingHooks},
    msg::{update_params, HookedMsg, StakingMsg},
    MSG_BEGIN_REDELEGATE_TYPE_URL, MSG_CANCEL_UNBONDING_TYPE_URL, MSG_CREATE_VALIDATOR_TYPE_URL,
    MSG_DELEGATE_TYPE_URL, MSG_EDIT_VALIDATOR_TYPE_URL, MSG_UNDELEGATE_TYPE_URL,
    MSG_UPDATE_PARAMS_TYPE_URL,
};

/// The staking module: validators, delegations, unbonding and the
/// validator set CometBFT runs; `hooks` hears of every stake change (the
/// app passes distribution's).
#[derive(Clone, Copy)]
pub struct StakingModule {
    /// The listener to stake changes.
    pub hooks: &'static dyn StakingHooks,
}

impl StakingModule {
    /// The module, notifying `hooks` of stake changes.
    pub const fn new(hooks: &'static dyn StakingHooks) -> Self {
        StakingModule { hooks }
    }
}

fn hook(e: crate::StakingError) -> HookError {
    HookError(format!("staking end block: {e}"))
}

impl BlockHooks for StakingModule {
    /// Records the block's header and the bonded set for `HistoricalInfo`.
    fn begin_block(
        &self,
        state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::historical::track(state, ctx)
            .map_err(|e| HookError(format!("staking begin block: {e}")))?;
        Ok(Vec::new())
    }

    /// Returns matured unbondings, drops matured redelegations, and lets
    /// validators whose unbonding ended become unbonded.
    fn end_block(
        &self,
        state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        let now = ctx.info.time;
        let mut events = end_block::complete_unbondings(state, now).map_err(hook)?;
        events.extend(end_block::complete_redelegations(state, now).map_err(hook)?);
        let mut n = Notify::new(self.hooks, ctx.height());
        end_block::complete_validator_unbondings(state, now, &mut n).map_err(hook)?;
        events.extend(n.events);
        Ok(events)
    }

    /// The set's changes since the last block.
    fn validator_updates(
        &self,
        state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<(Vec<ValidatorUpdate>, Vec<Event>), HookError> {
        end_block::apply_validator_set_keeping(
            state,
            ctx.height(),
            ctx.info.time,
            !ctx.host.has_fixed_validators(),
        )
        .map_err(hook)
    }
}

impl QueryHandler for StakingModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(ctx.state, method, data)
    }
}

impl MsgHandler for StakingModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[
            MSG_CREATE_VALIDATOR_TYPE_URL,
            MSG_EDIT_VALIDATOR_TYPE_URL,
            MSG_DELEGATE_TYPE_URL,
            MSG_UNDELEGATE_TYPE_URL,
            MSG_BEGIN_REDELEGATE_TYPE_URL,
            MSG_CANCEL_UNBONDING_TYPE_URL,
            MSG_UPDATE_PARAMS_TYPE_URL,
        ]
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        let msg = match any.type_url.as_str() {
            MSG_CREATE_VALIDATOR_TYPE_URL => StakingMsg::create_validator(&decode_any(any)?),
            MSG_EDIT_VALIDATOR_TYPE_URL => StakingMsg::edit_validator(&decode_any(any)?),
            MSG_DELEGATE_TYPE_URL => StakingMsg::delegate(&decode_any(any)?),
            MSG_UNDELEGATE_TYPE_URL => StakingMsg::undelegate(&decode_any(any)?),
            MSG_BEGIN_REDELEGATE_TYPE_URL => StakingMsg::redelegate(&decode_any(any)?),
            MSG_CANCEL_UNBONDING_TYPE_URL => StakingMsg::cancel_unbonding(&decode_any(any)?),
            MSG_UPDATE_PARAMS_TYPE_URL => return Ok(Box::new(update_params(&decode_any(any)?)?)),
            other => return Err(MsgError::UnknownMessage(shown_type_url(other))),
        };
        Ok(Box::new(HookedMsg::new(msg?, self.hooks)))
    }
}

impl GenesisHandler for StakingModule {
    deai_types::typed_genesis_section!(crate::MODULE_NAME, crate::StakingGenesis);

    /// The pools hold exactly the stake: the bonded pool the bonded
    /// validators' tokens, the not-bonded pool the others' and every
    /// unbonding entry's balance.
    fn check_state(&self, state: &dyn StateRead) -> Result<(), String> {
        crate::invariants::check_pools(state).map_err(|e| e.to_string())
    }
}

impl Module for StakingModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// The two pools: their tokens are delegators' stake, which votes.
    fn module_accounts(&self) -> &'static [deai_types::ModuleAccount] {
        &[
            deai_types::ModuleAccount {
                name: crate::BONDED_POOL,
                voting: true,
            },
            deai_types::ModuleAccount {
                name: crate::NOT_BONDED_POOL,
                voting: true,
            },
        ]
    }
}
