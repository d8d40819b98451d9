//! The bank module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    module::{decode_any, genesis_section, shown_type_url},
    BlockHooks, DecodeCtx, GenesisHandler, Module, ModuleMsg, MsgError, MsgHandler, QueryCtx,
    QueryError, QueryHandler, StateRead, StateWrite,
};

use crate::{
    msg::{update_params, MultiSend, Send},
    MSG_MULTI_SEND_TYPE_URL, MSG_SEND_TYPE_URL, MSG_UPDATE_PARAMS_TYPE_URL,
};

/// The bank module: balances, supply, transfers and its params message. It has no block hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct BankModule;

impl BlockHooks for BankModule {}

impl QueryHandler for BankModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(&ctx.state, method, data)
    }
}

impl MsgHandler for BankModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[
            MSG_SEND_TYPE_URL,
            MSG_MULTI_SEND_TYPE_URL,
            MSG_UPDATE_PARAMS_TYPE_URL,
        ]
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        Ok(match any.type_url.as_str() {
            MSG_SEND_TYPE_URL => Box::new(Send::from_proto(&decode_any(any)?)?),
            MSG_MULTI_SEND_TYPE_URL => Box::new(MultiSend::from_proto(&decode_any(any)?)?),
            MSG_UPDATE_PARAMS_TYPE_URL => Box::new(update_params(decode_any(any)?)?),
            other => return Err(MsgError::UnknownMessage(shown_type_url(other))),
        })
    }
}

impl GenesisHandler for BankModule {
    fn genesis_key(&self) -> Option<&'static str> {
        Some(crate::MODULE_NAME)
    }

    fn validate_genesis(&self, section: &serde_json::Value) -> Result<(), String> {
        genesis_section::<crate::BankGenesis>(section)?
            .validate()
            .map_err(|e| e.to_string())
    }

    fn init_genesis(
        &self,
        mut state: &mut dyn StateWrite,
        section: &serde_json::Value,
    ) -> Result<(), String> {
        genesis_section::<crate::BankGenesis>(section)?
            .init(&mut state)
            .map_err(|e| e.to_string())
    }

    /// Every denom's supply is the sum of its balances.
    fn check_state(&self, state: &dyn StateRead) -> Result<(), String> {
        crate::BankRead::check_supply_invariant(state)
    }
}

impl Module for BankModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }
}
