//! The bank section of genesis.

use deai_types::{Address, Coin, StateWrite};
use serde::{Deserialize, Serialize};

use crate::{BankError, BankParams, BankWrite};

/// The opening balance of one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisBalance {
    /// The holder.
    pub address: Address,
    /// What it holds.
    pub coins: Vec<Coin>,
}

/// The bank section of the genesis app state. Supply is not listed: it is
/// the sum of the balances, so it cannot disagree with them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: BankParams,
    /// Opening balances.
    #[serde(default)]
    pub balances: Vec<GenesisBalance>,
}

impl BankGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), BankError> {
        self.params.validate()?;
        let mut seen = std::collections::BTreeSet::new();
        for b in &self.balances {
            if !seen.insert(b.address) {
                return Err(BankError::InvalidCoins(format!(
                    "genesis lists balances of {} twice",
                    b.address
                )));
            }
            let mut denoms = std::collections::BTreeSet::new();
            for c in &b.coins {
                Coin::validate_denom(&c.denom)?;
                if !denoms.insert(&c.denom) {
                    return Err(BankError::InvalidCoins(format!(
                        "{} has {} twice",
                        b.address, c.denom
                    )));
                }
            }
        }
        Ok(())
    }

    /// Writes the section into state, minting each balance.
    pub fn init<S: StateWrite>(&self, state: &mut S) -> Result<(), BankError> {
        self.validate()?;
        state.put_bank_params(&self.params)?;
        for b in &self.balances {
            let coins: Vec<Coin> = b.coins.iter().filter(|c| c.amount > 0).cloned().collect();
            state.mint(&b.address, &coins)?;
        }
        Ok(())
    }
}
