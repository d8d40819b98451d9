//! The mint module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    module::{decode_any, shown_type_url},
    BlockCtx, BlockHooks, DecodeCtx, Event, GenesisHandler, HookError, Module, ModuleMsg, MsgError,
    MsgHandler, QueryCtx, QueryError, QueryHandler, StateRead, StateWrite,
};

use crate::{msg, MintRead, MSG_UPDATE_PARAMS_TYPE_URL};

/// The mint module: inflation toward a bonded goal, minted into the fee collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct MintModule;

impl BlockHooks for MintModule {
    /// The block's provision, before distribution pays the fee collector out.
    fn begin_block(
        &self,
        state: &mut dyn StateWrite,
        _ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::begin_block::begin_block(state)
            .map_err(|e| HookError(format!("mint begin block: {e}")))
    }
}

impl QueryHandler for MintModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(ctx.state, method, data)
    }
}

impl MsgHandler for MintModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[MSG_UPDATE_PARAMS_TYPE_URL]
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        Ok(match any.type_url.as_str() {
            MSG_UPDATE_PARAMS_TYPE_URL => Box::new(msg::update_params(&decode_any(any)?)?),
            other => return Err(MsgError::UnknownMessage(shown_type_url(other))),
        })
    }
}

impl GenesisHandler for MintModule {
    deai_types::typed_genesis_section!(crate::MODULE_NAME, crate::MintGenesis);

    /// The stored parameters are within bounds and the minter decodes.
    fn check_state(&self, state: &dyn StateRead) -> Result<(), String> {
        state
            .mint_params()
            .and_then(|p| p.validate())
            .map_err(|e| e.to_string())?;
        state.minter().map(|_| ()).map_err(|e| e.to_string())
    }
}

impl Module for MintModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }
}
