//! The distribution section of genesis: parameters. Rewards records of a
//! running chain travel in an exported genesis as raw state.

use deai_types::StateWrite;
use serde::{Deserialize, Serialize};

use crate::{DistributionError, DistributionParams, DistributionWrite};

/// The distribution section of the genesis app state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributionGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: DistributionParams,
}

impl DistributionGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), DistributionError> {
        self.params.validate()
    }

    /// Writes the section.
    pub fn init<S: StateWrite + ?Sized>(&self, state: &mut S) -> Result<(), DistributionError> {
        state.put_distribution_params(&self.params)
    }
}
