//! The app's side of the block hooks: the [`Host`] that gives modules'
//! hooks committed history and runs passed proposals' messages through the
//! same executor as transactions, and the lists of module accounts and of
//! non-voting accounts. Which hooks run, and in what order, is
//! [`crate::modules`]'s.

use deai_store::Storage;
use deai_types::{Address, BlockHost, Event, Module, Overlay, StateRead, StateWrite};

use crate::{
    exec::{self, ExecCtx},
    history::{self, PastState},
    tx::{Msg, Registry},
};

/// The names of the module accounts, each at `Address::module(name)`, as
/// the auth queries list them: what the registered modules declare
/// ([`Module::module_accounts`]). No send, spend or stream may pay one
/// ([`crate::tx::is_module_account`]).
pub fn module_account_names() -> Vec<&'static str> {
    crate::modules::MODULES
        .iter()
        .flat_map(|m| m.module_accounts())
        .map(|a| a.name)
        .collect()
}

/// The module accounts.
pub fn module_accounts() -> Vec<Address> {
    module_account_names()
        .iter()
        .map(|n| Address::module(n))
        .collect()
}

/// The module accounts that hold no one's voting power: their balances are
/// left out of governance's total. Every module account but those whose
/// tokens are someone's stake (the staking pools; see `deai_gov::tally`).
pub fn non_voting_accounts() -> Vec<Address> {
    crate::modules::MODULES
        .iter()
        .flat_map(|m| m.module_accounts())
        .filter(|a| !a.voting)
        .map(|a| Address::module(a.name))
        .collect()
}

/// What governance leaves out of the total voting power: the
/// [`non_voting_accounts`] and what modules hold for people elsewhere (the
/// udeai IBC transfer channels escrow for other chains).
pub fn non_voting() -> deai_types::NonVoting {
    deai_types::NonVoting {
        accounts: non_voting_accounts(),
        held_elsewhere: crate::modules::MODULES
            .iter()
            .flat_map(|m| m.held_elsewhere())
            .copied()
            .collect(),
    }
}

/// Reads committed heights for governance and runs proposals' messages.
pub struct Host<'a> {
    /// The node's storage.
    pub storage: &'a Storage,
    /// State since genesis, where heights a genesis carried from an export
    /// are kept (see [`crate::history`]).
    pub since_genesis: &'a dyn StateRead,
    /// The app hash after the previous block.
    pub prev_app_hash: &'a [u8],
    /// The block's time (zero in a simulation).
    pub time: deai_types::module::BlockTime,
    /// The modules a proposal's messages are routed to.
    pub modules: &'a [&'static dyn Module],
}

impl<'a> Host<'a> {
    /// What InitChain recorded of the chain.
    fn chain_info(&self) -> Option<deai_proto::app::v1::ChainInfo> {
        deai_types::StateReadExt::get_proto::<deai_proto::app::v1::ChainInfo>(
            self.since_genesis,
            &crate::state_key::chain_info(),
        )
        .ok()
        .flatten()
    }

    /// The state at the end of `height`, or `None` at or after `current`.
    pub fn history(&self, height: u64, current: u64) -> Result<Option<PastState<'a>>, String> {
        if height >= current {
            return Ok(None);
        }
        history::read(self.storage, self.since_genesis, height).map(Some)
    }
}

impl BlockHost for Host<'_> {
    fn history(&self, height: u64) -> Result<Box<dyn StateRead + '_>, String> {
        Ok(Box::new(history::read(
            self.storage,
            self.since_genesis,
            height,
        )?))
    }

    fn non_voting(&self) -> deai_types::NonVoting {
        non_voting()
    }

    fn has_fixed_validators(&self) -> bool {
        self.chain_info().is_some_and(|c| !c.validators.is_empty())
    }

    fn chain_id(&self) -> String {
        self.chain_info().map(|c| c.chain_id).unwrap_or_default()
    }

    fn execute_as_governance(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        messages: &[cosmos_sdk_proto::Any],
    ) -> Result<Vec<Event>, String> {
        let mut layer = Overlay::new(&*state);
        let history = |h: u64| Host::history(self, h, height);
        let ctx = ExecCtx {
            height,
            time: self.time,
            prev_app_hash: self.prev_app_hash,
            history: &history,
        };
        let mut events = Vec::new();
        for (i, any) in messages.iter().enumerate() {
            let run = Msg::decode_with(&Registry(self.modules), any).and_then(|msg| {
                if !msg.acts_as_governance() || !msg.is_governance_action() {
                    return Err(crate::error::TxError::Unauthorized(
                        "not a governance action".into(),
                    ));
                }
                exec::execute(&mut layer, &*msg, &ctx)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_non_voting_accounts_are_the_module_accounts_but_the_staking_pools() {
        let named = module_accounts();
        assert_eq!(
            module_account_names(),
            [
                deai_types::module::FEE_COLLECTOR,
                deai_gov::MODULE_NAME,
                "compute",
                deai_rounds::MODULE_NAME,
                deai_treasury::MODULE_NAME,
                deai_distribution::MODULE_NAME,
                deai_staking::BONDED_POOL,
                deai_staking::NOT_BONDED_POOL,
            ]
        );
        assert!(named.contains(&deai_gov::address()));
        assert!(named.contains(&deai_treasury::address()));
        assert!(named.contains(&deai_compute_module::module_address()));
        assert!(named.contains(&deai_rounds::module_address()));
        let voting: Vec<Address> = named
            .iter()
            .filter(|a| !non_voting_accounts().contains(a))
            .copied()
            .collect();
        assert_eq!(
            voting,
            [deai_staking::bonded_pool(), deai_staking::not_bonded_pool()]
        );
        assert!(non_voting_accounts().iter().all(|a| named.contains(a)));
    }
}
