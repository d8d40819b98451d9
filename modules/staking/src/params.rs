//! Staking parameters: the Cosmos SDK's, with its defaults, and bounds the
//! module can run with whatever governance sets.

use cosmos_sdk_proto::cosmos::staking::v1beta1 as sdk;
use deai_types::BASE_DENOM;
use serde::{Deserialize, Serialize};
use tendermint_proto::google::protobuf::Duration;

use crate::{dec::Dec, StakingError};

/// Most validators governance may let into the set. CometBFT's gossip and
/// commit size grow with the set; the SDK's default is 100.
pub const MAX_VALIDATORS: u32 = 1_000;
/// Longest unbonding time: a year.
pub const MAX_UNBONDING_SECONDS: u64 = 365 * 24 * 3600;
/// Most unbonding or redelegation entries per pair: each is a record every
/// maturity and slash walks.
pub const MAX_ENTRIES: u32 = 100;
/// Most historical entries kept.
pub const MAX_HISTORICAL_ENTRIES: u32 = 100_000;

/// The staking parameters, as genesis JSON writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingParams {
    /// How long unbonding stake stays slashable before it returns, in seconds.
    pub unbonding_time_seconds: u64,
    /// How many validators, by power, make the consensus set.
    pub max_validators: u32,
    /// Most unbonding (or redelegation) entries per delegator and validator.
    pub max_entries: u32,
    /// How many past heights' validator sets to keep for `HistoricalInfo`.
    pub historical_entries: u32,
    /// The denomination bonded: the chain's base denom.
    pub bond_denom: String,
    /// The lowest commission rate a validator may set, e.g. `"0.05"`.
    pub min_commission_rate: String,
}

impl Default for StakingParams {
    /// The Cosmos SDK's defaults: 21 days, 100 validators, 7 entries, 10,000 historical entries.
    fn default() -> Self {
        StakingParams {
            unbonding_time_seconds: 21 * 24 * 3600,
            max_validators: 100,
            max_entries: 7,
            historical_entries: 10_000,
            bond_denom: BASE_DENOM.to_string(),
            min_commission_rate: "0".to_string(),
        }
    }
}

impl StakingParams {
    /// The minimum commission rate.
    pub fn min_commission(&self) -> Result<Dec, StakingError> {
        Dec::parse_human(&self.min_commission_rate)
            .map_err(|e| StakingError::InvalidParams(format!("min_commission_rate: {e}")))
    }

    /// Checks every bound.
    pub fn validate(&self) -> Result<(), StakingError> {
        let bad = |m: String| Err(StakingError::InvalidParams(m));
        if self.unbonding_time_seconds == 0 || self.unbonding_time_seconds > MAX_UNBONDING_SECONDS {
            return bad(format!(
                "unbonding_time_seconds must be 1 to {MAX_UNBONDING_SECONDS}"
            ));
        }
        if self.max_validators == 0 || self.max_validators > MAX_VALIDATORS {
            return bad(format!("max_validators must be 1 to {MAX_VALIDATORS}"));
        }
        if self.max_entries == 0 || self.max_entries > MAX_ENTRIES {
            return bad(format!("max_entries must be 1 to {MAX_ENTRIES}"));
        }
        if self.historical_entries > MAX_HISTORICAL_ENTRIES {
            return bad(format!(
                "historical_entries must be at most {MAX_HISTORICAL_ENTRIES}"
            ));
        }
        if self.bond_denom != BASE_DENOM {
            return bad(format!("bond_denom must be {BASE_DENOM}"));
        }
        if self.min_commission()? > Dec::ONE {
            return bad("min_commission_rate must be at most 1".into());
        }
        Ok(())
    }

    /// The SDK's message.
    pub fn to_proto(&self) -> sdk::Params {
        sdk::Params {
            unbonding_time: Some(Duration {
                seconds: i64::try_from(self.unbonding_time_seconds).unwrap_or(i64::MAX),
                nanos: 0,
            }),
            max_validators: self.max_validators,
            max_entries: self.max_entries,
            historical_entries: self.historical_entries,
            bond_denom: self.bond_denom.clone(),
            min_commission_rate: self.min_commission().map(Dec::to_proto).unwrap_or_default(),
        }
    }

    /// Reads the SDK's message (unchecked: call [`StakingParams::validate`]).
    pub fn from_proto(p: &sdk::Params) -> Result<Self, StakingError> {
        let unbonding = p
            .unbonding_time
            .as_ref()
            .ok_or_else(|| StakingError::InvalidParams("unbonding_time missing".into()))?;
        if unbonding.nanos != 0 {
            return Err(StakingError::InvalidParams(
                "unbonding_time must be whole seconds".into(),
            ));
        }
        let rate = Dec::from_proto(&p.min_commission_rate)
            .map_err(|e| StakingError::InvalidParams(format!("min_commission_rate: {e}")))?;
        Ok(StakingParams {
            unbonding_time_seconds: u64::try_from(unbonding.seconds).map_err(|_| {
                StakingError::InvalidParams("unbonding_time must be positive".into())
            })?,
            max_validators: p.max_validators,
            max_entries: p.max_entries,
            historical_entries: p.historical_entries,
            bond_denom: p.bond_denom.clone(),
            min_commission_rate: human(rate),
        })
    }
}

/// `rate` in its shortest human form (`0.05`, `1`, `0`).
fn human(rate: Dec) -> String {
    let s = rate.to_string();
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    // Test arithmetic on small known numbers; the lint guards the module's own code.
    #![allow(clippy::arithmetic_side_effects)]

    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_the_sdk_message() {
        let p = StakingParams::default();
        p.validate().unwrap();
        assert_eq!(StakingParams::from_proto(&p.to_proto()).unwrap(), p);
        let mut q = p.clone();
        q.min_commission_rate = "0.05".into();
        q.validate().unwrap();
        assert_eq!(q.to_proto().min_commission_rate, "50000000000000000");
        assert_eq!(StakingParams::from_proto(&q.to_proto()).unwrap(), q);
    }

    #[test]
    fn out_of_bounds_params_are_refused() {
        type Edit = fn(&mut StakingParams);
        let cases: [(&str, Edit); 7] = [
            ("unbonding_time", |p| p.unbonding_time_seconds = 0),
            ("unbonding_time", |p| {
                p.unbonding_time_seconds = MAX_UNBONDING_SECONDS + 1
            }),
            ("max_validators", |p| p.max_validators = 0),
            ("max_validators", |p| p.max_validators = MAX_VALIDATORS + 1),
            ("max_entries", |p| p.max_entries = 0),
            ("bond_denom", |p| p.bond_denom = "uatom".into()),
            ("min_commission_rate", |p| {
                p.min_commission_rate = "1.5".into()
            }),
        ];
        for (field, edit) in cases {
            let mut p = StakingParams::default();
            edit(&mut p);
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}
