//! Distribution's listener to stake changes (see `deai_staking::hooks`):
//! a delegation is settled before its shares change and starts earning
//! again after; a slash ends the validator's period and is recorded; a
//! removed validator's books are closed.

use deai_staking::{dec::Dec, StakingError, StakingHooks};
use deai_types::{Address, Event, StateWrite};

use crate::rewards;

/// The listener the app gives staking and slashing.
#[derive(Debug, Clone, Copy, Default)]
pub struct DistributionHooks;

impl StakingHooks for DistributionHooks {
    fn before_delegation_modified(
        &self,
        state: &mut dyn StateWrite,
        _height: u64,
        delegator: &Address,
        validator: &Address,
    ) -> Result<Vec<Event>, StakingError> {
        Ok(rewards::withdraw(state, delegator, validator)?.1)
    }

    fn after_delegation_modified(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        delegator: &Address,
        validator: &Address,
    ) -> Result<(), StakingError> {
        Ok(rewards::begin_delegation(
            state, delegator, validator, height,
        )?)
    }

    fn before_validator_slashed(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        validator: &Address,
        fraction: Dec,
    ) -> Result<(), StakingError> {
        Ok(rewards::record_slash(state, validator, fraction, height)?)
    }

    fn after_validator_removed(
        &self,
        state: &mut dyn StateWrite,
        _height: u64,
        validator: &Address,
    ) -> Result<Vec<Event>, StakingError> {
        Ok(rewards::remove_validator(state, validator)?)
    }
}
