//! The governance section of genesis: parameters, and standing delegations
//! of voting power.

use deai_types::{Address, StateWrite};
use serde::{Deserialize, Serialize};

use crate::{GovError, GovParams, GovWrite};

/// One standing delegation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisDelegation {
    /// Who lends its power.
    pub delegator: Address,
    /// To whom.
    pub delegate: Address,
}

/// The governance section of the genesis app state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: GovParams,
    /// Standing delegations.
    #[serde(default)]
    pub delegations: Vec<GenesisDelegation>,
}

impl GovGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), GovError> {
        self.params.validate()?;
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.delegations {
            if d.delegator == d.delegate {
                return Err(GovError::InvalidDelegation(format!(
                    "{} delegates to itself",
                    d.delegator
                )));
            }
            if !seen.insert(d.delegator) {
                return Err(GovError::InvalidDelegation(format!(
                    "{} delegates twice",
                    d.delegator
                )));
            }
        }
        Ok(())
    }

    /// Writes the section.
    pub fn init<S: StateWrite>(&self, state: &mut S) -> Result<(), GovError> {
        self.validate()?;
        state.put_gov_params(&self.params)?;
        for d in &self.delegations {
            state.set_delegate(&d.delegator, Some(&d.delegate))?;
        }
        Ok(())
    }
}
