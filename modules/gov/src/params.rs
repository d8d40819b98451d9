//! Governance parameters and their validation. Periods are in blocks and
//! ratios in parts per million, so the tally is exact integer arithmetic.

use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use deai_proto::gov::v1::Params;
use deai_types::{Coin, BASE_DENOM};
use serde::{Deserialize, Serialize};

use crate::GovError;

/// One part per million.
pub const PPM: u64 = 1_000_000;

/// Longest deposit or voting period, in blocks (about 116 days at one
/// block per second). Heights stay far from `u64::MAX`, and a vote never
/// needs history older than this.
pub const MAX_PERIOD_BLOCKS: u64 = 10_000_000;
/// Most proposals one end block may settle: each may tally many votes and
/// run messages, so this bounds the block's work.
pub const MAX_PROPOSALS_PER_BLOCK: u64 = 100;
/// Most messages a proposal may carry (a tx carries at most this many too).
pub const MAX_MESSAGES: u64 = 100;
/// Longest title a parameter change may allow, in bytes.
pub const MAX_TITLE_LEN: u64 = 1_024;
/// Longest summary a parameter change may allow, in bytes.
pub const MAX_SUMMARY_LEN: u64 = 100_000;
/// Longest metadata a parameter change may allow, in bytes.
pub const MAX_METADATA_LEN: u64 = 10_000;
/// Most denoms in a minimum deposit.
pub const MAX_DEPOSIT_DENOMS: usize = 16;

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
    /// Share of `min_deposit` needed at submission (at least 1 ppm, and at
    /// least 1 unit of each denom), so spam proposals cost real tokens.
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
            // Osmosis' choice: a quarter of the deposit up front.
            min_initial_deposit_ppm: 250_000,
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
            if coins.len() > MAX_DEPOSIT_DENOMS {
                return bad(format!(
                    "{name} may list at most {MAX_DEPOSIT_DENOMS} denoms"
                ));
            }
            for c in coins {
                if let Err(e) = Coin::validate_denom(&c.denom) {
                    return bad(format!("{name}: {e}"));
                }
            }
            for w in coins.windows(2) {
                if w[0].denom >= w[1].denom {
                    return bad(format!("{name} denoms must be sorted and unique"));
                }
            }
        }
        for (name, v, max) in [
            (
                "max_deposit_period_blocks",
                self.max_deposit_period_blocks,
                MAX_PERIOD_BLOCKS,
            ),
            (
                "voting_period_blocks",
                self.voting_period_blocks,
                MAX_PERIOD_BLOCKS,
            ),
            (
                "expedited_voting_period_blocks",
                self.expedited_voting_period_blocks,
                MAX_PERIOD_BLOCKS,
            ),
            (
                "max_proposals_per_block",
                self.max_proposals_per_block,
                MAX_PROPOSALS_PER_BLOCK,
            ),
            ("max_messages", self.max_messages, MAX_MESSAGES),
            ("max_title_len", self.max_title_len, MAX_TITLE_LEN),
            ("min_initial_deposit_ppm", self.min_initial_deposit_ppm, PPM),
        ] {
            if v == 0 || v > max {
                return bad(format!("{name} must be between 1 and {max}"));
            }
        }
        for (name, v, max) in [
            ("max_summary_len", self.max_summary_len, MAX_SUMMARY_LEN),
            ("max_metadata_len", self.max_metadata_len, MAX_METADATA_LEN),
        ] {
            if v > max {
                return bad(format!("{name} must be at most {max}"));
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

    /// The least a proposer must deposit at submission: `min_initial_deposit_ppm`
    /// of the minimum deposit, rounded up and at least 1 of each denom, so a
    /// proposal never costs nothing.
    pub fn min_initial_deposit(&self, expedited: bool) -> Vec<Coin> {
        let ppm = u128::from(self.min_initial_deposit_ppm.min(PPM));
        self.min_deposit_for(expedited)
            .iter()
            .map(|c| {
                let floor = share(c.amount, self.min_initial_deposit_ppm);
                // Round up: amount × ppm / 1e6 has a fraction exactly when
                // (amount mod 1e6) × ppm is not a multiple of 1e6 (that
                // product is below 1e12, so it cannot overflow).
                let unit = u128::from(PPM);
                let fraction = (c.amount % unit).saturating_mul(ppm) % unit;
                let up = if fraction == 0 {
                    floor
                } else {
                    floor.saturating_add(1)
                };
                Coin::new(up.max(1), c.denom.clone())
            })
            .collect()
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
    deai_types::coin::ppm_share(amount, ppm)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One way to break a valid parameter set.
    type Change = fn(&mut GovParams);

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let p = GovParams::default();
        p.validate().unwrap();
        assert_eq!(GovParams::from_proto(p.to_proto()).unwrap(), p);
    }

    #[test]
    fn every_period_and_limit_has_an_upper_and_a_lower_bound() {
        let ok = GovParams::default();
        let cases: Vec<(&str, Change)> = vec![
            ("deposit period 0", |p: &mut GovParams| {
                p.max_deposit_period_blocks = 0
            }),
            ("deposit period huge", |p: &mut GovParams| {
                p.max_deposit_period_blocks = u64::MAX
            }),
            ("voting period huge", |p: &mut GovParams| {
                p.voting_period_blocks = u64::MAX
            }),
            ("voting period too long", |p: &mut GovParams| {
                p.voting_period_blocks = MAX_PERIOD_BLOCKS + 1
            }),
            ("proposals per block huge", |p: &mut GovParams| {
                p.max_proposals_per_block = u64::MAX
            }),
            ("messages huge", |p: &mut GovParams| {
                p.max_messages = u64::MAX
            }),
            ("title huge", |p: &mut GovParams| p.max_title_len = u64::MAX),
            ("summary huge", |p: &mut GovParams| {
                p.max_summary_len = u64::MAX
            }),
            ("metadata huge", |p: &mut GovParams| {
                p.max_metadata_len = u64::MAX
            }),
            ("zero initial deposit", |p: &mut GovParams| {
                p.min_initial_deposit_ppm = 0
            }),
            ("initial deposit above 100%", |p: &mut GovParams| {
                p.min_initial_deposit_ppm = PPM + 1
            }),
            ("bad deposit denom", |p: &mut GovParams| {
                p.min_deposit = vec![Coin {
                    denom: "".into(),
                    amount: 1,
                }]
            }),
        ];
        for (what, change) in cases {
            let mut p = ok.clone();
            change(&mut p);
            assert!(p.validate().is_err(), "{what} must be refused");
        }
        let mut longest = ok.clone();
        longest.max_deposit_period_blocks = MAX_PERIOD_BLOCKS;
        longest.voting_period_blocks = MAX_PERIOD_BLOCKS;
        longest.validate().unwrap();
    }

    #[test]
    fn the_initial_deposit_is_never_zero_and_rounds_up() {
        let mut p = GovParams {
            min_deposit: vec![Coin::new(3, BASE_DENOM)],
            min_initial_deposit_ppm: 1,
            ..GovParams::default()
        };
        assert_eq!(p.min_initial_deposit(false), vec![Coin::new(1, BASE_DENOM)]);
        p.min_deposit = vec![Coin::new(1_000, BASE_DENOM)];
        p.min_initial_deposit_ppm = 250_000;
        assert_eq!(
            p.min_initial_deposit(false),
            vec![Coin::new(250, BASE_DENOM)]
        );
        p.min_deposit = vec![Coin::new(1_001, BASE_DENOM)];
        assert_eq!(
            p.min_initial_deposit(false),
            vec![Coin::new(251, BASE_DENOM)]
        );
        p.min_initial_deposit_ppm = PPM;
        assert_eq!(
            p.min_initial_deposit(false),
            vec![Coin::new(1_001, BASE_DENOM)]
        );
    }

    #[test]
    fn share_is_exact_for_huge_amounts() {
        assert_eq!(share(u128::MAX, PPM), u128::MAX);
        assert_eq!(share(1_000, 500_000), 500);
        assert_eq!(share(999, 1), 0);
    }
}
