//! Stage three of the transaction pipeline: executing messages. Each message
//! was decoded by the module that owns it ([`crate::tx::Registry`]) and
//! executes through the module contract ([`ModuleMsg::execute`]). Glue
//! between modules (a recipient of tokens gets an account, as in the Cosmos
//! SDK; the governance account's address; a treasury-funded job counted
//! against the treasury's cap) is the app's [`AppHost`], so no module
//! depends on another.

use crate::history::PastState;
use deai_auth::AuthWrite;
use deai_treasury::TreasuryWrite;
use deai_types::{
    module::BlockTime, Address, Coin, Event, ModuleMsg, MsgCtx, MsgError, MsgHost, StateRead,
    StateReadExt, StateWrite,
};

use crate::error::TxError;

/// Block facts a message may need.
pub struct ExecCtx<'a> {
    /// The height of the block being executed.
    pub height: u64,
    /// The block's time (zero in a simulation).
    pub time: BlockTime,
    /// The app hash after the previous block (empty before the first).
    pub prev_app_hash: &'a [u8],
    /// The state committed at the end of an earlier block (`None` for the
    /// current block, whose state is the one being written), or why it
    /// cannot be read.
    pub history: &'a dyn Fn(u64) -> Result<Option<PastState<'a>>, String>,
}

/// The app's side of the glue between modules' messages.
pub struct AppHost;

impl MsgHost for AppHost {
    fn gov_authority(&self) -> Address {
        deai_gov::authority()
    }

    /// Reads the validators genesis named from the app's chain record.
    fn is_genesis_validator_key(
        &self,
        state: &dyn StateRead,
        key: &[u8; 32],
    ) -> Result<bool, MsgError> {
        let info = state
            .get_proto::<deai_proto::app::v1::ChainInfo>(&crate::state_key::chain_info())?
            .unwrap_or_default();
        Ok(info
            .validators
            .iter()
            .any(|v| v.ed25519_pub_key.as_slice() == key.as_slice()))
    }

    fn ensure_account(&self, state: &mut dyn StateWrite, addr: &Address) -> Result<(), MsgError> {
        state.ensure_account(addr)?;
        Ok(())
    }

    fn is_module_account(&self, addr: &Address) -> bool {
        crate::tx::is_module_account(addr)
    }

    fn chain_id(&self, state: &dyn StateRead) -> Result<String, MsgError> {
        Ok(state
            .get_proto::<deai_proto::app::v1::ChainInfo>(&crate::state_key::chain_info())?
            .unwrap_or_default()
            .chain_id)
    }

    fn record_treasury_spend(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        recipient: &Address,
        amount: &[Coin],
        kind: &str,
        stream_id: u64,
    ) -> Result<Event, MsgError> {
        Ok(state.record_spend(height, recipient, amount, kind, stream_id)?)
    }
}

/// Executes one message against `state`, returning its events: first the
/// `message` event (action, sender, module), then the module's.
pub fn execute(
    state: &mut dyn StateWrite,
    msg: &dyn ModuleMsg,
    ctx: &ExecCtx<'_>,
) -> Result<Vec<Event>, TxError> {
    let mut events = vec![crate::event::message(msg)];
    let history = |h: u64| -> Result<Option<Box<dyn StateRead>>, String> {
        Ok((ctx.history)(h)?.map(|s| Box::new(s) as Box<dyn StateRead>))
    };
    let ctx = MsgCtx {
        height: ctx.height,
        time: ctx.time,
        prev_app_hash: ctx.prev_app_hash,
        history: &history,
        host: &AppHost,
    };
    events.extend(msg.execute(state, &ctx)?);
    Ok(events)
}
