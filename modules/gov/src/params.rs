//! Governance parameters and their validation. Periods are in blocks and
//! ratios in parts per million, so the tally is exact integer arithmetic.

use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use deai_proto::gov::v1::Params;
use deai_types::{Coin, BASE_DENOM};
use serde::{Deserialize, Serialize};

use crate::GovError;

/// One part per million.
pub const PPM: u64 = 1_000_000;

/// The governance parameters, as they appear in genesis JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovParams {
    /// Deposit that moves a proposal into voting.
    pub min_deposit: Vec<Coin>,
    /// The same for expedited proposals.
    pub expedited_min_deposit: Vec<Coin>,
    /// Blocks a proposal may wait for its deposit.
    pub max_deposit_period_blocks: u64,
    /// Blocks of voting.
    pub voting_period_blocks: u64,
    /// Blocks of voting for expedited proposals.
    pub expedited_voting_period_blocks: u64,
    /// Share of all voting power that must vote.
    pub quorum_ppm: u64,
    /// Share of non-abstaining votes that must be yes.
    pub threshold_ppm: u64,
    /// The same for expedited proposals.
    pub expedited_threshold_ppm: u64,
    /// Share of all votes that, as no-with-veto, rejects and burns deposits.
    pub veto_threshold_ppm: u64,
    /// Share of deposits burned when the proposer cancels.
    pub cancel_burn_ppm: u64,
    /// Share of `min_deposit` needed at submission.
    pub min_initial_deposit_ppm: u64,
    /// Proposals whose period ends that one block processes at most.
    pub max_proposals_per_block: u64,
    /// Messages one proposal may carry at most.
    pub max_messages: u64,
    /// Longest title, in bytes.
    pub max_title_len: u64,
    /// Longest summary, in bytes.
    pub max_summary_len: u64,
    /// Longest metadata, in bytes.
    pub max_metadata_len: u64,
}

impl Default for GovParams {
    /// The Cosmos SDK's defaults (quorum 33.4%, threshold 50%, veto 33.4%,
    /// expedited 66.7%, cancel burn 50%), with periods of two days and one
    /// day at one-second blocks.
    fn default() -> Self {
        GovParams {
            min_deposit: vec![Coin::new(10_000_000, BASE_DENOM)],
            expedited_min_deposit: vec![Coin::new(50_000_000, BASE_DENOM)],
            max_deposit_period_blocks: 172_800,
            voting_period_blocks: 172_800,
            expedited_voting_period_blocks: 86_400,
            quorum_ppm: 334_000,
            threshold_ppm: 500_000,
            expedited_threshold_ppm: 667_000,
            veto_threshold_ppm: 334_000,
            cancel_burn_ppm: 500_000,
            min_initial_deposit_ppm: 0,
            max_proposals_per_block: 50,
            max_messages: 10,
            max_title_len: 140,
            max_summary_len: 10_000,
            max_metadata_len: 255,
        }
    }
}

fn coins_to_proto(coins: &[Coin]) -> Vec<ProtoCoin> {
    coins
        .iter()
        .map(|c| ProtoCoin {
            denom: c.denom.clone(),
            amount: c.amount.to_string(),
        })
        .collect()
}

fn coins_from_proto(field: &str, coins: &[ProtoCoin]) -> Result<Vec<Coin>, GovError> {
    coins
        .iter()
        .map(|c| Coin::from_parts(&c.denom, &c.amount))
        .collect::<Result<_, _>>()
        .map_err(|e| GovError::InvalidParams(format!("{field}: {e}")))
}

impl GovParams {
    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), GovError> {
        let bad = |s: String| Err(GovError::InvalidParams(s));
        for (name, coins) in [
            ("min_deposit", &self.min_deposit),
            ("expedited_min_deposit", &self.expedited_min_deposit),
        ] {
            if coins.is_empty() || coins.iter().any(|c| c.amount == 0) {
                return bad(format!("{name} must be positive"));
            }
            for w in coins.windows(2) {
                if w[0].denom >= w[1].denom {
                    return bad(format!("{name} denoms must be sorted and unique"));
                }
            }
        }
        for (name, v) in [
            ("max_deposit_period_blocks", self.max_deposit_period_blocks),
            ("voting_period_blocks", self.voting_period_blocks),
            (
                "expedited_voting_period_blocks",
                self.expedited_voting_period_blocks,
            ),
            ("max_proposals_per_block", self.max_proposals_per_block),
            ("max_messages", self.max_messages),
            ("max_title_len", self.max_title_len),
        ] {
            if v == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if self.expedited_voting_period_blocks >= self.voting_period_blocks {
            return bad(
                "the expedited voting period must be shorter than the voting period".into(),
            );
        }
        for (name, v) in [
            ("quorum_ppm", self.quorum_ppm),
            ("threshold_ppm", self.threshold_ppm),
            ("expedited_threshold_ppm", self.expedited_threshold_ppm),
            ("veto_threshold_ppm", self.veto_threshold_ppm),
            ("cancel_burn_ppm", self.cancel_burn_ppm),
            ("min_initial_deposit_ppm", self.min_initial_deposit_ppm),
        ] {
            if v > PPM {
                return bad(format!("{name} must be at most {PPM} (100%)"));
            }
        }
        if self.threshold_ppm == 0 || self.veto_threshold_ppm == 0 {
            return bad("threshold and veto threshold must be positive".into());
        }
        if self.expedited_threshold_ppm < self.threshold_ppm {
            return bad("the expedited threshold must be at least the threshold".into());
        }
        Ok(())
    }

    /// As stored on chain.
    pub fn to_proto(&self) -> Params {
        Params {
            min_deposit: coins_to_proto(&self.min_deposit),
            expedited_min_deposit: coins_to_proto(&self.expedited_min_deposit),
            max_deposit_period_blocks: self.max_deposit_period_blocks,
            voting_period_blocks: self.voting_period_blocks,
            expedited_voting_period_blocks: self.expedited_voting_period_blocks,
            quorum_ppm: self.quorum_ppm,
            threshold_ppm: self.threshold_ppm,
            expedited_threshold_ppm: self.expedited_threshold_ppm,
            veto_threshold_ppm: self.veto_threshold_ppm,
            cancel_burn_ppm: self.cancel_burn_ppm,
            min_initial_deposit_ppm: self.min_initial_deposit_ppm,
            max_proposals_per_block: self.max_proposals_per_block,
            max_messages: self.max_messages,
            max_title_len: self.max_title_len,
            max_summary_len: self.max_summary_len,
            max_metadata_len: self.max_metadata_len,
        }
    }

    /// From the stored or submitted form (validated separately).
    pub fn from_proto(p: Params) -> Result<Self, GovError> {
        Ok(GovParams {
            min_deposit: coins_from_proto("min_deposit", &p.min_deposit)?,
            expedited_min_deposit: coins_from_proto(
                "expedited_min_deposit",
                &p.expedited_min_deposit,
            )?,
            max_deposit_period_blocks: p.max_deposit_period_blocks,
            voting_period_blocks: p.voting_period_blocks,
            expedited_voting_period_blocks: p.expedited_voting_period_blocks,
            quorum_ppm: p.quorum_ppm,
            threshold_ppm: p.threshold_ppm,
            expedited_threshold_ppm: p.expedited_threshold_ppm,
            veto_threshold_ppm: p.veto_threshold_ppm,
            cancel_burn_ppm: p.cancel_burn_ppm,
            min_initial_deposit_ppm: p.min_initial_deposit_ppm,
            max_proposals_per_block: p.max_proposals_per_block,
            max_messages: p.max_messages,
            max_title_len: p.max_title_len,
            max_summary_len: p.max_summary_len,
            max_metadata_len: p.max_metadata_len,
        })
    }

    /// The deposit that opens voting for a proposal.
    pub fn min_deposit_for(&self, expedited: bool) -> &[Coin] {
        if expedited {
            &self.expedited_min_deposit
        } else {
            &self.min_deposit
        }
    }
}

/// `amount × ppm / 1_000_000`, rounded down, without overflow.
pub fn share(amount: u128, ppm: u64) -> u128 {
    let ppm = u128::from(ppm.min(PPM));
    let unit = u128::from(PPM);
    (amount / unit) * ppm + (amount % unit) * ppm / unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let p = GovParams::default();
        p.validate().unwrap();
        assert_eq!(GovParams::from_proto(p.to_proto()).unwrap(), p);
    }

    #[test]
    fn share_is_exact_for_huge_amounts() {
        assert_eq!(share(u128::MAX, PPM), u128::MAX);
        assert_eq!(share(1_000, 500_000), 500);
        assert_eq!(share(999, 1), 0);
    }
}
