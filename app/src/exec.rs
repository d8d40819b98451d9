//! Stage three of the transaction pipeline: executing messages. Each message
//! goes to the module that owns it; glue between modules (a recipient of
//! tokens gets an account, as in the Cosmos SDK; governance messages check
//! their authority) lives here, not in the modules, so no module depends on
//! another.

use deai_auth::AuthWrite;
use deai_bank::BankWrite;
use deai_gov::GovError;
use deai_store::Snapshot;
use deai_treasury::TreasuryWrite;
use deai_types::{Event, StateWrite};

use crate::{error::TxError, tx::Msg};

/// Block facts a message may need.
pub struct ExecCtx<'a> {
    /// The height of the block being executed.
    pub height: u64,
    /// The app hash after the previous block (empty before the first).
    pub prev_app_hash: &'a [u8],
    /// The state committed at the end of an earlier block (`None` for the
    /// current block, whose state is the one being written).
    pub history: &'a dyn Fn(u64) -> Result<Option<Snapshot>, GovError>,
}

fn check_gov_authority(msg: &Msg) -> Result<(), TxError> {
    if msg.signer() != deai_gov::authority() {
        return Err(TxError::Unauthorized(format!(
            "{} may only be executed by the governance account {}, not {}",
            msg.type_url(),
            deai_gov::authority(),
            msg.signer()
        )));
    }
    Ok(())
}

/// Executes one message against `state`, returning its events.
pub fn execute<S: StateWrite>(
    state: &mut S,
    msg: &Msg,
    ctx: &ExecCtx<'_>,
) -> Result<Vec<Event>, TxError> {
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
        Msg::Gov(m) => {
            events.extend(m.execute(state, ctx.height, |h| (ctx.history)(h))?);
        }
        Msg::Treasury(m) => {
            events.extend(m.execute(state, ctx.height)?);
            if let deai_treasury::msg::TreasuryMsg::Spend { recipient, .. } = m {
                state.ensure_account(recipient)?;
            }
        }
        Msg::Compute(m) => {
            if msg.is_treasury_job() {
                // The escrow leaves the treasury: count it against the
                // epoch's cap and record it in the spend history.
                if let deai_compute_module::Msg::SubmitJob(j) = m {
                    let total = j
                        .price_per_replica
                        .checked_mul(u128::from(j.replication))
                        .ok_or_else(|| TxError::InvalidRequest("job price overflows".into()))?;
                    events.push(state.record_spend(
                        ctx.height,
                        &deai_compute_module::module_address(),
                        &[deai_types::Coin::new(total, deai_types::BASE_DENOM)],
                        "job",
                        0,
                    )?);
                }
            }
            let block = deai_compute_module::BlockCtx {
                height: ctx.height,
                prev_app_hash: ctx.prev_app_hash.to_vec(),
            };
            events.extend(m.execute(state, &block)?);
        }
        Msg::AuthParams { params, .. } => {
            check_gov_authority(msg)?;
            state.put_auth_params(params)?;
            events.push(Event::new("auth_params_updated"));
        }
        Msg::BankParams { params, .. } => {
            check_gov_authority(msg)?;
            state.put_bank_params(params)?;
            events.push(Event::new("bank_params_updated"));
        }
    }
    Ok(events)
}
