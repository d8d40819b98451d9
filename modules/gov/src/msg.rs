//! Governance messages: stateless checks (`from_*`), then `execute`.
//! Submissions, deposits, votes and cancellations are the Cosmos SDK's
//! `cosmos.gov.v1` messages; delegation and params are DeAI's own.

use cosmos_sdk_proto::{cosmos::gov::v1 as sdk, Any};
use deai_bank::{msg::parse_coins, BankWrite};
use deai_proto::gov::v1::{
    self as pb, Deposit, Proposal, ProposalStatus, Vote, VoteOption, WeightedOption,
};
use deai_types::{Address, Coin, Event, ModuleMsg, MsgCtx, MsgError, StateRead, StateWrite};

use crate::{
    event,
    params::share,
    state::{add_coins, coins_of, coins_to_proto, covers},
    tally::{power_bound, WEIGHT_ONE},
    GovError, GovParams, GovRead, GovWrite,
};

fn addr(field: &str, s: &str) -> Result<Address, GovError> {
    s.parse()
        .map_err(|e| GovError::InvalidAddress(format!("{field}: {e}")))
}

/// Parses a decimal weight such as `0.25` (at most 18 fractional digits)
/// into units of 1e-18.
pub fn parse_weight(s: &str) -> Result<u64, GovError> {
    let bad = || GovError::InvalidVote(format!("weight {s:?} is not a decimal between 0 and 1"));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 18
    {
        return Err(bad());
    }
    let int: u64 = int.parse().map_err(|_| bad())?;
    if int > 1 {
        return Err(bad());
    }
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    for _ in frac.len()..18 {
        f *= 10;
    }
    let w = int
        .checked_mul(WEIGHT_ONE)
        .and_then(|i| i.checked_add(f))
        .ok_or_else(bad)?;
    if w > WEIGHT_ONE {
        return Err(bad());
    }
    Ok(w)
}

/// Formats a weight back as a decimal.
pub fn format_weight(w: u64) -> String {
    let int = w / WEIGHT_ONE;
    let frac = w % WEIGHT_ONE;
    if frac == 0 {
        return format!("{int}");
    }
    let s = format!("{int}.{frac:018}");
    s.trim_end_matches('0').to_string()
}

/// Checks a set of weighted options: known options, no repeats, positive
/// weights summing to exactly 1.
fn check_options(options: Vec<(i32, u64)>) -> Result<Vec<WeightedOption>, GovError> {
    if options.is_empty() {
        return Err(GovError::InvalidVote("no options".into()));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut sum: u64 = 0;
    for (o, w) in &options {
        match VoteOption::try_from(*o) {
            Ok(VoteOption::Unspecified) | Err(_) => {
                return Err(GovError::InvalidVote(format!(
                    "option {o} is not yes, abstain, no or no_with_veto"
                )))
            }
            Ok(_) => {}
        }
        if !seen.insert(*o) {
            return Err(GovError::InvalidVote("an option appears twice".into()));
        }
        if *w == 0 {
            return Err(GovError::InvalidVote("a weight is zero".into()));
        }
        sum = sum
            .checked_add(*w)
            .ok_or_else(|| GovError::InvalidVote("weights overflow".into()))?;
    }
    if sum != WEIGHT_ONE {
        return Err(GovError::InvalidVote(format!(
            "weights sum to {}, not 1",
            format_weight(sum)
        )));
    }
    Ok(options
        .into_iter()
        .map(|(option, weight)| WeightedOption { option, weight })
        .collect())
}

/// A checked governance message.
#[derive(Debug, Clone, PartialEq)]
pub enum GovMsg {
    /// A new proposal.
    Submit {
        /// Who proposes (and pays the initial deposit).
        proposer: Address,
        /// Messages to execute if it passes (checked when the submission
        /// was decoded: each decodes through the app's registry and acts
        /// with governance's authority).
        messages: Vec<Any>,
        /// Paid now.
        initial_deposit: Vec<Coin>,
        /// Title.
        title: String,
        /// Summary.
        summary: String,
        /// Metadata (free text or a link).
        metadata: String,
        /// Shorter vote, higher threshold.
        expedited: bool,
    },
    /// More deposit.
    Deposit {
        /// The proposal.
        id: u64,
        /// Who pays.
        depositor: Address,
        /// What.
        amount: Vec<Coin>,
    },
    /// A vote, possibly split.
    Vote {
        /// The proposal.
        id: u64,
        /// Who votes.
        voter: Address,
        /// Options and weights.
        options: Vec<WeightedOption>,
        /// Metadata.
        metadata: String,
    },
    /// The proposer withdraws a proposal.
    Cancel {
        /// The proposal.
        id: u64,
        /// Must be its proposer.
        proposer: Address,
    },
    /// Lends (or with `None` takes back) voting power: the liquid balance;
    /// stake is not lent.
    Delegate {
        /// Who lends.
        delegator: Address,
        /// To whom.
        delegate: Option<Address>,
    },
    /// A delegate accepts or refuses voting power lent to it.
    SetDelegationPolicy {
        /// The delegate (signs).
        delegate: Address,
        /// `false` refuses new delegations and excludes standing ones.
        accept: bool,
    },
    /// New parameters (governance only).
    UpdateParams {
        /// Must be the governance account.
        authority: Address,
        /// The parameters.
        params: GovParams,
    },
}

impl GovMsg {
    /// Stateless checks of `MsgSubmitProposal` (its messages are checked
    /// when it is decoded through the module contract, see [`crate::component`]).
    pub fn submit(m: &sdk::MsgSubmitProposal) -> Result<Self, GovError> {
        let initial_deposit = if m.initial_deposit.is_empty() {
            Vec::new()
        } else {
            parse_coins(&m.initial_deposit).map_err(|e| GovError::InvalidDeposit(e.to_string()))?
        };
        if m.title.trim().is_empty() {
            return Err(GovError::InvalidProposal("the title is empty".into()));
        }
        if m.summary.trim().is_empty() {
            return Err(GovError::InvalidProposal("the summary is empty".into()));
        }
        Ok(GovMsg::Submit {
            proposer: addr("proposer", &m.proposer)?,
            messages: m.messages.clone(),
            initial_deposit,
            title: m.title.clone(),
            summary: m.summary.clone(),
            metadata: m.metadata.clone(),
            expedited: m.expedited,
        })
    }

    /// Stateless checks of `MsgDeposit`.
    pub fn deposit(m: &sdk::MsgDeposit) -> Result<Self, GovError> {
        Ok(GovMsg::Deposit {
            id: m.proposal_id,
            depositor: addr("depositor", &m.depositor)?,
            amount: parse_coins(&m.amount).map_err(|e| GovError::InvalidDeposit(e.to_string()))?,
        })
    }

    /// Stateless checks of `MsgVote`.
    pub fn vote(m: &sdk::MsgVote) -> Result<Self, GovError> {
        Ok(GovMsg::Vote {
            id: m.proposal_id,
            voter: addr("voter", &m.voter)?,
            options: check_options(vec![(m.option, WEIGHT_ONE)])?,
            metadata: m.metadata.clone(),
        })
    }

    /// Stateless checks of `MsgVoteWeighted`.
    pub fn vote_weighted(m: &sdk::MsgVoteWeighted) -> Result<Self, GovError> {
        let options = m
            .options
            .iter()
            .map(|o| Ok((o.option, parse_weight(&o.weight)?)))
            .collect::<Result<Vec<_>, GovError>>()?;
        Ok(GovMsg::Vote {
            id: m.proposal_id,
            voter: addr("voter", &m.voter)?,
            options: check_options(options)?,
            metadata: m.metadata.clone(),
        })
    }

    /// Stateless checks of `MsgCancelProposal`.
    pub fn cancel(m: &sdk::MsgCancelProposal) -> Result<Self, GovError> {
        Ok(GovMsg::Cancel {
            id: m.proposal_id,
            proposer: addr("proposer", &m.proposer)?,
        })
    }

    /// Stateless checks of `MsgDelegateVotingPower`.
    pub fn delegate(m: &pb::MsgDelegateVotingPower) -> Result<Self, GovError> {
        let delegator = addr("delegator", &m.delegator)?;
        let delegate = if m.delegate.is_empty() {
            None
        } else {
            Some(addr("delegate", &m.delegate)?)
        };
        if delegate == Some(delegator) {
            return Err(GovError::InvalidDelegation(
                "an address cannot delegate to itself".into(),
            ));
        }
        Ok(GovMsg::Delegate {
            delegator,
            delegate,
        })
    }

    /// Stateless checks of `MsgSetDelegationPolicy`.
    pub fn set_delegation_policy(m: &pb::MsgSetDelegationPolicy) -> Result<Self, GovError> {
        Ok(GovMsg::SetDelegationPolicy {
            delegate: addr("delegate", &m.delegate)?,
            accept: m.accept,
        })
    }

    /// Stateless checks of `MsgUpdateParams`.
    pub fn update_params(m: &pb::MsgUpdateParams) -> Result<Self, GovError> {
        let params = GovParams::from_proto(
            m.params
                .clone()
                .ok_or_else(|| GovError::InvalidParams("params missing".into()))?,
        )?;
        params.validate()?;
        Ok(GovMsg::UpdateParams {
            authority: addr("authority", &m.authority)?,
            params,
        })
    }

    /// Who must sign.
    pub fn signer(&self) -> Address {
        match self {
            GovMsg::Submit { proposer, .. } | GovMsg::Cancel { proposer, .. } => *proposer,
            GovMsg::Deposit { depositor, .. } => *depositor,
            GovMsg::Vote { voter, .. } => *voter,
            GovMsg::Delegate { delegator, .. } => *delegator,
            GovMsg::SetDelegationPolicy { delegate, .. } => *delegate,
            GovMsg::UpdateParams { authority, .. } => *authority,
        }
    }

    /// The type URL.
    pub fn type_url(&self) -> &'static str {
        match self {
            GovMsg::Submit { .. } => crate::MSG_SUBMIT_PROPOSAL_TYPE_URL,
            GovMsg::Deposit { .. } => crate::MSG_DEPOSIT_TYPE_URL,
            GovMsg::Vote { options, .. } if options.len() == 1 => crate::MSG_VOTE_TYPE_URL,
            GovMsg::Vote { .. } => crate::MSG_VOTE_WEIGHTED_TYPE_URL,
            GovMsg::Cancel { .. } => crate::MSG_CANCEL_PROPOSAL_TYPE_URL,
            GovMsg::Delegate { .. } => crate::MSG_DELEGATE_TYPE_URL,
            GovMsg::SetDelegationPolicy { .. } => crate::MSG_SET_DELEGATION_POLICY_TYPE_URL,
            GovMsg::UpdateParams { .. } => crate::MSG_UPDATE_PARAMS_TYPE_URL,
        }
    }

    /// Executes the message at block `height`. `history(h)` gives the state
    /// committed at the end of block `h` (for a voter's power), or `None`
    /// when `h` is the current block, whose state is `state` itself.
    pub fn execute<S, H, F>(
        &self,
        state: &mut S,
        height: u64,
        history: F,
    ) -> Result<Vec<Event>, GovError>
    where
        S: StateWrite,
        H: StateRead,
        F: Fn(u64) -> Result<Option<H>, GovError>,
    {
        match self {
            GovMsg::Submit {
                proposer,
                messages,
                initial_deposit,
                title,
                summary,
                metadata,
                expedited,
            } => {
                let params = state.gov_params()?;
                let too_long = |what: &str, len: usize, max: u64| {
                    if len as u64 > max {
                        Err(GovError::InvalidProposal(format!(
                            "{what} is {len} bytes, the most is {max}"
                        )))
                    } else {
                        Ok(())
                    }
                };
                too_long("the title", title.len(), params.max_title_len)?;
                too_long("the summary", summary.len(), params.max_summary_len)?;
                too_long("the metadata", metadata.len(), params.max_metadata_len)?;
                if messages.len() as u64 > params.max_messages {
                    return Err(GovError::InvalidProposal(format!(
                        "{} messages, the most is {}",
                        messages.len(),
                        params.max_messages
                    )));
                }
                // Never zero (validate refuses a zero ratio and it rounds
                // up), so bulk submissions cost real tokens.
                let min_initial = params.min_initial_deposit(*expedited);
                if !covers(initial_deposit, &min_initial) {
                    return Err(GovError::InvalidDeposit(format!(
                        "the initial deposit must be at least {}",
                        deai_bank::event::coins_string(&min_initial)
                    )));
                }
                let id = state.next_proposal_id()?;
                let mut p = Proposal {
                    id,
                    proposer: proposer.to_bech32(),
                    title: title.clone(),
                    summary: summary.clone(),
                    metadata: metadata.clone(),
                    messages: messages.clone(),
                    status: ProposalStatus::DepositPeriod as i32,
                    expedited: *expedited,
                    submit_height: height,
                    deposit_end_height: height.saturating_add(params.max_deposit_period_blocks),
                    ..Proposal::default()
                };
                let mut events = vec![event::submit_proposal(id, messages)];
                state.put_raw(
                    crate::state_key::deposit_queue(p.deposit_end_height, id),
                    Vec::new(),
                )?;
                if !initial_deposit.is_empty() {
                    events.extend(add_deposit(
                        state,
                        &mut p,
                        &params,
                        proposer,
                        initial_deposit,
                        height,
                    )?);
                }
                state.put_proposal(&p)?;
                Ok(events)
            }
            GovMsg::Deposit {
                id,
                depositor,
                amount,
            } => {
                let params = state.gov_params()?;
                let mut p = state.proposal(*id)?.ok_or(GovError::UnknownProposal(*id))?;
                let status = p.status();
                if status != ProposalStatus::DepositPeriod && status != ProposalStatus::VotingPeriod
                {
                    return Err(wrong_status(
                        &p,
                        "deposits are taken only in the deposit and voting periods",
                    ));
                }
                let events = add_deposit(state, &mut p, &params, depositor, amount, height)?;
                state.put_proposal(&p)?;
                Ok(events)
            }
            GovMsg::Vote {
                id,
                voter,
                options,
                metadata,
            } => {
                let p = state.proposal(*id)?.ok_or(GovError::UnknownProposal(*id))?;
                if p.status() != ProposalStatus::VotingPeriod {
                    return Err(wrong_status(
                        &p,
                        "votes are taken only in the voting period",
                    ));
                }
                if height > p.voting_end_height {
                    return Err(wrong_status(&p, "its voting period has ended"));
                }
                // Bounded cost, however many delegate to the voter: its
                // balance, its lent total and its own stake (at most
                // MAX_DELEGATIONS_PER_DELEGATOR records of each kind).
                let power = match history(p.voting_start_height)? {
                    Some(h) => power_bound(&h, voter)?,
                    None => power_bound(&*state, voter)?,
                };
                if power == 0 {
                    return Err(GovError::NoVotingPower(voter.to_bech32(), *id));
                }
                let vote = Vote {
                    proposal_id: *id,
                    voter: voter.to_bech32(),
                    options: options.clone(),
                    metadata: metadata.clone(),
                };
                state.put_vote(&vote, voter)?;
                Ok(vec![event::vote(*id, voter, options)])
            }
            GovMsg::Cancel { id, proposer } => {
                let params = state.gov_params()?;
                let mut p = state.proposal(*id)?.ok_or(GovError::UnknownProposal(*id))?;
                if p.proposer != proposer.to_bech32() {
                    return Err(GovError::Unauthorized(format!(
                        "only the proposer {} may cancel proposal {id}",
                        p.proposer
                    )));
                }
                let status = p.status();
                if status != ProposalStatus::DepositPeriod && status != ProposalStatus::VotingPeriod
                {
                    return Err(wrong_status(
                        &p,
                        "only a proposal in its deposit or voting period can be cancelled",
                    ));
                }
                state.dequeue(&p)?;
                // Only the proposer chose to withdraw: other depositors
                // get all of theirs back.
                let mut events = settle_deposits(
                    state,
                    &p,
                    Burn::ShareOf {
                        depositor: proposer,
                        ppm: params.cancel_burn_ppm,
                    },
                )?;
                p.status = ProposalStatus::Cancelled as i32;
                state.put_proposal(&p)?;
                events.push(event::proposal_finished(&p, "cancelled"));
                Ok(events)
            }
            GovMsg::Delegate {
                delegator,
                delegate,
            } => {
                if let Some(d) = delegate {
                    if state.refuses_delegations(d)? {
                        return Err(GovError::InvalidDelegation(format!(
                            "{d} does not accept delegated voting power"
                        )));
                    }
                }
                state.set_delegate(delegator, delegate.as_ref())?;
                Ok(vec![event::delegate(delegator, delegate.as_ref())])
            }
            GovMsg::SetDelegationPolicy { delegate, accept } => {
                state.set_delegation_policy(delegate, *accept)?;
                Ok(vec![event::delegation_policy(delegate, *accept)])
            }
            GovMsg::UpdateParams { authority, params } => {
                if *authority != crate::authority() {
                    return Err(GovError::Unauthorized(format!(
                        "only the governance account {} may change gov params",
                        crate::authority()
                    )));
                }
                state.put_gov_params(params)?;
                Ok(vec![event::params_updated()])
            }
        }
    }
}

fn wrong_status(p: &Proposal, need: &'static str) -> GovError {
    GovError::WrongStatus {
        id: p.id,
        status: p
            .status()
            .as_str_name()
            .trim_start_matches("PROPOSAL_STATUS_")
            .to_lowercase(),
        need,
    }
}

/// Escrows `amount` from `depositor` in the governance account, and opens
/// voting when the total reaches the minimum.
fn add_deposit<S: StateWrite>(
    state: &mut S,
    p: &mut Proposal,
    params: &GovParams,
    depositor: &Address,
    amount: &[Coin],
    height: u64,
) -> Result<Vec<Event>, GovError> {
    let mut events = state.send(depositor, &crate::address(), amount)?;
    let before = match state.get_proto::<Deposit>(&crate::state_key::deposit(p.id, depositor))? {
        Some(d) => coins_of(&d.amount)?,
        None => Vec::new(),
    };
    state.put_deposit(
        &Deposit {
            proposal_id: p.id,
            depositor: depositor.to_bech32(),
            amount: coins_to_proto(&add_coins(&before, amount)?),
        },
        depositor,
    )?;
    let total = add_coins(&coins_of(&p.total_deposit)?, amount)?;
    p.total_deposit = coins_to_proto(&total);
    events.push(event::deposit(p.id, depositor, amount));
    if p.status() == ProposalStatus::DepositPeriod
        && covers(&total, params.min_deposit_for(p.expedited))
    {
        state.start_voting(p, params, height)?;
        events.push(event::voting_started(p));
    }
    Ok(events)
}

impl ModuleMsg for GovMsg {
    fn type_url(&self) -> &'static str {
        GovMsg::type_url(self)
    }

    fn signer(&self) -> Address {
        GovMsg::signer(self)
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// Only parameter changes: the rest would move the deposits the
    /// governance account holds, or vote with them.
    fn is_governance_action(&self) -> bool {
        matches!(self, GovMsg::UpdateParams { .. })
    }

    fn execute(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        let history = |h: u64| (ctx.history)(h).map_err(|e| GovError::HistoryUnavailable(h, e));
        Ok(GovMsg::execute(self, &mut state, ctx.height, history)?)
    }
}

/// Which deposits a settlement burns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Burn<'a> {
    /// Refund every deposit in full.
    Nothing,
    /// Burn every deposit (veto, lapsed deposit period).
    Everything,
    /// Burn `ppm` of one depositor's deposit (the proposer's, on cancel)
    /// and refund everyone else in full.
    ShareOf {
        /// Whose deposit is partly burned.
        depositor: &'a Address,
        /// How much of it, in parts per million.
        ppm: u64,
    },
}

impl Burn<'_> {
    fn ppm_for(&self, depositor: &Address) -> u64 {
        match self {
            Burn::Nothing => 0,
            Burn::Everything => crate::params::PPM,
            Burn::ShareOf { depositor: d, ppm } if *d == depositor => *ppm,
            Burn::ShareOf { .. } => 0,
        }
    }
}

/// Returns every deposit on `p` to its depositor, less what `burn` burns.
pub fn settle_deposits<S: StateWrite>(
    state: &mut S,
    p: &Proposal,
    burn: Burn<'_>,
) -> Result<Vec<Event>, GovError> {
    let mut events = Vec::new();
    let mut after: Option<Address> = None;
    loop {
        let page = state.deposits(p.id, after.as_ref(), 256)?;
        let Some(last) = page.last() else { break };
        after = Some(addr("stored depositor", &last.depositor)?);
        for d in page {
            let depositor = addr("stored depositor", &d.depositor)?;
            let burn_ppm = burn.ppm_for(&depositor);
            let coins = coins_of(&d.amount)?;
            let burned: Vec<Coin> = coins
                .iter()
                .map(|c| Coin::new(share(c.amount, burn_ppm), c.denom.clone()))
                .filter(|c| c.amount > 0)
                .collect();
            let refund: Vec<Coin> = coins
                .iter()
                .map(|c| {
                    Coin::new(
                        c.amount.saturating_sub(share(c.amount, burn_ppm)),
                        c.denom.clone(),
                    )
                })
                .filter(|c| c.amount > 0)
                .collect();
            if !burned.is_empty() {
                events.extend(state.burn(&crate::address(), &burned)?);
            }
            if !refund.is_empty() {
                events.extend(state.send(&crate::address(), &depositor, &refund)?);
            }
        }
    }
    Ok(events)
}

use deai_types::StateReadExt as _;
