//! Distribution parameters: the Cosmos SDK's, with bounds the module can
//! run with whatever governance sets.

use cosmos_sdk_proto::cosmos::distribution::v1beta1 as sdk;
use deai_staking::dec::Dec;
use serde::{Deserialize, Serialize};

use crate::DistributionError;

/// The distribution parameters, as genesis JSON writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributionParams {
    /// The share of each block's rewards that goes to the DAO treasury
    /// (the SDK's community pool) before validators are paid, e.g. `"0.02"`.
    pub community_tax: String,
    /// Whether delegators may send their rewards to another address.
    pub withdraw_addr_enabled: bool,
}

impl Default for DistributionParams {
    /// The Cosmos SDK's defaults.
    fn default() -> Self {
        DistributionParams {
            community_tax: "0.02".into(),
            withdraw_addr_enabled: true,
        }
    }
}

impl DistributionParams {
    /// The community tax.
    pub fn tax(&self) -> Result<Dec, DistributionError> {
        let d = Dec::parse_human(&self.community_tax)
            .map_err(|e| DistributionError::InvalidParams(format!("community_tax: {e}")))?;
        if d > Dec::ONE {
            return Err(DistributionError::InvalidParams(
                "community_tax must be at most 1".into(),
            ));
        }
        Ok(d)
    }

    /// Checks every bound.
    pub fn validate(&self) -> Result<(), DistributionError> {
        self.tax().map(|_| ())
    }

    /// The SDK's message (decimals as atomics text; the proposer rewards,
    /// deprecated in the SDK, are zero).
    pub fn to_proto(&self) -> sdk::Params {
        #[allow(deprecated)]
        sdk::Params {
            community_tax: self.tax().map(Dec::to_proto).unwrap_or_default(),
            base_proposer_reward: Dec::ZERO.to_proto(),
            bonus_proposer_reward: Dec::ZERO.to_proto(),
            withdraw_addr_enabled: self.withdraw_addr_enabled,
        }
    }

    /// Reads the SDK's message. Proposer rewards must be zero: the SDK
    /// deprecated them and this chain pays none.
    pub fn from_proto(p: &sdk::Params) -> Result<Self, DistributionError> {
        let dec = |field: &str, s: &str| {
            Dec::from_proto(s)
                .map_err(|e| DistributionError::InvalidParams(format!("{field}: {e}")))
        };
        #[allow(deprecated)]
        for (field, s) in [
            ("base_proposer_reward", &p.base_proposer_reward),
            ("bonus_proposer_reward", &p.bonus_proposer_reward),
        ] {
            if !dec(field, s)?.is_zero() {
                return Err(DistributionError::InvalidParams(format!(
                    "{field} must be zero (proposer rewards are not paid)"
                )));
            }
        }
        let tax = dec("community_tax", &p.community_tax)?;
        let params = DistributionParams {
            community_tax: human(tax),
            withdraw_addr_enabled: p.withdraw_addr_enabled,
        };
        params.validate()?;
        Ok(params)
    }
}

/// `d` in its shortest human form (`0.02`, `1`, `0`).
fn human(d: Dec) -> String {
    let s = d.to_string();
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_read_back_and_out_of_range_ones_are_refused() {
        let p = DistributionParams::default();
        assert_eq!(DistributionParams::from_proto(&p.to_proto()).unwrap(), p);
        let mut bad = p.clone();
        bad.community_tax = "1.5".into();
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("at most 1"));
        bad.community_tax = "-0.1".into();
        assert!(bad.validate().is_err());
        let mut proto = p.to_proto();
        #[allow(deprecated)]
        {
            proto.base_proposer_reward = Dec::ONE.to_proto();
        }
        assert!(DistributionParams::from_proto(&proto)
            .unwrap_err()
            .to_string()
            .contains("base_proposer_reward"));
    }
}
