//! The auth section of genesis.

use deai_types::{Address, StateWrite};
use serde::{Deserialize, Serialize};

use crate::{AuthError, AuthParams, AuthWrite};

/// The auth section of the genesis app state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: AuthParams,
    /// Addresses that get accounts at genesis, in this order of account number.
    #[serde(default)]
    pub accounts: Vec<Address>,
}

impl AuthGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), AuthError> {
        self.params.validate()?;
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.accounts {
            if !seen.insert(a) {
                return Err(AuthError::InvalidParams(format!(
                    "genesis lists account {a} twice"
                )));
            }
        }
        Ok(())
    }

    /// Writes the section into state.
    pub fn init<S: StateWrite>(&self, state: &mut S) -> Result<(), AuthError> {
        self.validate()?;
        state.put_auth_params(&self.params)?;
        for a in &self.accounts {
            state.ensure_account(a)?;
        }
        Ok(())
    }
}
