//! The IBC module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    BlockHooks, DecodeCtx, GenesisHandler, Module, ModuleMsg, MsgError, MsgHandler, QueryCtx,
    QueryError, QueryHandler,
};

use crate::msg::{IbcMsg, TYPE_URLS};

/// The IBC module: clients, connections, channels and packets.
#[derive(Debug, Clone, Copy, Default)]
pub struct IbcModule;

impl BlockHooks for IbcModule {}

impl QueryHandler for IbcModule {
    /// ibc-go's core queries ([`crate::query`]); `None` for other methods.
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        let at = crate::query::At {
            height: ctx.height,
            chain_id: ctx.chain_id,
        };
        crate::query::query(ctx.state, method, data, at)
    }
}

impl MsgHandler for IbcModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        TYPE_URLS
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        Ok(Box::new(IbcMsg::decode(any)?))
    }
}

impl GenesisHandler for IbcModule {}

impl Module for IbcModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }
}
