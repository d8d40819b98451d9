//! The auth module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    module::{decode_any, genesis_section, shown_type_url},
    BlockHooks, DecodeCtx, GenesisHandler, Module, ModuleMsg, MsgError, MsgHandler, QueryCtx,
    QueryError, QueryHandler, StateWrite,
};

use crate::{msg::update_params, MSG_UPDATE_PARAMS_TYPE_URL};

/// The auth module: accounts, sequences and signing parameters, and the
/// message that sets those. It has no block hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthModule;

impl BlockHooks for AuthModule {}

impl QueryHandler for AuthModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        let auth = crate::query::QueryCtx {
            gas: ctx.gas,
            module_accounts: ctx.module_accounts,
        };
        crate::query::query(&ctx.state, &auth, method, data)
    }
}

impl MsgHandler for AuthModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[MSG_UPDATE_PARAMS_TYPE_URL]
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        match any.type_url.as_str() {
            MSG_UPDATE_PARAMS_TYPE_URL => Ok(Box::new(update_params(decode_any(any)?)?)),
            other => Err(MsgError::UnknownMessage(shown_type_url(other))),
        }
    }
}

impl GenesisHandler for AuthModule {
    fn genesis_key(&self) -> Option<&'static str> {
        Some(crate::MODULE_NAME)
    }

    fn validate_genesis(&self, section: &serde_json::Value) -> Result<(), String> {
        genesis_section::<crate::AuthGenesis>(section)?
            .validate()
            .map_err(|e| e.to_string())
    }

    fn init_genesis(
        &self,
        mut state: &mut dyn StateWrite,
        section: &serde_json::Value,
    ) -> Result<(), String> {
        genesis_section::<crate::AuthGenesis>(section)?
            .init(&mut state)
            .map_err(|e| e.to_string())
    }
}

impl Module for AuthModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// The fee collector: the ante handler pays fees into it.
    fn module_accounts(&self) -> &'static [deai_types::ModuleAccount] {
        &[deai_types::ModuleAccount {
            name: deai_types::module::FEE_COLLECTOR,
            voting: false,
        }]
    }
}
