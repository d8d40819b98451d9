//! Counting votes. A voter's own power is what it held in the state
//! committed at the end of the block where voting began: its udeai
//! balance, plus the tokens its staking delegations were worth there (each
//! delegation's shares at its validator's exchange rate), plus the balance
//! of its unbonding entries there. Staked tokens sit in the staking pools,
//! but they are their delegators': staking does not cost a member its vote.
//! To that, a voter adds the balances (in that same state) of everyone who
//! had lent it their voting power then and did not vote on this proposal
//! themselves. Delegation is one level deep: power lent to someone who does
//! not vote is not counted. Reading everything from one past state means
//! tokens moved during the vote cannot count twice.
//!
//! Lending covers liquid balances only: the bank keeps, for every
//! delegate, the running total of its delegators' balances, updated on
//! every balance change and on every (un)delegation
//! ([`deai_bank::BankWrite::set_link`]); the snapshot where voting began
//! holds that total as of then. A delegator's stake is not lent: whoever
//! stakes votes with that stake itself, or it goes unused. A delegate's
//! power is its own (balance and stake) plus that total, minus the balances
//! of its delegators who voted themselves, which the tally subtracts while
//! walking the votes. A delegate that refuses delegations (see
//! `MsgSetDelegationPolicy`) at the snapshot gets no lent power at all: its
//! delegators keep their own votes, and their power goes unused otherwise.
//!
//! Cost does not depend on how many delegate to a voter, so nobody can make
//! someone else's vote (or the tally) expensive by lending to them from
//! many accounts: O(votes), a few reads per vote for balances and lent
//! power, plus the voter's own stake, which reads at most
//! [`deai_staking::MAX_DELEGATIONS_PER_DELEGATOR`] delegations (each with
//! its validator) and as many unbonding records
//! ([`deai_staking::StakingRead::delegator_stake`]); the staking module
//! refuses a delegation or unbonding beyond that bound.
//!
//! The total power is the supply minus the balances of the accounts the app
//! names non-voting (module accounts holding no one's tokens: fees,
//! deposits, the treasury). The staking pools are not among them, so the
//! total counts staked and unbonding tokens, as the voters' power does.

use std::collections::BTreeMap;

use deai_bank::BankRead;
use deai_proto::gov::v1::{Proposal, TallyResult, Vote, VoteOption};
use deai_staking::StakingRead;
use deai_types::{Address, NonVoting, StateRead, BASE_DENOM};

use crate::{params::share, GovError, GovParams, GovRead};

/// Weights are in units of 1e-18; a vote's weights sum to this.
pub const WEIGHT_ONE: u64 = 1_000_000_000_000_000_000;

/// Voting power by option.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Yes.
    pub yes: u128,
    /// Abstain.
    pub abstain: u128,
    /// No.
    pub no: u128,
    /// No with veto.
    pub veto: u128,
    /// All power that could have voted.
    pub total_power: u128,
}

impl Tally {
    /// Power that voted at all.
    pub fn voted(&self) -> u128 {
        self.yes
            .saturating_add(self.abstain)
            .saturating_add(self.no)
            .saturating_add(self.veto)
    }

    /// As stored in a proposal.
    pub fn to_proto(&self) -> TallyResult {
        TallyResult {
            yes: self.yes.to_string(),
            abstain: self.abstain.to_string(),
            no: self.no.to_string(),
            no_with_veto: self.veto.to_string(),
            total_power: self.total_power.to_string(),
        }
    }
}

/// What the tally decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Passed: the messages run.
    Pass,
    /// Too little of the voting power voted.
    NoQuorum,
    /// Vetoed: deposits burn.
    Veto,
    /// Not enough yes.
    Reject,
}

/// `voter`'s own power in `history`: its udeai balance plus its staked and
/// unbonding tokens (staking's bond denom is udeai, which its params
/// enforce). At most [`deai_staking::MAX_DELEGATIONS_PER_DELEGATOR`]
/// delegations and as many unbondings are read.
pub fn own_power<H: StateRead>(history: &H, voter: &Address) -> Result<u128, GovError> {
    let liquid = history.balance(voter, BASE_DENOM)?;
    let staked = history.delegator_stake(voter)?.total();
    Ok(liquid.saturating_add(staked))
}

/// What `voter` could cast on a proposal whose snapshot is `history`: its
/// own power ([`own_power`]) plus the balances its delegators held then
/// (nothing lent if it refused delegations then). Delegators who vote
/// themselves take their share back in [`tally`]. Its cost does not
/// depend on how many lend to the voter.
pub fn power_bound<H: StateRead>(history: &H, voter: &Address) -> Result<u128, GovError> {
    let own = own_power(history, voter)?;
    Ok(own.saturating_add(lent_power(history, voter)?))
}

/// The balances lent to `delegate` in `history`, or 0 if it refused them.
fn lent_power<H: StateRead>(history: &H, delegate: &Address) -> Result<u128, GovError> {
    if history.refuses_delegations(delegate)? {
        return Ok(0);
    }
    Ok(history.linked_total(delegate)?)
}

/// The power that could vote: the supply minus the non-voting accounts'
/// balances (the staking pools are not among them: staked tokens count)
/// and minus what is held here for people on other chains.
pub fn total_power<H: StateRead>(history: &H, non_voting: &NonVoting) -> Result<u128, GovError> {
    let mut total = history.supply(BASE_DENOM)?;
    for a in &non_voting.accounts {
        total = total.saturating_sub(history.balance(a, BASE_DENOM)?);
    }
    Ok(total.saturating_sub(non_voting.held_elsewhere(history)?))
}

/// Adds one vote with `power` to `tally`.
pub fn add_vote(tally: &mut Tally, vote: &Vote, power: u128) -> Result<(), GovError> {
    for o in &vote.options {
        let part = weighted(power, o.weight);
        let slot = match VoteOption::try_from(o.option) {
            Ok(VoteOption::Yes) => &mut tally.yes,
            Ok(VoteOption::Abstain) => &mut tally.abstain,
            Ok(VoteOption::No) => &mut tally.no,
            Ok(VoteOption::NoWithVeto) => &mut tally.veto,
            _ => return Err(GovError::InvalidVote("stored vote has no option".into())),
        };
        *slot = slot
            .checked_add(part)
            .ok_or_else(|| GovError::InvalidVote("tally overflows".into()))?;
    }
    Ok(())
}

/// `power × weight / 1e18`, rounded down, without overflow.
pub fn weighted(power: u128, weight: u64) -> u128 {
    let one = u128::from(WEIGHT_ONE);
    let w = u128::from(weight.min(WEIGHT_ONE));
    (power / one) * w + (power % one) * w / one
}

/// Tallies proposal `p`: votes from `current`, power from `history`.
pub fn tally<H: StateRead, C: StateRead>(
    history: &H,
    current: &C,
    p: &Proposal,
    non_voting: &NonVoting,
) -> Result<Tally, GovError> {
    let mut t = Tally {
        total_power: total_power(history, non_voting)?,
        ..Tally::default()
    };
    // Pass 1: every voter takes its own balance back from its delegate
    // (only balances are lent, so only the balance comes back).
    let mut taken_back: BTreeMap<Address, u128> = BTreeMap::new();
    for_each_vote(current, p.id, |voter, _| {
        if let Some(delegate) = history.linked_to(voter)? {
            let lent = history.balance(voter, BASE_DENOM)?;
            let slot = taken_back.entry(delegate).or_insert(0);
            *slot = slot.saturating_add(lent);
        }
        Ok(())
    })?;
    // Pass 2: own power (balance and stake) plus what is still lent.
    for_each_vote(current, p.id, |voter, vote| {
        let own = own_power(history, voter)?;
        let lent =
            lent_power(history, voter)?.saturating_sub(taken_back.get(voter).copied().unwrap_or(0));
        add_vote(&mut t, vote, own.saturating_add(lent))
    })?;
    Ok(t)
}

/// Calls `f` with every vote on proposal `id`, in voter order, a page at a time.
fn for_each_vote<C: StateRead>(
    current: &C,
    id: u64,
    mut f: impl FnMut(&Address, &Vote) -> Result<(), GovError>,
) -> Result<(), GovError> {
    let mut after: Option<Address> = None;
    loop {
        let page = current.votes(id, after.as_ref(), 256)?;
        let Some(last) = page.last() else { break };
        after = Some(
            last.voter
                .parse()
                .map_err(|e| GovError::InvalidVote(format!("stored voter: {e}")))?,
        );
        for v in &page {
            let voter: Address = v
                .voter
                .parse()
                .map_err(|e| GovError::InvalidVote(format!("stored voter: {e}")))?;
            f(&voter, v)?;
        }
    }
    Ok(())
}

/// `a / b > ppm / 1e6` (or `>=` when `inclusive`), exactly, for b > 0.
fn ratio_above(a: u128, b: u128, ppm: u64, inclusive: bool) -> bool {
    // a * 1e6 vs ppm * b, in 256 bits by splitting: compare as fractions
    // with u128 where possible; amounts are far below 2^108 in practice,
    // and checked multiplication falls back to a division compare.
    let lhs = a.checked_mul(1_000_000);
    let rhs = b.checked_mul(u128::from(ppm));
    match (lhs, rhs) {
        (Some(l), Some(r)) => {
            if inclusive {
                l >= r
            } else {
                l > r
            }
        }
        _ => {
            let l = a / (b / 1_000_000).max(1);
            let r = u128::from(ppm);
            if inclusive {
                l >= r
            } else {
                l > r
            }
        }
    }
}

/// Applies quorum, veto and threshold, as the Cosmos SDK does.
pub fn decide(params: &GovParams, expedited: bool, t: &Tally) -> Decision {
    let voted = t.voted();
    if t.total_power == 0 || !ratio_above(voted, t.total_power, params.quorum_ppm, true) {
        return Decision::NoQuorum;
    }
    if voted > 0 && ratio_above(t.veto, voted, params.veto_threshold_ppm, false) {
        return Decision::Veto;
    }
    let counted = voted.saturating_sub(t.abstain);
    if counted == 0 {
        return Decision::Reject;
    }
    let threshold = if expedited {
        params.expedited_threshold_ppm
    } else {
        params.threshold_ppm
    };
    if ratio_above(t.yes, counted, threshold, false) {
        Decision::Pass
    } else {
        Decision::Reject
    }
}

/// The share of `amount` a burn of `ppm` destroys (for cancellation).
pub fn burn_part(amount: u128, ppm: u64) -> u128 {
    share(amount, ppm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(yes: u128, abstain: u128, no: u128, veto: u128, total: u128) -> Tally {
        Tally {
            yes,
            abstain,
            no,
            veto,
            total_power: total,
        }
    }

    #[test]
    fn the_sdk_defaults_decide_as_expected() {
        let p = GovParams::default();
        assert_eq!(decide(&p, false, &t(60, 0, 40, 0, 300)), Decision::NoQuorum);
        assert_eq!(decide(&p, false, &t(60, 0, 40, 0, 299)), Decision::Pass);
        assert_eq!(decide(&p, false, &t(50, 0, 50, 0, 100)), Decision::Reject);
        assert_eq!(decide(&p, false, &t(60, 0, 0, 40, 100)), Decision::Veto);
        assert_eq!(decide(&p, false, &t(1, 99, 0, 0, 100)), Decision::Pass);
        assert_eq!(decide(&p, false, &t(0, 100, 0, 0, 100)), Decision::Reject);
        assert_eq!(decide(&p, true, &t(60, 0, 40, 0, 100)), Decision::Reject);
        assert_eq!(decide(&p, true, &t(70, 0, 30, 0, 100)), Decision::Pass);
    }

    #[test]
    fn weights_split_power_exactly() {
        assert_eq!(weighted(1_000, WEIGHT_ONE / 2), 500);
        assert_eq!(weighted(u128::MAX, WEIGHT_ONE), u128::MAX);
    }
}
