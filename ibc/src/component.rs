//! The IBC module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    BlockHooks, DecodeCtx, GenesisHandler, Module, ModuleMsg, MsgError, MsgHandler, QueryCtx,
    QueryError, QueryHandler,
};

use crate::msg::{IbcMsg, TransferMsg, TRANSFER_TYPE_URL, TYPE_URLS};

/// The IBC module: clients, connections, channels and packets.
#[derive(Debug, Clone, Copy, Default)]
pub struct IbcModule;

impl BlockHooks for IbcModule {}

impl QueryHandler for IbcModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::transfer_query::query(&ctx.state, method, data)
    }
}

impl MsgHandler for IbcModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        TYPE_URLS
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        if any.type_url == TRANSFER_TYPE_URL {
            return Ok(Box::new(TransferMsg::decode(any)?));
        }
        Ok(Box::new(IbcMsg::decode(any)?))
    }
}

impl GenesisHandler for IbcModule {}

impl Module for IbcModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }
}
