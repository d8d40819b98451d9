//! The compute module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::Any;
use deai_types::{
    BlockHooks, DecodeCtx, Event, GenesisHandler, HookError, Module, ModuleMsg, MsgError,
    MsgHandler, QueryCtx, QueryError, QueryHandler, StateWrite,
};

use crate::{BlockCtx, Msg};

/// The compute module: models, providers and verifiable inference jobs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComputeModule;

fn block_ctx(ctx: &deai_types::BlockCtx<'_>) -> BlockCtx {
    BlockCtx {
        height: ctx.height(),
        prev_app_hash: ctx.prev_app_hash.to_vec(),
    }
}

impl BlockHooks for ComputeModule {
    /// Assigns providers to waiting jobs (see [`crate::begin_block`]).
    fn begin_block(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &deai_types::BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::begin_block(&mut state, &block_ctx(ctx))
            .map_err(|e| HookError(format!("compute begin block: {e}")))
    }

    /// Settles jobs whose reveal deadline came, pays unbondings, lifts jails
    /// (see [`crate::end_block`]).
    fn end_block(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &deai_types::BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::end_block(&mut state, &block_ctx(ctx))
            .map_err(|e| HookError(format!("compute end block: {e}")))
    }
}

impl QueryHandler for ComputeModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        crate::query::query(&ctx.state, method, data)
    }
}

impl MsgHandler for ComputeModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        use crate::*;
        &[
            MSG_REGISTER_PROVIDER_TYPE_URL,
            MSG_BOND_TYPE_URL,
            MSG_UNBOND_TYPE_URL,
            MSG_SUBMIT_JOB_TYPE_URL,
            MSG_COMMIT_RESULT_TYPE_URL,
            MSG_REVEAL_RESULT_TYPE_URL,
            MSG_REGISTER_MODEL_TYPE_URL,
            MSG_REMOVE_MODEL_TYPE_URL,
            MSG_UPDATE_PARAMS_TYPE_URL,
            MSG_REGISTER_EVAL_SUITE_TYPE_URL,
            MSG_RUN_EVAL_SUITE_TYPE_URL,
            MSG_REMOVE_EVAL_SUITE_TYPE_URL,
        ]
    }

    /// Every `/deai.compute.v1.Msg…` URL, listed or not: compute answers an
    /// unknown one with its own decode error (see [`Msg::handles`]).
    fn handles_msg(&self, type_url: &str) -> bool {
        Msg::handles(type_url)
    }

    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        Ok(Box::new(Msg::from_any(any)?))
    }
}

impl GenesisHandler for ComputeModule {
    // Init runs after the bank's: provider bonds must already be held by
    // the compute module account.
    deai_types::typed_genesis_section!("compute", crate::ComputeGenesis);
}

impl Module for ComputeModule {
    fn name(&self) -> &'static str {
        "compute"
    }

    /// The compute account: it holds bonds and escrowed prices.
    fn module_accounts(&self) -> &'static [deai_types::ModuleAccount] {
        &[deai_types::ModuleAccount {
            name: "compute",
            voting: false,
        }]
    }
}
