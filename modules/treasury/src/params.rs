//! Treasury parameters and their validation.

use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use deai_proto::treasury::v1::Params;
use deai_types::Coin;
use serde::{Deserialize, Serialize};

use crate::TreasuryError;

/// One part per million: ratios are integers over this.
pub const PPM: u64 = 1_000_000;

/// The treasury parameters, as they appear in genesis JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreasuryParams {
    /// Share of every tx fee paid into the treasury, parts per million.
    pub fee_share_ppm: u64,
    /// Length of a spending epoch in blocks.
    pub epoch_blocks: u64,
    /// Most paid out per epoch, per denom (denoms not listed: no cap).
    #[serde(default)]
    pub spend_cap_per_epoch: Vec<Coin>,
    /// Most streams active at once.
    pub max_active_streams: u64,
}

impl Default for TreasuryParams {
    fn default() -> Self {
        TreasuryParams {
            fee_share_ppm: 200_000,
            epoch_blocks: 100_800,
            spend_cap_per_epoch: Vec::new(),
            max_active_streams: 50,
        }
    }
}

impl TreasuryParams {
    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), TreasuryError> {
        let bad = |s: &str| Err(TreasuryError::InvalidParams(s.into()));
        if self.fee_share_ppm > PPM {
            return bad("fee_share_ppm must be at most 1000000 (100%)");
        }
        if self.epoch_blocks == 0 {
            return bad("epoch_blocks must be at least 1");
        }
        if self.max_active_streams == 0 || self.max_active_streams > 10_000 {
            return bad("max_active_streams must be between 1 and 10000");
        }
        let mut prev: Option<&str> = None;
        for c in &self.spend_cap_per_epoch {
            Coin::validate_denom(&c.denom)
                .map_err(|e| TreasuryError::InvalidParams(format!("spend cap: {e}")))?;
            if prev.is_some_and(|p| p >= c.denom.as_str()) {
                return bad("spend cap denoms must be sorted and unique");
            }
            prev = Some(&c.denom);
        }
        Ok(())
    }

    /// The cap for `denom`, if any.
    pub fn cap(&self, denom: &str) -> Option<u128> {
        self.spend_cap_per_epoch
            .iter()
            .find(|c| c.denom == denom)
            .map(|c| c.amount)
    }

    /// As stored on chain.
    pub fn to_proto(&self) -> Params {
        Params {
            fee_share_ppm: self.fee_share_ppm,
            epoch_blocks: self.epoch_blocks,
            spend_cap_per_epoch: self.spend_cap_per_epoch.iter().map(to_proto_coin).collect(),
            max_active_streams: self.max_active_streams,
        }
    }

    /// From the stored or submitted form (validated separately).
    pub fn from_proto(p: Params) -> Result<Self, TreasuryError> {
        Ok(TreasuryParams {
            fee_share_ppm: p.fee_share_ppm,
            epoch_blocks: p.epoch_blocks,
            spend_cap_per_epoch: p
                .spend_cap_per_epoch
                .iter()
                .map(|c| Coin::from_parts(&c.denom, &c.amount))
                .collect::<Result<_, _>>()
                .map_err(|e| TreasuryError::InvalidParams(format!("spend cap: {e}")))?,
            max_active_streams: p.max_active_streams,
        })
    }
}

/// A coin in its protobuf form.
pub fn to_proto_coin(c: &Coin) -> ProtoCoin {
    ProtoCoin {
        denom: c.denom.clone(),
        amount: c.amount.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let p = TreasuryParams::default();
        p.validate().unwrap();
        assert_eq!(TreasuryParams::from_proto(p.to_proto()).unwrap(), p);
    }

    #[test]
    fn a_fee_share_above_one_hundred_percent_is_refused() {
        let p = TreasuryParams {
            fee_share_ppm: PPM + 1,
            ..Default::default()
        };
        assert!(p.validate().is_err());
    }
}
