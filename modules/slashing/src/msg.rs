//! Slashing messages: `MsgUnjail` (the operator asks to rejoin) and
//! governance's `MsgUpdateParams`, with the Cosmos SDK's type URLs.

use cosmos_sdk_proto::cosmos::slashing::v1beta1 as sdk;
use deai_types::{
    Address, Event, GovernedParams, ModuleMsg, MsgCtx, MsgError, StateWrite, UpdateParams,
};

use crate::{SlashingError, SlashingParams, SlashingWrite};

/// A checked `MsgUnjail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unjail {
    /// The validator's operator (who signs).
    pub operator: Address,
}

impl Unjail {
    /// Stateless checks: the address is a `deaivaloper…`.
    pub fn from_proto(m: &sdk::MsgUnjail) -> Result<Self, SlashingError> {
        Ok(Unjail {
            operator: deai_staking::parse_valoper(&m.validator_addr)
                .map_err(|e| SlashingError::Invalid(format!("validator_addr: {e}")))?,
        })
    }
}

impl ModuleMsg for Unjail {
    fn type_url(&self) -> &'static str {
        crate::MSG_UNJAIL_TYPE_URL
    }

    fn signer(&self) -> Address {
        self.operator
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        Ok(crate::begin_block::unjail(state, &self.operator, ctx.time)?)
    }
}

impl GovernedParams for SlashingParams {
    const MODULE: &'static str = crate::MODULE_NAME;
    const TYPE_URL: &'static str = crate::MSG_UPDATE_PARAMS_TYPE_URL;
    type UpdatedEvent = deai_proto::slashing::v1::EventSlashingParamsUpdated;

    /// Stores the parameters. A window of a new length starts afresh for
    /// every validator (the old marks no longer line up with it): a new
    /// window generation, O(1) here; each record resets at its next use
    /// and begin block deletes the old marks a bounded number at a time.
    fn store(&self, state: &mut dyn StateWrite) -> Result<(), MsgError> {
        let old = crate::SlashingRead::slashing_params(&*state)?;
        state.put_slashing_params(self)?;
        if old.signed_blocks_window != self.signed_blocks_window {
            state.start_window_generation()?;
        }
        Ok(())
    }
}

/// Stateless checks of a `cosmos.slashing.v1beta1.MsgUpdateParams`.
pub fn update_params(m: &sdk::MsgUpdateParams) -> Result<UpdateParams<SlashingParams>, MsgError> {
    let params = m
        .params
        .as_ref()
        .map(SlashingParams::from_proto)
        .transpose()?;
    UpdateParams::checked(&m.authority, params, |p| Ok(p.validate()?))
}
