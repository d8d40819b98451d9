//! Mint parameters: the Cosmos SDK's, with its defaults, and bounds the
//! module can run with whatever governance sets.

use cosmos_sdk_proto::cosmos::mint::v1beta1 as sdk;
use deai_staking::dec::Dec;
use deai_types::{Coin, BASE_DENOM};
use serde::{Deserialize, Serialize};

use crate::MintError;

/// Most blocks a year may have: 10⁹, about 30 a second, far faster than
/// CometBFT commits. It keeps `blocks_per_year × 10¹⁸` (the SDK's divisor)
/// well inside 128 bits.
pub const MAX_BLOCKS_PER_YEAR: u64 = 1_000_000_000;

/// The mint parameters, as genesis JSON writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintParams {
    /// The denom minted. Its bonded share is the bonded pool's balance of
    /// it, so a denom other than the staked one mints nothing.
    pub mint_denom: String,
    /// How far inflation may move in a year, e.g. `"0.13"`.
    pub inflation_rate_change: String,
    /// The highest annual inflation, e.g. `"0.2"`.
    pub inflation_max: String,
    /// The lowest annual inflation, e.g. `"0.07"`.
    pub inflation_min: String,
    /// The share of the supply the chain aims to have bonded, e.g. `"0.67"`.
    pub goal_bonded: String,
    /// Blocks expected in a year: the year's provisions are paid over them.
    pub blocks_per_year: u64,
}

impl Default for MintParams {
    /// The Cosmos SDK's defaults, minting the base denom.
    fn default() -> Self {
        MintParams {
            mint_denom: BASE_DENOM.to_string(),
            inflation_rate_change: "0.13".into(),
            inflation_max: "0.2".into(),
            inflation_min: "0.07".into(),
            goal_bonded: "0.67".into(),
            // A block every 5 seconds of a year of 365.25 days.
            blocks_per_year: 6_311_520,
        }
    }
}

/// The parameters' rates, read and checked: what the formula runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// `inflation_rate_change`, in [0, 1].
    pub inflation_rate_change: Dec,
    /// `inflation_max`, in [`Rates::inflation_min`], 1].
    pub inflation_max: Dec,
    /// `inflation_min`, in [0, [`Rates::inflation_max`]].
    pub inflation_min: Dec,
    /// `goal_bonded`, in (0, 1].
    pub goal_bonded: Dec,
    /// `blocks_per_year`, in [1, [`MAX_BLOCKS_PER_YEAR`]].
    pub blocks_per_year: u64,
}

/// Reads rate `field` (`s`, a human decimal) and checks it is at most 1.
fn rate(field: &str, s: &str) -> Result<Dec, MintError> {
    let d = Dec::parse_human(s).map_err(|e| MintError::InvalidParams(format!("{field}: {e}")))?;
    if d > Dec::ONE {
        return Err(MintError::InvalidParams(format!(
            "{field} must be at most 1"
        )));
    }
    Ok(d)
}

/// `d` in its shortest human form (`0.13`, `1`, `0`).
pub(crate) fn human(d: Dec) -> String {
    let s = d.to_string();
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl MintParams {
    /// The rates, with every bound checked.
    pub fn rates(&self) -> Result<Rates, MintError> {
        let inflation_rate_change = rate("inflation_rate_change", &self.inflation_rate_change)?;
        let inflation_max = rate("inflation_max", &self.inflation_max)?;
        let inflation_min = rate("inflation_min", &self.inflation_min)?;
        let goal_bonded = rate("goal_bonded", &self.goal_bonded)?;
        if inflation_min > inflation_max {
            return Err(MintError::InvalidParams(
                "inflation_min must be at most inflation_max".into(),
            ));
        }
        if goal_bonded.is_zero() {
            return Err(MintError::InvalidParams(
                "goal_bonded must be above 0".into(),
            ));
        }
        if !(1..=MAX_BLOCKS_PER_YEAR).contains(&self.blocks_per_year) {
            return Err(MintError::InvalidParams(format!(
                "blocks_per_year must be 1 to {MAX_BLOCKS_PER_YEAR}"
            )));
        }
        Ok(Rates {
            inflation_rate_change,
            inflation_max,
            inflation_min,
            goal_bonded,
            blocks_per_year: self.blocks_per_year,
        })
    }

    /// Checks every bound.
    pub fn validate(&self) -> Result<(), MintError> {
        Coin::validate_denom(&self.mint_denom)
            .map_err(|e| MintError::InvalidParams(format!("mint_denom: {e}")))?;
        self.rates()?;
        Ok(())
    }

    /// The SDK's message: decimals are their atomics as text.
    pub fn to_proto(&self) -> sdk::Params {
        let p = |field: &str, s: &str| rate(field, s).map(Dec::to_proto).unwrap_or_default();
        sdk::Params {
            mint_denom: self.mint_denom.clone(),
            inflation_rate_change: p("inflation_rate_change", &self.inflation_rate_change),
            inflation_max: p("inflation_max", &self.inflation_max),
            inflation_min: p("inflation_min", &self.inflation_min),
            goal_bonded: p("goal_bonded", &self.goal_bonded),
            blocks_per_year: self.blocks_per_year,
        }
    }

    /// Reads the SDK's message (unchecked: call [`MintParams::validate`]).
    pub fn from_proto(p: &sdk::Params) -> Result<Self, MintError> {
        let d = |field: &str, s: &str| -> Result<String, MintError> {
            Ok(human(Dec::from_proto(s).map_err(|e| {
                MintError::InvalidParams(format!("{field}: {e}"))
            })?))
        };
        Ok(MintParams {
            mint_denom: p.mint_denom.clone(),
            inflation_rate_change: d("inflation_rate_change", &p.inflation_rate_change)?,
            inflation_max: d("inflation_max", &p.inflation_max)?,
            inflation_min: d("inflation_min", &p.inflation_min)?,
            goal_bonded: d("goal_bonded", &p.goal_bonded)?,
            blocks_per_year: p.blocks_per_year,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_sdks_and_round_trip() {
        let p = MintParams::default();
        p.validate().unwrap();
        let proto = p.to_proto();
        assert_eq!(proto.mint_denom, "udeai");
        assert_eq!(proto.inflation_rate_change, "130000000000000000");
        assert_eq!(proto.inflation_max, "200000000000000000");
        assert_eq!(proto.inflation_min, "70000000000000000");
        assert_eq!(proto.goal_bonded, "670000000000000000");
        assert_eq!(proto.blocks_per_year, 6_311_520);
        assert_eq!(MintParams::from_proto(&proto).unwrap(), p);
    }

    #[test]
    fn out_of_bounds_params_are_refused() {
        type Edit = fn(&mut MintParams);
        let cases: [(&str, Edit); 11] = [
            ("mint_denom", |p| p.mint_denom = "u".into()),
            ("mint_denom", |p| p.mint_denom = "1deai".into()),
            ("inflation_rate_change", |p| {
                p.inflation_rate_change = "1.01".into()
            }),
            ("inflation_rate_change", |p| {
                p.inflation_rate_change = "-0.1".into()
            }),
            ("inflation_max", |p| p.inflation_max = "2".into()),
            ("inflation_min", |p| p.inflation_min = "0.3".into()),
            ("goal_bonded", |p| p.goal_bonded = "0".into()),
            ("goal_bonded", |p| p.goal_bonded = "1.5".into()),
            ("blocks_per_year", |p| p.blocks_per_year = 0),
            ("blocks_per_year", |p| {
                p.blocks_per_year = MAX_BLOCKS_PER_YEAR + 1
            }),
            ("inflation_min", |p| {
                p.inflation_min = "0.0000000000000000001".into()
            }),
        ];
        for (field, edit) in cases {
            let mut p = MintParams::default();
            edit(&mut p);
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn the_bounds_themselves_are_accepted() {
        let p = MintParams {
            mint_denom: "ibc/ABC-1.x:y_z".into(),
            inflation_rate_change: "1".into(),
            inflation_max: "1".into(),
            inflation_min: "1".into(),
            goal_bonded: "0.000000000000000001".into(),
            blocks_per_year: MAX_BLOCKS_PER_YEAR,
        };
        p.validate().unwrap();
        let p = MintParams {
            inflation_rate_change: "0".into(),
            inflation_max: "0".into(),
            inflation_min: "0".into(),
            goal_bonded: "1".into(),
            blocks_per_year: 1,
            ..MintParams::default()
        };
        p.validate().unwrap();
    }
}
