//! Compute parameters, their validation and the integer fraction helper.
//! Fractions are parts per million (`u32`, at most 1 000 000); amounts are
//! `u128` udeai, written as decimal strings in JSON and protobuf.

use deai_proto::compute::v1::Params;
use deai_types::Coin;
use serde::{Deserialize, Serialize};

use crate::ComputeError;

/// One million: a whole, in parts per million.
pub const PPM: u32 = 1_000_000;

/// Largest `reward_per_work_unit`: with at most 2^26 work units per job it
/// keeps every reward far below 2^128.
pub const MAX_REWARD_PER_WORK_UNIT: u128 = 1_000_000_000_000_000_000;

/// Largest `min_price_per_work_unit` (same bound as the reward, same reason).
pub const MAX_MIN_PRICE_PER_WORK_UNIT: u128 = MAX_REWARD_PER_WORK_UNIT;

/// Largest `max_minted_per_epoch`: 10^9 DEAI, far below where a sum of
/// epoch mints could overflow the supply.
pub const MAX_MINTED_PER_EPOCH: u128 = 1_000_000_000_000_000_000_000_000;

/// Largest `unbonding_period` and `jail_period`: about two years of 6-second
/// blocks. Heights stay far from `u64::MAX`, so `height + period` never wraps.
pub const MAX_PERIOD_BLOCKS: u64 = 10_000_000;

/// Largest `commit_window` and `reveal_window`: a job's life stays short
/// enough that its escrow and its providers' bonds are not locked for good.
pub const MAX_WINDOW_BLOCKS: u64 = 100_000;

/// Largest `max_pending_blocks`.
pub const MAX_PENDING_BLOCKS: u64 = 100_000;

/// Largest `epoch_blocks`.
pub const MAX_EPOCH_BLOCKS: u64 = 10_000_000;

/// Largest `max_settlements_per_block` and `max_assignments_per_block`: each
/// settlement or assignment costs `O(R log providers)` reads and writes, so
/// this bounds a block hook's work.
pub const MAX_PER_BLOCK_LIMIT: u32 = 1_000;

/// Largest `max_replication`.
pub const MAX_REPLICATION: u32 = 100;

/// Largest `max_input_bytes`.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Largest `max_output_bytes`.
pub const MAX_OUTPUT_BYTES: u64 = 1024 * 1024;

/// `amount × ppm / 1 000 000`, rounded down, without overflow for any `u128`.
pub fn apply_ppm(amount: u128, ppm: u32) -> u128 {
    let ppm = u128::from(ppm.min(PPM));
    let whole = u128::from(PPM);
    // (q·W + r)·p/W = q·p + r·p/W; q·p ≤ amount and r·p < W², so nothing overflows.
    // The divisor is a non-zero constant, so the fallbacks never apply.
    let q = amount.checked_div(whole).unwrap_or(0);
    let r = amount.checked_rem(whole).unwrap_or(0);
    q.saturating_mul(ppm)
        .saturating_add(r.saturating_mul(ppm).checked_div(whole).unwrap_or(0))
}

/// The compute parameters, as they appear in genesis JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeParams {
    /// Smallest bond (udeai) to register and to be assigned work.
    #[serde(with = "amount")]
    pub min_provider_bond: u128,
    /// Blocks an unbonding waits before it is paid out.
    pub unbonding_period: u64,
    /// Blocks a provider stays jailed after missing work.
    pub jail_period: u64,
    /// Largest inline job input, in bytes.
    pub max_input_bytes: u64,
    /// Largest output a reveal may carry, in bytes.
    pub max_output_bytes: u64,
    /// Largest replication factor.
    pub max_replication: u32,
    /// Blocks after assignment (inclusive of the assignment block) for commitments.
    pub commit_window: u64,
    /// Blocks after the commit deadline for reveals.
    pub reveal_window: u64,
    /// Share of the bond slashed for a minority result, in ppm.
    pub slash_fraction_wrong_ppm: u32,
    /// Share of the bond slashed for a missed commit or reveal, in ppm.
    pub slash_fraction_missed_ppm: u32,
    /// udeai minted per work unit to each agreeing provider of a job with
    /// `R ≥ 3` (never more than the price it is paid).
    #[serde(with = "amount")]
    pub reward_per_work_unit: u128,
    /// Most jobs settled per end_block.
    pub max_settlements_per_block: u32,
    /// Most pending jobs examined per begin_block.
    pub max_assignments_per_block: u32,
    /// Blocks a job may wait for enough eligible providers before it expires.
    pub max_pending_blocks: u64,
    /// Fewest blocks a requester's deadline may leave each of the commit and
    /// reveal phases (at most both windows): a deadline short enough to make
    /// honest providers miss, and be slashed, is refused.
    #[serde(default = "default_min_phase_window")]
    pub min_phase_window: u64,
    /// Blocks in a reward epoch (epoch = height / epoch_blocks).
    #[serde(default = "default_epoch_blocks")]
    pub epoch_blocks: u64,
    /// Most udeai minted as rewards in one epoch.
    #[serde(default = "default_max_minted_per_epoch", with = "amount")]
    pub max_minted_per_epoch: u128,
    /// Smallest price per replica per work unit, udeai.
    #[serde(default = "default_min_price_per_work_unit", with = "amount")]
    pub min_price_per_work_unit: u128,
}

fn default_min_phase_window() -> u64 {
    ComputeParams::default().min_phase_window
}

fn default_epoch_blocks() -> u64 {
    ComputeParams::default().epoch_blocks
}

fn default_max_minted_per_epoch() -> u128 {
    ComputeParams::default().max_minted_per_epoch
}

fn default_min_price_per_work_unit() -> u128 {
    ComputeParams::default().min_price_per_work_unit
}

impl Default for ComputeParams {
    fn default() -> Self {
        ComputeParams {
            min_provider_bond: 1_000_000_000,
            unbonding_period: 100_800,
            jail_period: 14_400,
            max_input_bytes: 65_536,
            max_output_bytes: 4_096,
            max_replication: 7,
            commit_window: 20,
            reveal_window: 20,
            slash_fraction_wrong_ppm: 50_000,
            slash_fraction_missed_ppm: 10_000,
            reward_per_work_unit: 1_000,
            max_settlements_per_block: 100,
            max_assignments_per_block: 100,
            max_pending_blocks: 100,
            min_phase_window: 5,
            epoch_blocks: 14_400,
            max_minted_per_epoch: 100_000_000_000,
            min_price_per_work_unit: 1_000,
        }
    }
}

impl ComputeParams {
    /// Checks every field is in range: every governable value has an upper
    /// bound the block hooks can run with (no height sum can wrap, no hook
    /// does unbounded work).
    pub fn validate(&self) -> Result<(), ComputeError> {
        let bad = |s: &str| Err(ComputeError::InvalidParams(s.to_string()));
        if self.min_provider_bond == 0 {
            return bad("min_provider_bond must be positive");
        }
        if self.unbonding_period == 0 || self.unbonding_period > MAX_PERIOD_BLOCKS {
            return bad("unbonding_period must be between 1 and 10000000 blocks");
        }
        if self.jail_period == 0 || self.jail_period > MAX_PERIOD_BLOCKS {
            return bad("jail_period must be between 1 and 10000000 blocks");
        }
        if self.max_input_bytes == 0 || self.max_input_bytes > MAX_INPUT_BYTES {
            return bad("max_input_bytes must be between 1 and 16 MiB");
        }
        if self.max_output_bytes > MAX_OUTPUT_BYTES {
            return bad("max_output_bytes must be at most 1 MiB");
        }
        if self.max_replication == 0 || self.max_replication > MAX_REPLICATION {
            return bad("max_replication must be between 1 and 100");
        }
        if self.commit_window == 0
            || self.reveal_window == 0
            || self.commit_window > MAX_WINDOW_BLOCKS
            || self.reveal_window > MAX_WINDOW_BLOCKS
        {
            return bad("commit_window and reveal_window must be between 1 and 100000 blocks");
        }
        if self.slash_fraction_wrong_ppm > PPM || self.slash_fraction_missed_ppm > PPM {
            return bad("slash fractions must be at most 1000000 ppm");
        }
        if self.slash_fraction_missed_ppm > self.slash_fraction_wrong_ppm {
            return bad("slash_fraction_missed_ppm must not exceed slash_fraction_wrong_ppm");
        }
        if self.reward_per_work_unit > MAX_REWARD_PER_WORK_UNIT {
            return bad("reward_per_work_unit must be at most 10^18 udeai");
        }
        if self.max_settlements_per_block == 0
            || self.max_assignments_per_block == 0
            || self.max_settlements_per_block > MAX_PER_BLOCK_LIMIT
            || self.max_assignments_per_block > MAX_PER_BLOCK_LIMIT
        {
            return bad(
                "max_settlements_per_block and max_assignments_per_block must be between 1 and 1000",
            );
        }
        if self.max_pending_blocks == 0 || self.max_pending_blocks > MAX_PENDING_BLOCKS {
            return bad("max_pending_blocks must be between 1 and 100000 blocks");
        }
        if self.min_phase_window == 0
            || self.min_phase_window > self.commit_window
            || self.min_phase_window > self.reveal_window
        {
            return bad("min_phase_window must be at least 1 block and at most commit_window and reveal_window");
        }
        if self.epoch_blocks == 0 || self.epoch_blocks > MAX_EPOCH_BLOCKS {
            return bad("epoch_blocks must be between 1 and 10000000 blocks");
        }
        if self.max_minted_per_epoch > MAX_MINTED_PER_EPOCH {
            return bad("max_minted_per_epoch must be at most 10^27 udeai");
        }
        if self.min_price_per_work_unit > MAX_MIN_PRICE_PER_WORK_UNIT {
            return bad("min_price_per_work_unit must be at most 10^18 udeai");
        }
        Ok(())
    }

    /// The parameters forced into the ranges [`ComputeParams::validate`]
    /// accepts. Stored parameters always passed `validate`, but the block
    /// hooks read them through this as well, so that no stored value (an old
    /// state, a bug elsewhere) can make a hook overflow or do unbounded work.
    pub fn clamped(&self) -> Self {
        let commit_window = self.commit_window.clamp(1, MAX_WINDOW_BLOCKS);
        let reveal_window = self.reveal_window.clamp(1, MAX_WINDOW_BLOCKS);
        let slash_fraction_wrong_ppm = self.slash_fraction_wrong_ppm.min(PPM);
        ComputeParams {
            min_provider_bond: self.min_provider_bond.max(1),
            unbonding_period: self.unbonding_period.clamp(1, MAX_PERIOD_BLOCKS),
            jail_period: self.jail_period.clamp(1, MAX_PERIOD_BLOCKS),
            max_input_bytes: self.max_input_bytes.clamp(1, MAX_INPUT_BYTES),
            max_output_bytes: self.max_output_bytes.min(MAX_OUTPUT_BYTES),
            max_replication: self.max_replication.clamp(1, MAX_REPLICATION),
            commit_window,
            reveal_window,
            slash_fraction_wrong_ppm,
            slash_fraction_missed_ppm: self.slash_fraction_missed_ppm.min(slash_fraction_wrong_ppm),
            reward_per_work_unit: self.reward_per_work_unit.min(MAX_REWARD_PER_WORK_UNIT),
            max_settlements_per_block: self.max_settlements_per_block.clamp(1, MAX_PER_BLOCK_LIMIT),
            max_assignments_per_block: self.max_assignments_per_block.clamp(1, MAX_PER_BLOCK_LIMIT),
            max_pending_blocks: self.max_pending_blocks.clamp(1, MAX_PENDING_BLOCKS),
            min_phase_window: self
                .min_phase_window
                .clamp(1, commit_window.min(reveal_window)),
            epoch_blocks: self.epoch_blocks.clamp(1, MAX_EPOCH_BLOCKS),
            max_minted_per_epoch: self.max_minted_per_epoch.min(MAX_MINTED_PER_EPOCH),
            min_price_per_work_unit: self
                .min_price_per_work_unit
                .min(MAX_MIN_PRICE_PER_WORK_UNIT),
        }
    }

    /// As stored on chain.
    pub fn to_proto(&self) -> Params {
        Params {
            min_provider_bond: self.min_provider_bond.to_string(),
            unbonding_period: self.unbonding_period,
            jail_period: self.jail_period,
            max_input_bytes: self.max_input_bytes,
            max_output_bytes: self.max_output_bytes,
            max_replication: self.max_replication,
            commit_window: self.commit_window,
            reveal_window: self.reveal_window,
            slash_fraction_wrong_ppm: self.slash_fraction_wrong_ppm,
            slash_fraction_missed_ppm: self.slash_fraction_missed_ppm,
            reward_per_work_unit: self.reward_per_work_unit.to_string(),
            max_settlements_per_block: self.max_settlements_per_block,
            max_assignments_per_block: self.max_assignments_per_block,
            max_pending_blocks: self.max_pending_blocks,
            min_phase_window: self.min_phase_window,
            epoch_blocks: self.epoch_blocks,
            max_minted_per_epoch: self.max_minted_per_epoch.to_string(),
            min_price_per_work_unit: self.min_price_per_work_unit.to_string(),
        }
    }

    /// From the protobuf form (stored, or carried by `MsgUpdateParams`);
    /// amounts must parse, ranges are checked by [`ComputeParams::validate`].
    /// Fields added after launch (`epoch_blocks`, `max_minted_per_epoch`,
    /// `min_price_per_work_unit`) read as their defaults when unset.
    pub fn from_proto(p: &Params) -> Result<Self, ComputeError> {
        let amount = |field: &str, s: &str| {
            Coin::parse_amount(s).map_err(|e| ComputeError::InvalidParams(format!("{field}: {e}")))
        };
        let defaults = ComputeParams::default();
        let amount_or = |field: &str, s: &str, default: u128| {
            if s.is_empty() {
                Ok(default)
            } else {
                amount(field, s)
            }
        };
        Ok(ComputeParams {
            min_provider_bond: amount("min_provider_bond", &p.min_provider_bond)?,
            unbonding_period: p.unbonding_period,
            jail_period: p.jail_period,
            max_input_bytes: p.max_input_bytes,
            max_output_bytes: p.max_output_bytes,
            max_replication: p.max_replication,
            commit_window: p.commit_window,
            reveal_window: p.reveal_window,
            slash_fraction_wrong_ppm: p.slash_fraction_wrong_ppm,
            slash_fraction_missed_ppm: p.slash_fraction_missed_ppm,
            reward_per_work_unit: amount("reward_per_work_unit", &p.reward_per_work_unit)?,
            max_settlements_per_block: p.max_settlements_per_block,
            max_assignments_per_block: p.max_assignments_per_block,
            max_pending_blocks: p.max_pending_blocks,
            min_phase_window: p.min_phase_window,
            epoch_blocks: if p.epoch_blocks == 0 {
                defaults.epoch_blocks
            } else {
                p.epoch_blocks
            },
            max_minted_per_epoch: amount_or(
                "max_minted_per_epoch",
                &p.max_minted_per_epoch,
                defaults.max_minted_per_epoch,
            )?,
            min_price_per_work_unit: amount_or(
                "min_price_per_work_unit",
                &p.min_price_per_work_unit,
                defaults.min_price_per_work_unit,
            )?,
        })
    }
}

/// Serde for `u128` amounts as decimal strings (JSON numbers lose precision).
pub mod amount {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the amount as a decimal string.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Reads a decimal string amount.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        deai_types::Coin::parse_amount(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_default_params_are_valid_and_round_trip_through_protobuf() {
        let p = ComputeParams::default();
        p.validate().unwrap();
        assert_eq!(ComputeParams::from_proto(&p.to_proto()).unwrap(), p);
    }

    #[test]
    fn out_of_range_params_are_rejected() {
        let mut p = ComputeParams {
            slash_fraction_wrong_ppm: PPM + 1,
            ..ComputeParams::default()
        };
        assert!(p.validate().is_err());
        p = ComputeParams {
            max_replication: 0,
            ..ComputeParams::default()
        };
        assert!(p.validate().is_err());
        p = ComputeParams {
            slash_fraction_missed_ppm: 60_000,
            slash_fraction_wrong_ppm: 50_000,
            ..ComputeParams::default()
        };
        assert!(p.validate().is_err());
        for (commit_window, reveal_window, min_phase_window) in
            [(20, 20, 0), (4, 20, 5), (20, 4, 5)]
        {
            p = ComputeParams {
                commit_window,
                reveal_window,
                min_phase_window,
                ..ComputeParams::default()
            };
            assert!(p.validate().is_err(), "{p:?}");
        }
    }

    #[test]
    fn huge_windows_periods_and_limits_are_refused_by_validate() {
        let cases: Vec<ComputeParams> = vec![
            ComputeParams {
                commit_window: u64::MAX / 2,
                ..ComputeParams::default()
            },
            ComputeParams {
                reveal_window: MAX_WINDOW_BLOCKS + 1,
                ..ComputeParams::default()
            },
            ComputeParams {
                jail_period: u64::MAX,
                ..ComputeParams::default()
            },
            ComputeParams {
                unbonding_period: MAX_PERIOD_BLOCKS + 1,
                ..ComputeParams::default()
            },
            ComputeParams {
                max_pending_blocks: u64::MAX,
                ..ComputeParams::default()
            },
            ComputeParams {
                max_settlements_per_block: u32::MAX,
                ..ComputeParams::default()
            },
            ComputeParams {
                max_assignments_per_block: MAX_PER_BLOCK_LIMIT + 1,
                ..ComputeParams::default()
            },
            ComputeParams {
                epoch_blocks: 0,
                ..ComputeParams::default()
            },
            ComputeParams {
                epoch_blocks: MAX_EPOCH_BLOCKS + 1,
                ..ComputeParams::default()
            },
            ComputeParams {
                max_minted_per_epoch: u128::MAX,
                ..ComputeParams::default()
            },
            ComputeParams {
                min_price_per_work_unit: u128::MAX,
                ..ComputeParams::default()
            },
        ];
        for p in cases {
            assert!(p.validate().is_err(), "{p:?}");
        }
    }

    #[test]
    fn clamped_params_always_validate_and_leave_valid_params_alone() {
        let p = ComputeParams::default();
        assert_eq!(p.clamped(), p);
        let extreme = ComputeParams {
            min_provider_bond: 0,
            unbonding_period: u64::MAX,
            jail_period: u64::MAX,
            max_input_bytes: u64::MAX,
            max_output_bytes: u64::MAX,
            max_replication: u32::MAX,
            commit_window: u64::MAX,
            reveal_window: 0,
            slash_fraction_wrong_ppm: u32::MAX,
            slash_fraction_missed_ppm: u32::MAX,
            reward_per_work_unit: u128::MAX,
            max_settlements_per_block: 0,
            max_assignments_per_block: u32::MAX,
            max_pending_blocks: u64::MAX,
            min_phase_window: u64::MAX,
            epoch_blocks: u64::MAX,
            max_minted_per_epoch: u128::MAX,
            min_price_per_work_unit: u128::MAX,
        };
        extreme.clamped().validate().unwrap();
    }

    #[test]
    fn params_stored_before_the_epoch_fields_existed_read_as_the_defaults() {
        let mut old = ComputeParams::default().to_proto();
        old.epoch_blocks = 0;
        old.max_minted_per_epoch.clear();
        old.min_price_per_work_unit.clear();
        assert_eq!(
            ComputeParams::from_proto(&old).unwrap(),
            ComputeParams::default()
        );
    }

    #[test]
    fn genesis_json_without_min_phase_window_gets_the_default() {
        let mut json = serde_json::to_value(ComputeParams::default()).unwrap();
        json.as_object_mut().unwrap().remove("min_phase_window");
        let back: ComputeParams = serde_json::from_value(json).unwrap();
        assert_eq!(back, ComputeParams::default());
    }

    #[test]
    fn params_read_from_genesis_json_with_string_amounts() {
        let json = serde_json::to_string(&ComputeParams::default()).unwrap();
        assert!(json.contains("\"min_provider_bond\":\"1000000000\""));
        let back: ComputeParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ComputeParams::default());
    }

    proptest! {
        #[test]
        fn apply_ppm_matches_wide_arithmetic_and_never_exceeds_the_amount(
            amount in any::<u128>(), ppm in 0u32..=PPM
        ) {
            let got = apply_ppm(amount, ppm);
            prop_assert!(got <= amount);
            if let Some(prod) = amount.checked_mul(u128::from(ppm)) {
                prop_assert_eq!(got, prod / u128::from(PPM));
            }
        }
    }
}
