//! The slashing section of genesis: parameters.

use deai_types::StateWrite;
use serde::{Deserialize, Serialize};

use crate::{SlashingError, SlashingParams, SlashingWrite};

/// The slashing section of the genesis app state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlashingGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: SlashingParams,
}

impl SlashingGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), SlashingError> {
        self.params.validate()
    }

    /// Writes the section. A new chain has no marks of older generations
    /// (nor of the layout before them): begin block need not look for any.
    pub fn init<S: StateWrite + ?Sized>(&self, state: &mut S) -> Result<(), SlashingError> {
        state.put_slashing_params(&self.params)?;
        state.put_gc_floor(crate::state::FIRST_GENERATION)
    }
}
