//! Test support for module crates' unit tests: a host that answers what
//! a module's messages and block hooks may ask of the app with the plainest
//! answers (no genesis validators, no history, no governance execution),
//! and [`run_msg`], which runs a message as a transaction would.
//! Never used outside tests.

use cosmos_sdk_proto::Any;

use crate::{
    module::BlockTime, Address, BlockHost, Coin, Event, MemState, ModuleMsg, MsgCtx, MsgError,
    MsgHistory, MsgHost, Overlay, StateRead, StateWrite,
};

/// The chain id [`TestHost`] reports.
pub const TEST_CHAIN_ID: &str = "test-1";

/// A host for module unit tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestHost;

impl MsgHost for TestHost {
    fn gov_authority(&self) -> Address {
        Address::module("gov")
    }

    fn is_genesis_validator_key(&self, _: &dyn StateRead, _: &[u8; 32]) -> Result<bool, MsgError> {
        Ok(false)
    }

    fn ensure_account(&self, _: &mut dyn StateWrite, _: &Address) -> Result<(), MsgError> {
        Ok(())
    }

    /// Only the governance account counts as a module account here.
    fn is_module_account(&self, addr: &Address) -> bool {
        *addr == self.gov_authority()
    }

    fn chain_id(&self, _: &dyn StateRead) -> Result<String, MsgError> {
        Ok(TEST_CHAIN_ID.into())
    }

    fn record_treasury_spend(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &Address,
        _: &[Coin],
        _: &str,
        _: u64,
    ) -> Result<Event, MsgError> {
        Err(MsgError::Internal("the test host has no treasury".into()))
    }
}

impl BlockHost for TestHost {
    fn history(&self, _: u64) -> Result<Box<dyn StateRead + '_>, String> {
        Err("the test host keeps no history".into())
    }

    fn non_voting(&self) -> crate::module::NonVoting {
        crate::module::NonVoting::default()
    }

    fn has_fixed_validators(&self) -> bool {
        false
    }

    fn chain_id(&self) -> String {
        TEST_CHAIN_ID.into()
    }

    fn execute_as_governance(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &[Any],
    ) -> Result<Vec<Event>, String> {
        Err("the test host runs no proposals".into())
    }
}

/// Runs `msg` against `state` as a transaction's messages run, in a block
/// at `height` and `time` with `host`'s glue: on a scratch layer whose
/// changes are kept only if it succeeds.
pub fn run_msg(
    state: &mut MemState,
    msg: &dyn ModuleMsg,
    (height, time): (u64, BlockTime),
    host: &dyn MsgHost,
) -> Result<Vec<Event>, MsgError> {
    let history: &MsgHistory = &|_| Ok(None);
    let ctx = MsgCtx {
        height,
        time,
        prev_app_hash: &[],
        history,
        host,
    };
    let mut layer = Overlay::new(&*state);
    let events = msg.execute(&mut layer, &ctx)?;
    for (k, v) in layer.into_changes() {
        match v {
            Some(v) => state.put_raw(k, v)?,
            None => state.delete_raw(k)?,
        }
    }
    Ok(events)
}
