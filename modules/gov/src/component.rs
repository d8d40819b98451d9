//! The governance module as the app composes it (see `deai_types::module`).

use cosmos_sdk_proto::{cosmos::gov::v1 as sdk, Any};
use deai_types::{
    module::{decode_any, shown_type_url},
    BlockCtx, BlockHooks, BlockHost, DecodeCtx, Event, GenesisHandler, HistoryNeed, HookError,
    Module, ModuleMsg, MsgError, MsgHandler, NonVoting, QueryCtx, QueryError, QueryHandler,
    StateRead, StateWrite,
};

use crate::{msg::GovMsg, GovError, GovHost, MAX_PROPOSAL_MSGS};

/// The governance module: proposals, deposits, votes and their execution.
#[derive(Debug, Clone, Copy, Default)]
pub struct GovModule;

/// [`GovHost`] over the app's [`BlockHost`].
struct Host<'a>(&'a dyn BlockHost);

impl<'a, S: StateWrite> GovHost<S> for Host<'a> {
    type History = Box<dyn StateRead + 'a>;

    fn history(&self, height: u64) -> Result<Self::History, GovError> {
        self.0
            .history(height)
            .map_err(|e| GovError::HistoryUnavailable(height, e))
    }

    fn non_voting(&self) -> NonVoting {
        self.0.non_voting()
    }

    fn execute(&self, state: &mut S, height: u64, messages: &[Any]) -> Result<Vec<Event>, String> {
        self.0.execute_as_governance(state, height, messages)
    }
}

impl BlockHooks for GovModule {
    /// Expires lapsed deposit periods, tallies ended votes and runs passed
    /// proposals' messages (see [`crate::end_block`]).
    fn end_block(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        crate::end_block(&mut state, ctx.height(), &Host(ctx.host))
            .map_err(|e| HookError(format!("governance end block: {e}")))
    }
}

impl QueryHandler for GovModule {
    fn query(
        &self,
        method: &str,
        data: &[u8],
        ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        let history = |h: u64| (ctx.history)(h).map_err(|e| GovError::HistoryUnavailable(h, e));
        crate::query::query(&ctx.state, method, data, &history, ctx.non_voting)
    }
}

/// Decodes `MsgSubmitProposal` and every message it carries, one level
/// down and no further: a proposal inside a proposal is refused by its type
/// URL before its bytes are decoded, so decoding never recurses on a depth
/// the sender chooses. Each carried message must be one a proposal may
/// execute, acting with governance's authority.
fn decode_submission(any: &Any, ctx: &DecodeCtx<'_>) -> Result<GovMsg, MsgError> {
    if ctx.in_proposal {
        return Err(MsgError::InvalidRequest(
            "a proposal may not carry another proposal".into(),
        ));
    }
    let m: sdk::MsgSubmitProposal = decode_any(any)?;
    if m.messages.len() > MAX_PROPOSAL_MSGS {
        return Err(MsgError::InvalidRequest(format!(
            "a proposal carries {} messages, at most {MAX_PROPOSAL_MSGS} allowed",
            m.messages.len()
        )));
    }
    for (i, inner) in m.messages.iter().enumerate() {
        let msg = ctx
            .decoder
            .decode_in_proposal(inner)
            .map_err(|e| MsgError::InvalidRequest(format!("proposal message {i}: {e}")))?;
        if !msg.is_governance_action() {
            return Err(MsgError::InvalidRequest(format!(
                "proposal message {i} ({}) is not one a proposal may execute",
                shown_type_url(&inner.type_url)
            )));
        }
        if !crate::acts_as_governance(&*msg) {
            return Err(MsgError::InvalidRequest(format!(
                "proposal message {i} ({}) must have the governance account {} as its authority (or be a job paid by the treasury), not {}",
                shown_type_url(&inner.type_url),
                crate::authority(),
                msg.signer()
            )));
        }
    }
    Ok(GovMsg::submit(&m)?)
}

impl MsgHandler for GovModule {
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[
            crate::MSG_SUBMIT_PROPOSAL_TYPE_URL,
            crate::MSG_DEPOSIT_TYPE_URL,
            crate::MSG_VOTE_TYPE_URL,
            crate::MSG_VOTE_WEIGHTED_TYPE_URL,
            crate::MSG_CANCEL_PROPOSAL_TYPE_URL,
            crate::MSG_DELEGATE_TYPE_URL,
            crate::MSG_SET_DELEGATION_POLICY_TYPE_URL,
            crate::MSG_UPDATE_PARAMS_TYPE_URL,
        ]
    }

    fn decode_msg(&self, any: &Any, ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        let msg = match any.type_url.as_str() {
            crate::MSG_SUBMIT_PROPOSAL_TYPE_URL => {
                return Ok(Box::new(decode_submission(any, ctx)?))
            }
            crate::MSG_DEPOSIT_TYPE_URL => GovMsg::deposit(&decode_any(any)?),
            crate::MSG_VOTE_TYPE_URL => GovMsg::vote(&decode_any(any)?),
            crate::MSG_VOTE_WEIGHTED_TYPE_URL => GovMsg::vote_weighted(&decode_any(any)?),
            crate::MSG_CANCEL_PROPOSAL_TYPE_URL => GovMsg::cancel(&decode_any(any)?),
            crate::MSG_DELEGATE_TYPE_URL => GovMsg::delegate(&decode_any(any)?),
            crate::MSG_SET_DELEGATION_POLICY_TYPE_URL => {
                GovMsg::set_delegation_policy(&decode_any(any)?)
            }
            crate::MSG_UPDATE_PARAMS_TYPE_URL => GovMsg::update_params(&decode_any(any)?),
            other => return Err(MsgError::UnknownMessage(shown_type_url(other))),
        };
        Ok(Box::new(msg?))
    }
}

impl GenesisHandler for GovModule {
    deai_types::typed_genesis_section!(crate::MODULE_NAME, crate::GovGenesis);

    /// Each open vote's tally reads voting power (the bank's balances,
    /// supply and links, refusals of lent power, and voters' delegations,
    /// their validators and unbondings) at its start height.
    fn history_needed(&self, state: &dyn StateRead) -> Result<Vec<HistoryNeed>, String> {
        let prefix = crate::state_key::voting_start_prefix();
        let mut starts = std::collections::BTreeSet::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = state
                .prefix_raw(&prefix, after.as_deref(), 1024)
                .map_err(|e| e.to_string())?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, _) in &page {
                let (start, _) = crate::state_key::parse_queue(&prefix, key)
                    .ok_or("malformed voting start entry")?;
                starts.insert(start);
            }
        }
        Ok(starts
            .into_iter()
            .map(|height| HistoryNeed {
                height,
                prefixes: [
                    b"bank/".to_vec(),
                    crate::state_key::refuses_delegations_prefix(),
                ]
                .into_iter()
                .chain(deai_staking::state::delegator_stake_prefixes())
                .collect(),
            })
            .collect())
    }
}

impl Module for GovModule {
    fn name(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// The governance account: it holds deposits.
    fn module_accounts(&self) -> &'static [deai_types::ModuleAccount] {
        &[deai_types::ModuleAccount {
            name: crate::MODULE_NAME,
            voting: false,
        }]
    }
}
