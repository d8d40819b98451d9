//! The staking section of genesis: parameters. Validators at genesis come
//! from the genesis validator list for now (see the crate docs); genesis
//! transactions that create staked validators come next.

use deai_types::StateWrite;
use serde::{Deserialize, Serialize};

use crate::{StakingError, StakingParams, StakingWrite};

/// The staking section of the genesis app state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: StakingParams,
}

impl StakingGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), StakingError> {
        self.params.validate()
    }

    /// Writes the section.
    pub fn init<S: StateWrite + ?Sized>(&self, state: &mut S) -> Result<(), StakingError> {
        state.put_staking_params(&self.params)
    }
}
