//! Stage three of the transaction pipeline: executing messages. Each message
//! goes to the module that owns it; glue between modules (a recipient of
//! tokens gets an account, as in the Cosmos SDK) lives here, not in the
//! modules, so no module depends on another.

use deai_auth::AuthWrite;
use deai_types::{Event, StateWrite};

use crate::{error::TxError, tx::Msg};

/// Executes one message against `state`, returning its events.
pub fn execute<S: StateWrite>(state: &mut S, msg: &Msg) -> Result<Vec<Event>, TxError> {
    let mut events = vec![Event::new("message")
        .attr("action", msg.type_url())
        .attr("sender", msg.signer().to_bech32())
        .attr("module", msg.module())];
    match msg {
        Msg::Send(m) => {
            events.extend(m.execute(state)?);
            state.ensure_account(&m.to)?;
        }
        Msg::MultiSend(m) => {
            events.extend(m.execute(state)?);
            for (to, _) in &m.outputs {
                state.ensure_account(to)?;
            }
        }
    }
    Ok(events)
}
