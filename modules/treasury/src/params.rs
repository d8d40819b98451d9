//! Treasury parameters and their validation.

use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use deai_proto::treasury::v1::Params;
use deai_types::Coin;
use serde::{Deserialize, Serialize};

use crate::TreasuryError;

/// One part per million: ratios are integers over this.
pub const PPM: u64 = 1_000_000;
/// Longest spending epoch, in blocks (about three years at one block a second).
pub const MAX_EPOCH_BLOCKS: u64 = 100_000_000;
/// Most streams governance may allow at once: every one is paid in every
/// end block, so this bounds that block's work.
pub const MAX_ACTIVE_STREAMS: u64 = 1_000;
/// Most denoms in a spend cap, a spend or a stream's per-block amount.
pub const MAX_DENOMS: usize = 16;
/// Most payments one stream may make (about three years of blocks).
pub const MAX_STREAM_PAYMENTS: u64 = 100_000_000;

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
        if self.epoch_blocks == 0 || self.epoch_blocks > MAX_EPOCH_BLOCKS {
            return Err(TreasuryError::InvalidParams(format!(
                "epoch_blocks must be between 1 and {MAX_EPOCH_BLOCKS}"
            )));
        }
        if self.max_active_streams == 0 || self.max_active_streams > MAX_ACTIVE_STREAMS {
            return Err(TreasuryError::InvalidParams(format!(
                "max_active_streams must be between 1 and {MAX_ACTIVE_STREAMS}"
            )));
        }
        if self.spend_cap_per_epoch.len() > MAX_DENOMS {
            return Err(TreasuryError::InvalidParams(format!(
                "the spend cap may list at most {MAX_DENOMS} denoms"
            )));
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

    /// One way to break a valid parameter set.
    type Change = fn(&mut TreasuryParams);

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let p = TreasuryParams::default();
        p.validate().unwrap();
        assert_eq!(TreasuryParams::from_proto(p.to_proto()).unwrap(), p);
    }

    #[test]
    fn epochs_stream_limits_and_caps_have_upper_and_lower_bounds() {
        let cases: Vec<(&str, Change)> = vec![
            ("epoch 0", |p: &mut TreasuryParams| p.epoch_blocks = 0),
            ("epoch huge", |p: &mut TreasuryParams| {
                p.epoch_blocks = u64::MAX
            }),
            ("no streams", |p: &mut TreasuryParams| {
                p.max_active_streams = 0
            }),
            ("streams above the bound", |p: &mut TreasuryParams| {
                p.max_active_streams = MAX_ACTIVE_STREAMS + 1
            }),
            ("too many cap denoms", |p: &mut TreasuryParams| {
                p.spend_cap_per_epoch = (0..=MAX_DENOMS)
                    .map(|i| Coin::new(1, format!("denom{i:02}")))
                    .collect()
            }),
        ];
        for (what, change) in cases {
            let mut p = TreasuryParams::default();
            change(&mut p);
            assert!(p.validate().is_err(), "{what} must be refused");
        }
        let most = TreasuryParams {
            epoch_blocks: MAX_EPOCH_BLOCKS,
            max_active_streams: MAX_ACTIVE_STREAMS,
            ..TreasuryParams::default()
        };
        most.validate().unwrap();
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
