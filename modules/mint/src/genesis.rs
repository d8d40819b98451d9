//! The mint section of genesis: parameters and the minter.

use deai_staking::dec::Dec;
use deai_types::StateWrite;
use serde::{Deserialize, Serialize};

use crate::{params::human, MintError, MintParams, MintWrite, Minter};

/// The minter as genesis JSON writes it: human decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisMinter {
    /// The annual inflation rate, e.g. `"0.13"`; at most 1.
    pub inflation: String,
    /// The annual provisions, e.g. `"0"` (recomputed at the first block that mints).
    pub annual_provisions: String,
}

impl Default for GenesisMinter {
    /// The SDK's starting minter.
    fn default() -> Self {
        GenesisMinter::from(&Minter::default())
    }
}

impl From<&Minter> for GenesisMinter {
    fn from(m: &Minter) -> Self {
        GenesisMinter {
            inflation: human(m.inflation),
            annual_provisions: human(m.annual_provisions),
        }
    }
}

impl GenesisMinter {
    /// The minter, checked: decimals that read, an inflation rate of at most 1.
    pub fn to_minter(&self) -> Result<Minter, MintError> {
        let d = |field: &str, s: &str| {
            Dec::parse_human(s)
                .map_err(|e| MintError::InvalidParams(format!("minter.{field}: {e}")))
        };
        let inflation = d("inflation", &self.inflation)?;
        if inflation > Dec::ONE {
            return Err(MintError::InvalidParams(
                "minter.inflation must be at most 1".into(),
            ));
        }
        Ok(Minter {
            inflation,
            annual_provisions: d("annual_provisions", &self.annual_provisions)?,
        })
    }
}

/// The mint section of the genesis app state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintGenesis {
    /// Parameters.
    #[serde(default)]
    pub params: MintParams,
    /// The minter.
    #[serde(default)]
    pub minter: GenesisMinter,
}

impl MintGenesis {
    /// Checks the section on its own.
    pub fn validate(&self) -> Result<(), MintError> {
        self.params.validate()?;
        self.minter.to_minter()?;
        Ok(())
    }

    /// Writes the section.
    pub fn init<S: StateWrite + ?Sized>(&self, state: &mut S) -> Result<(), MintError> {
        let minter = self.minter.to_minter()?;
        state.put_mint_params(&self.params)?;
        state.put_minter(&minter)
    }
}
