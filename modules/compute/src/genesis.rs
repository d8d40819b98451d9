//! The compute section of genesis: parameters, registered models and
//! providers. Provider bonds must already be held by the compute module
//! account, so the bank section lists that balance and runs first.

use std::collections::BTreeSet;

use deai_bank::BankRead;
use deai_types::{StateWrite, BASE_DENOM};
use serde::{Deserialize, Serialize};

use crate::{ComputeError, ComputeParams, ComputeWrite, Model, Provider};

/// The compute section of the genesis app state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: ComputeParams,
    /// Registered models.
    #[serde(default)]
    pub models: Vec<Model>,
    /// Providers, with bonds at or above `min_provider_bond`, no open jobs,
    /// nothing unbonding and not jailed.
    #[serde(default)]
    pub providers: Vec<Provider>,
}

impl ComputeGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), ComputeError> {
        self.params.validate()?;
        let mut ids = BTreeSet::new();
        for m in &self.models {
            m.validate()?;
            if !ids.insert(&m.id) {
                return Err(ComputeError::ModelExists(m.id.clone()));
            }
        }
        let mut addrs = BTreeSet::new();
        for p in &self.providers {
            if !addrs.insert(p.address) {
                return Err(ComputeError::ProviderExists(p.address.to_bech32()));
            }
            if p.bond < self.params.min_provider_bond {
                return Err(ComputeError::BondTooSmall {
                    min: self.params.min_provider_bond,
                    got: p.bond,
                });
            }
            if p.open_jobs != 0 || p.unbonding != 0 || p.jailed_until != 0 {
                return Err(ComputeError::InvalidParams(format!(
                    "genesis provider {} must have no open jobs, unbonding or jail term",
                    p.address
                )));
            }
        }
        self.total_bonds()?;
        Ok(())
    }

    /// The sum of the providers' bonds.
    pub fn total_bonds(&self) -> Result<u128, ComputeError> {
        self.providers.iter().try_fold(0u128, |acc, p| {
            acc.checked_add(p.bond)
                .ok_or_else(|| ComputeError::Overflow("genesis bonds".into()))
        })
    }

    /// Writes the section into state. The compute module account must hold
    /// exactly the sum of the bonds (from the bank section, written first),
    /// so that escrow and bonds always balance against it.
    pub fn init<S: StateWrite>(&self, state: &mut S) -> Result<(), ComputeError> {
        self.validate()?;
        let held = state.balance(&crate::module_address(), BASE_DENOM)?;
        let bonds = self.total_bonds()?;
        if held != bonds {
            return Err(ComputeError::InvalidParams(format!(
                "the compute module account holds {held}{BASE_DENOM} but genesis bonds total {bonds}{BASE_DENOM}"
            )));
        }
        state.put_compute_params(&self.params)?;
        for m in &self.models {
            state.put_model(m)?;
        }
        for p in &self.providers {
            state.put_provider(p)?;
        }
        Ok(())
    }
}
