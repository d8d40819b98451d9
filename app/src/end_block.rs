//! End-of-block work, in this order:
//! 1. governance: lapsed deposit periods expire; ended votes are tallied
//!    and passed proposals' messages run (as the governance account, all or
//!    nothing) through the same executor as transactions;
//! 2. compute: jobs whose reveal deadline came are settled (payouts,
//!    rewards, slashes to the treasury), unbondings paid, jails lifted;
//! 3. the treasury's share of the block's fees moves from the fee
//!    collector to the treasury;
//! 4. treasury streams pay (after the rest, so a stream created or a
//!    treasury refilled in this block already counts).
//!
//! Compute's begin-block work (assigning providers to waiting jobs) runs
//! before the block's transactions; see `App::finalize_block`.

use std::collections::BTreeMap;

use deai_bank::BankWrite;
use deai_gov::{GovError, GovHost};
use deai_store::{Snapshot, Storage};
use deai_treasury::TreasuryRead;
use deai_types::{Address, Coin, Event, Overlay, StateWrite};

use crate::{
    ante::FEE_COLLECTOR,
    exec::{self, ExecCtx},
    tx::Msg,
};

/// The names of the module accounts, each at `Address::module(name)`, as
/// the auth queries list them.
pub const MODULE_ACCOUNTS: [&str; 4] = [
    deai_gov::MODULE_NAME,
    deai_treasury::MODULE_NAME,
    FEE_COLLECTOR,
    "compute",
];

/// Module accounts: their balances are not voting power.
pub fn non_voting_accounts() -> Vec<Address> {
    vec![
        deai_gov::address(),
        deai_treasury::address(),
        Address::module(FEE_COLLECTOR),
        deai_compute_module::module_address(),
    ]
}

/// Reads committed heights for governance and runs proposals' messages.
pub struct Host<'a> {
    /// The node's storage.
    pub storage: &'a Storage,
    /// The app hash after the previous block.
    pub prev_app_hash: &'a [u8],
}

impl Host<'_> {
    /// The state at the end of `height`, or `None` at or after `current`.
    pub fn history(&self, height: u64, current: u64) -> Result<Option<Snapshot>, GovError> {
        if height >= current {
            return Ok(None);
        }
        self.storage
            .snapshot(height)
            .map(Some)
            .map_err(|e| GovError::HistoryUnavailable(height, e.to_string()))
    }
}

impl<S: StateWrite> GovHost<S> for Host<'_> {
    type History = Snapshot;

    fn history(&self, height: u64) -> Result<Snapshot, GovError> {
        self.storage
            .snapshot(height)
            .map_err(|e| GovError::HistoryUnavailable(height, e.to_string()))
    }

    fn non_voting(&self) -> Vec<Address> {
        non_voting_accounts()
    }

    fn execute(
        &self,
        state: &mut S,
        height: u64,
        messages: &[cosmos_sdk_proto::Any],
    ) -> Result<Vec<Event>, String> {
        let mut layer = Overlay::new(&*state);
        let history = |h: u64| Host::history(self, h, height);
        let ctx = ExecCtx {
            height,
            prev_app_hash: self.prev_app_hash,
            history: &history,
        };
        let mut events = Vec::new();
        for (i, any) in messages.iter().enumerate() {
            let run = Msg::from_any(any).and_then(|msg| {
                if !msg.acts_as_governance() || !msg.is_governance_action() {
                    return Err(crate::error::TxError::Unauthorized(
                        "not a governance action".into(),
                    ));
                }
                exec::execute(&mut layer, &msg, &ctx)
            });
            match run {
                Ok(ev) => events.extend(ev),
                Err(e) => return Err(format!("message {i} ({}) failed: {e}", any.type_url)),
            }
        }
        let changes = layer.into_changes();
        for (k, v) in changes {
            let r = match v {
                Some(v) => state.put_raw(k, v),
                None => state.delete_raw(k),
            };
            r.map_err(|e| format!("writing the proposal's changes: {e}"))?;
        }
        Ok(events)
    }
}

/// Runs the end-of-block steps on `state`. `fees` are the fees this
/// block's transactions paid, by denom.
pub fn run<S: StateWrite>(
    state: &mut S,
    storage: &Storage,
    height: u64,
    prev_app_hash: &[u8],
    fees: &BTreeMap<String, u128>,
) -> anyhow::Result<Vec<Event>> {
    let host = Host {
        storage,
        prev_app_hash,
    };
    let mut events = deai_gov::end_block(state, height, &host)
        .map_err(|e| anyhow::anyhow!("governance end block: {e}"))?;

    let ctx = deai_compute_module::BlockCtx {
        height,
        prev_app_hash: prev_app_hash.to_vec(),
    };
    events.extend(
        deai_compute_module::end_block(state, &ctx)
            .map_err(|e| anyhow::anyhow!("compute end block: {e}"))?,
    );

    let share = state.treasury_params()?.fee_share_ppm;
    let to_treasury: Vec<Coin> = fees
        .iter()
        .map(|(denom, amount)| Coin::new(deai_gov::params::share(*amount, share), denom.clone()))
        .filter(|c| c.amount > 0)
        .collect();
    if !to_treasury.is_empty() {
        events.extend(
            state
                .send(
                    &Address::module(FEE_COLLECTOR),
                    &deai_treasury::address(),
                    &to_treasury,
                )
                .map_err(|e| anyhow::anyhow!("fee share to the treasury: {e}"))?,
        );
        events.push(deai_treasury::event::fund(
            &Address::module(FEE_COLLECTOR),
            &to_treasury,
        ));
    }

    events.extend(
        deai_treasury::end_block(state, height)
            .map_err(|e| anyhow::anyhow!("treasury end block: {e}"))?,
    );
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_module_accounts_are_exactly_the_non_voting_accounts() {
        let named: Vec<Address> = MODULE_ACCOUNTS.iter().map(|n| Address::module(n)).collect();
        assert_eq!(named, non_voting_accounts());
    }
}
