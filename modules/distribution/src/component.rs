//! The distribution module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    module::{decode_any, shown_type_url},
    BlockCtx, BlockHooks, DecodeCtx, Event, GenesisHandler, HookError, Module, ModuleMsg, MsgError,
    MsgHandler, QueryCtx, QueryError, QueryHandler, StateRead, StateWrite,
};

use crate::{
    msg::{update_params, DistributionMsg},
    MSG_SET_WITHDRAW_ADDRESS_TYPE_URL, MSG_UPDATE_PARAMS_TYPE_URL,
    MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL, MSG_WITHDRAW_VALIDATOR_COMMISSION_TYPE_URL,
};

/// The distribution module: block rewards to validators and delegators.
#[derive(Debug, Clone, Copy, Default)]
pub struct DistributionModule;

impl BlockHooks for DistributionModule {
    /// Allocates the rewards collected since the last block.
    fn begin_block(
        &self,
        state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::allocate::begin_block(state, ctx)
            .map_err(|e| HookError(format!("distribution begin block: {e}")))
    }
}

impl QueryHandler for DistributionModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(ctx.state, method, data)
    }
}

impl MsgHandler for DistributionModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[
            MSG_SET_WITHDRAW_ADDRESS_TYPE_URL,
            MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL,
            MSG_WITHDRAW_VALIDATOR_COMMISSION_TYPE_URL,
            MSG_UPDATE_PARAMS_TYPE_URL,
        ]
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        let msg = match any.type_url.as_str() {
            MSG_SET_WITHDRAW_ADDRESS_TYPE_URL => {
                DistributionMsg::set_withdraw_address(&decode_any(any)?)
            }
            MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL => {
                DistributionMsg::withdraw_reward(&decode_any(any)?)
            }
            MSG_WITHDRAW_VALIDATOR_COMMISSION_TYPE_URL => {
                DistributionMsg::withdraw_commission(&decode_any(any)?)
            }
            MSG_UPDATE_PARAMS_TYPE_URL => return Ok(Box::new(update_params(&decode_any(any)?)?)),
            other => return Err(MsgError::UnknownMessage(shown_type_url(other))),
        };
        Ok(Box::new(msg?))
    }
}

impl GenesisHandler for DistributionModule {
    deai_types::typed_genesis_section!(crate::MODULE_NAME, crate::DistributionGenesis);

    /// The module account holds exactly what the books owe.
    fn check_state(&self, state: &dyn StateRead) -> Result<(), String> {
        crate::invariants::check_books(state).map_err(|e| e.to_string())
    }
}

impl Module for DistributionModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// The account holding rewards not yet withdrawn (they do not vote).
    fn module_accounts(&self) -> &'static [deai_types::ModuleAccount] {
        &[deai_types::ModuleAccount {
            name: crate::MODULE_NAME,
            voting: false,
        }]
    }
}
