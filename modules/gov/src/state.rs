//! Typed access to governance state. Amounts use checked arithmetic.

use deai_proto::gov::v1::{Deposit, Params, Proposal, Vote};
use deai_types::{Address, Coin, StateError, StateRead, StateReadExt, StateWrite, StateWriteExt};
use prost::Message;

use crate::{state_key, GovError, GovParams};

fn decode<M: Message + Default>(what: &str, bytes: &[u8]) -> Result<M, GovError> {
    M::decode(bytes).map_err(|e| GovError::State(StateError::Storage(format!("{what}: {e}"))))
}

fn address_at(key: &[u8], offset: usize) -> Result<Address, GovError> {
    key.get(offset..offset + 20)
        .and_then(|b| Address::from_slice(b).ok())
        .ok_or_else(|| GovError::State(StateError::Storage("malformed gov key".into())))
}

/// Coins of a stored record.
pub fn coins_of(
    list: &[cosmos_sdk_proto::cosmos::base::v1beta1::Coin],
) -> Result<Vec<Coin>, GovError> {
    list.iter()
        .map(|c| Coin::from_parts(&c.denom, &c.amount))
        .collect::<Result<_, _>>()
        .map_err(|e| GovError::State(StateError::Storage(format!("stored coin: {e}"))))
}

/// Coins in their protobuf form.
pub fn coins_to_proto(coins: &[Coin]) -> Vec<cosmos_sdk_proto::cosmos::base::v1beta1::Coin> {
    coins
        .iter()
        .map(|c| cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
            denom: c.denom.clone(),
            amount: c.amount.to_string(),
        })
        .collect()
}

/// Adds coin lists denom by denom, keeping them sorted.
pub fn add_coins(a: &[Coin], b: &[Coin]) -> Result<Vec<Coin>, GovError> {
    let mut sums = std::collections::BTreeMap::<String, u128>::new();
    for c in a.iter().chain(b) {
        let s = sums.entry(c.denom.clone()).or_insert(0);
        *s = s
            .checked_add(c.amount)
            .ok_or_else(|| GovError::InvalidDeposit("deposit overflows".into()))?;
    }
    Ok(sums.into_iter().map(|(d, a)| Coin::new(a, d)).collect())
}

/// Whether `have` covers `need` in every denom.
pub fn covers(have: &[Coin], need: &[Coin]) -> bool {
    need.iter().all(|n| {
        have.iter()
            .find(|h| h.denom == n.denom)
            .is_some_and(|h| h.amount >= n.amount)
    })
}

/// Reads of governance state.
pub trait GovRead: StateRead {
    /// The parameters (defaults before genesis sets them).
    fn gov_params(&self) -> Result<GovParams, GovError> {
        match self.get_proto::<Params>(&state_key::params())? {
            None => Ok(GovParams::default()),
            Some(p) => GovParams::from_proto(p),
        }
    }

    /// A proposal by id.
    fn proposal(&self, id: u64) -> Result<Option<Proposal>, GovError> {
        Ok(self.get_proto(&state_key::proposal(id))?)
    }

    /// Proposals in id order after `after`, at most `limit`.
    fn proposals(&self, after: Option<u64>, limit: usize) -> Result<Vec<Proposal>, GovError> {
        let after = after.map(state_key::proposal);
        self.prefix_raw(&state_key::proposals_prefix(), after.as_deref(), limit)?
            .into_iter()
            .map(|(_, v)| decode("proposal", &v))
            .collect()
    }

    /// The deposits on proposal `id`, in depositor order, after `after`.
    fn deposits(
        &self,
        id: u64,
        after: Option<&Address>,
        limit: usize,
    ) -> Result<Vec<Deposit>, GovError> {
        let after = after.map(|a| state_key::deposit(id, a));
        self.prefix_raw(&state_key::deposits_of(id), after.as_deref(), limit)?
            .into_iter()
            .map(|(_, v)| decode("deposit", &v))
            .collect()
    }

    /// The votes on proposal `id`, in voter order, after `after`.
    fn votes(&self, id: u64, after: Option<&Address>, limit: usize) -> Result<Vec<Vote>, GovError> {
        let after = after.map(|a| state_key::vote(id, a));
        self.prefix_raw(&state_key::votes_of(id), after.as_deref(), limit)?
            .into_iter()
            .map(|(_, v)| decode("vote", &v))
            .collect()
    }

    /// `voter`'s vote on proposal `id`.
    fn vote(&self, id: u64, voter: &Address) -> Result<Option<Vote>, GovError> {
        Ok(self.get_proto(&state_key::vote(id, voter))?)
    }

    /// Whom `delegator` lends its voting power to.
    fn delegate_of(&self, delegator: &Address) -> Result<Option<Address>, GovError> {
        match self.get_raw(&state_key::delegation(delegator))? {
            None => Ok(None),
            Some(b) => Ok(Some(address_at(&b, 0)?)),
        }
    }

    /// Everyone who lends its voting power to `delegate`, in address order.
    fn delegators(&self, delegate: &Address) -> Result<Vec<Address>, GovError> {
        let prefix = state_key::delegators_of(delegate);
        self.prefix_raw(&prefix, None, usize::MAX)?
            .into_iter()
            .map(|(k, _)| address_at(&k, prefix.len()))
            .collect()
    }

    /// Ids of proposals in a queue whose period ends at or before `height`,
    /// in end order, at most `limit`.
    fn due(&self, prefix: &[u8], height: u64, limit: usize) -> Result<Vec<(u64, u64)>, GovError> {
        let mut out = Vec::new();
        for (k, _) in self.prefix_raw(prefix, None, limit)? {
            let (end, id) = state_key::parse_queue(prefix, &k).ok_or_else(|| {
                GovError::State(StateError::Storage("malformed gov queue key".into()))
            })?;
            if end > height {
                break;
            }
            out.push((end, id));
        }
        Ok(out)
    }

    /// The earliest height whose state an open vote still needs to read.
    fn oldest_voting_start(&self) -> Result<Option<u64>, GovError> {
        let prefix = state_key::voting_start_prefix();
        Ok(self
            .prefix_raw(&prefix, None, 1)?
            .first()
            .and_then(|(k, _)| state_key::parse_queue(&prefix, k))
            .map(|(start, _)| start))
    }
}

impl<T: StateRead + ?Sized> GovRead for T {}

/// Writes of governance state.
pub trait GovWrite: StateWrite {
    /// Stores validated parameters.
    fn put_gov_params(&mut self, params: &GovParams) -> Result<(), GovError> {
        params.validate()?;
        self.put_proto(state_key::params(), &params.to_proto())?;
        Ok(())
    }

    /// Hands out the next proposal id (ids start at 1).
    fn next_proposal_id(&mut self) -> Result<u64, GovError> {
        let id = match self.get_raw(&state_key::next_proposal_id())? {
            None => 1,
            Some(b) => u64::from_be_bytes(b.as_slice().try_into().map_err(|_| {
                GovError::State(StateError::Storage("bad proposal counter".into()))
            })?),
        };
        self.put_raw(
            state_key::next_proposal_id(),
            (id + 1).to_be_bytes().to_vec(),
        )?;
        Ok(id)
    }

    /// Stores a proposal.
    fn put_proposal(&mut self, p: &Proposal) -> Result<(), GovError> {
        self.put_proto(state_key::proposal(p.id), p)?;
        Ok(())
    }

    /// Stores a deposit record.
    fn put_deposit(&mut self, d: &Deposit, depositor: &Address) -> Result<(), GovError> {
        self.put_proto(state_key::deposit(d.proposal_id, depositor), d)?;
        Ok(())
    }

    /// Stores a vote, replacing an earlier one by the same voter.
    fn put_vote(&mut self, v: &Vote, voter: &Address) -> Result<(), GovError> {
        self.put_proto(state_key::vote(v.proposal_id, voter), v)?;
        Ok(())
    }

    /// Sets (or with `None` removes) `delegator`'s delegate.
    fn set_delegate(
        &mut self,
        delegator: &Address,
        delegate: Option<&Address>,
    ) -> Result<(), GovError> {
        if let Some(old) = self.delegate_of(delegator)? {
            self.delete_raw(state_key::delegator(&old, delegator))?;
        }
        match delegate {
            None => self.delete_raw(state_key::delegation(delegator))?,
            Some(d) => {
                self.put_raw(state_key::delegation(delegator), d.as_bytes().to_vec())?;
                self.put_raw(state_key::delegator(d, delegator), Vec::new())?;
            }
        }
        Ok(())
    }

    /// Starts the voting period of `p` at `height`.
    fn start_voting(
        &mut self,
        p: &mut Proposal,
        params: &GovParams,
        height: u64,
    ) -> Result<(), GovError> {
        self.delete_raw(state_key::deposit_queue(p.deposit_end_height, p.id))?;
        let period = if p.expedited {
            params.expedited_voting_period_blocks
        } else {
            params.voting_period_blocks
        };
        p.status = deai_proto::gov::v1::ProposalStatus::VotingPeriod as i32;
        p.voting_start_height = height;
        p.voting_end_height = height.saturating_add(period);
        self.put_raw(
            state_key::voting_queue(p.voting_end_height, p.id),
            Vec::new(),
        )?;
        self.put_raw(state_key::voting_start(height, p.id), Vec::new())?;
        Ok(())
    }

    /// Takes `p` out of both queues.
    fn dequeue(&mut self, p: &Proposal) -> Result<(), GovError> {
        if p.voting_end_height == 0 {
            self.delete_raw(state_key::deposit_queue(p.deposit_end_height, p.id))?;
        } else {
            self.delete_raw(state_key::voting_queue(p.voting_end_height, p.id))?;
            self.delete_raw(state_key::voting_start(p.voting_start_height, p.id))?;
        }
        Ok(())
    }
}

impl<T: StateWrite + ?Sized> GovWrite for T {}
