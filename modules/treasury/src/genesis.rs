//! The treasury section of genesis: parameters only. The treasury's
//! opening balance, if any, is an ordinary bank balance of its address.

use deai_types::StateWrite;
use serde::{Deserialize, Serialize};

use crate::{TreasuryError, TreasuryParams, TreasuryWrite};

/// The treasury section of the genesis app state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreasuryGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: TreasuryParams,
}

impl TreasuryGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), TreasuryError> {
        self.params.validate()
    }

    /// Writes the section.
    pub fn init<S: StateWrite>(&self, state: &mut S) -> Result<(), TreasuryError> {
        state.put_treasury_params(&self.params)
    }
}
