//! The IBC module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    BlockHooks, DecodeCtx, Event, GenesisHandler, HookError, Module, ModuleMsg, MsgError,
    MsgHandler, QueryCtx, QueryError, QueryHandler, StateWrite,
};
use ibc::core::host::types::identifiers::ChainId;

use crate::msg::{
    IbcMsg, ReclaimMsg, SendJobMsg, TransferMsg, RECLAIM_REMOTE_FUNDS_TYPE_URL,
    SEND_COMPUTE_JOB_TYPE_URL, TRANSFER_TYPE_URL, TYPE_URLS,
};

/// The IBC module: clients, connections, channels and packets.
#[derive(Debug, Clone, Copy, Default)]
pub struct IbcModule;

impl BlockHooks for IbcModule {
    /// Writes the acknowledgements of compute jobs from other chains that
    /// became final (after the compute module's own end block settled them).
    fn end_block(
        &self,
        state: &mut dyn StateWrite,
        ctx: &deai_types::BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        // Genesis (like CometBFT) accepts chain ids that are no ICS-24
        // identifier ("a/b"); IBC refuses them, so no IBC message can have
        // run and nothing is due. Halting every block over it would stop
        // the chain.
        let Ok(chain_id) = ChainId::new(&ctx.host.chain_id()) else {
            return Ok(Vec::new());
        };
        let block = crate::host::HostBlock {
            height: ctx.height(),
            time: ctx.info.time,
            chain_id,
        };
        crate::compute::write_due_acks(state, block)
            .map_err(|e| HookError(format!("ibc end block: {e}")))
    }
}

impl QueryHandler for IbcModule {
    /// ibc-go's core queries ([`crate::query`]), ICS-20's
    /// ([`crate::transfer_query`]) and compute over IBC's
    /// ([`crate::compute::query`]); `None` for other methods.
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
            .or_else(|| crate::transfer_query::query(&ctx.state, method, data))
            .or_else(|| crate::compute::query(&ctx.state, method, data))
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
        if any.type_url == SEND_COMPUTE_JOB_TYPE_URL {
            return Ok(Box::new(SendJobMsg::decode(any)?));
        }
        if any.type_url == RECLAIM_REMOTE_FUNDS_TYPE_URL {
            return Ok(Box::new(ReclaimMsg::decode(any)?));
        }
        Ok(Box::new(IbcMsg::decode(any)?))
    }
}

impl GenesisHandler for IbcModule {}

impl Module for IbcModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// The host's and applications' own records (see [`crate::state_key`]).
    fn other_key_prefixes(&self) -> &'static [&'static str] {
        &["ibchost/"]
    }

    /// The udeai the transfer channels hold in escrow: its owners hold
    /// vouchers on other chains and cannot vote here.
    fn held_elsewhere(&self) -> &'static [deai_types::HeldElsewhere] {
        &[deai_types::HeldElsewhere {
            read: crate::transfer::escrowed_base_denom,
            prefix: crate::state_key::ESCROW_TOTALS,
        }]
    }
}
