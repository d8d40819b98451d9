//! Typed access to governance state. Amounts use checked arithmetic.

use deai_bank::BankWrite;
use deai_proto::gov::v1::{Deposit, Params, Proposal, Vote};
use deai_types::{Address, Coin, StateError, StateRead, StateReadExt, StateWrite, StateWriteExt};
use prost::Message;

use crate::{state_key, GovError, GovParams};

fn decode<M: Message + Default>(what: &str, bytes: &[u8]) -> Result<M, GovError> {
    M::decode(bytes).map_err(|e| GovError::State(StateError::Storage(format!("{what}: {e}"))))
}

fn storage(what: &str) -> GovError {
    GovError::State(StateError::Storage(what.into()))
}

/// Most end heights one end block walks through in a queue. Normally the
/// cursor is one height behind; this bounds the catch-up after a backlog
/// (more proposals due than `max_proposals_per_block`).
pub const MAX_QUEUE_HEIGHTS_PER_BLOCK: u64 = 1_000;

/// The two end-height queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Proposals waiting for their deposit, by deposit end height.
    Deposit,
    /// Proposals in their voting period, by voting end height.
    Voting,
}

impl Queue {
    /// The queue's key prefix.
    pub fn prefix(self) -> Vec<u8> {
        match self {
            Queue::Deposit => state_key::deposit_queue_prefix(),
            Queue::Voting => state_key::voting_queue_prefix(),
        }
    }

    /// The key of the queue's cursor.
    pub fn cursor_key(self) -> Vec<u8> {
        match self {
            Queue::Deposit => state_key::deposit_queue_cursor(),
            Queue::Voting => state_key::voting_queue_cursor(),
        }
    }
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

    /// `depositor`'s deposit on proposal `id`.
    fn deposit(&self, id: u64, depositor: &Address) -> Result<Option<Deposit>, GovError> {
        Ok(self.get_proto(&state_key::deposit(id, depositor))?)
    }

    /// Whom `delegator` lends its voting power to.
    fn delegate_of(&self, delegator: &Address) -> Result<Option<Address>, GovError> {
        match self.get_raw(&state_key::delegation(delegator))? {
            None => Ok(None),
            Some(b) => Ok(Some(address_at(&b, 0)?)),
        }
    }

    /// Whether `delegate` refuses voting power lent to it.
    fn refuses_delegations(&self, delegate: &Address) -> Result<bool, GovError> {
        Ok(self
            .get_raw(&state_key::refuses_delegations(delegate))?
            .is_some())
    }

    /// The earliest height whose state an open vote still needs to read.
    /// Seeks to the stored floor (just before the oldest open vote's entry),
    /// so it does not walk the deletion markers of votes long finished.
    fn oldest_voting_start(&self) -> Result<Option<u64>, GovError> {
        Ok(self.oldest_voting_entry()?.map(|(start, _)| start))
    }

    /// The oldest entry `(start, id)` of the voting-start index, read from
    /// the stored floor.
    fn oldest_voting_entry(&self) -> Result<Option<(u64, u64)>, GovError> {
        let prefix = state_key::voting_start_prefix();
        let (start, after) = voting_start_floor(self)?;
        let mut from = state_key::queue_at(&prefix, start);
        if let Some(id) = after {
            from = state_key::queue_at(&from, id);
        }
        Ok(self
            .prefix_raw(&prefix, Some(&from), 1)?
            .first()
            .and_then(|(k, _)| state_key::parse_queue(&prefix, k)))
    }
}

/// The voting-start floor: scans start right after `(start, after id)`.
fn voting_start_floor<S: StateRead + ?Sized>(state: &S) -> Result<(u64, Option<u64>), GovError> {
    match state.get_raw(&state_key::voting_start_floor())? {
        None => Ok((0, None)),
        Some(v) => {
            state_key::parse_queue_cursor(&v).ok_or_else(|| storage("malformed voting start floor"))
        }
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
        let next = id
            .checked_add(1)
            .ok_or_else(|| GovError::InvalidProposal("proposal ids are exhausted".into()))?;
        self.put_raw(state_key::next_proposal_id(), next.to_be_bytes().to_vec())?;
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

    /// Sets (or with `None` removes) `delegator`'s delegate. The bank keeps
    /// each delegate's total lent balance from here on (see [`crate::tally`]).
    fn set_delegate(
        &mut self,
        delegator: &Address,
        delegate: Option<&Address>,
    ) -> Result<(), GovError> {
        match delegate {
            None => self.delete_raw(state_key::delegation(delegator))?,
            Some(d) => self.put_raw(state_key::delegation(delegator), d.as_bytes().to_vec())?,
        }
        self.set_link(delegator, delegate)?;
        Ok(())
    }

    /// Records whether `delegate` accepts voting power lent to it.
    fn set_delegation_policy(&mut self, delegate: &Address, accept: bool) -> Result<(), GovError> {
        let key = state_key::refuses_delegations(delegate);
        if accept {
            self.delete_raw(key)?;
        } else {
            self.put_raw(key, Vec::new())?;
        }
        Ok(())
    }

    /// Takes the entries of `queue` due at or before `height`, at most
    /// `limit`, in end order, and moves the queue's cursor past them. Each
    /// read seeks to one end height's own entries (the cursor's), so deletion
    /// markers of entries removed early (cancelled proposals, proposals that
    /// reached their deposit) are walked once, when their height comes, and
    /// the cost of a block is that of the entries due.
    fn take_due(
        &mut self,
        queue: Queue,
        height: u64,
        limit: usize,
    ) -> Result<Vec<(u64, u64)>, GovError> {
        let prefix = queue.prefix();
        let stored = self.get_raw(&queue.cursor_key())?;
        let (mut at, mut after) = match &stored {
            Some(v) => state_key::parse_queue_cursor(v)
                .ok_or_else(|| storage("malformed gov queue cursor"))?,
            // A queue without a cursor yet (a chain from before cursors):
            // start at its lowest entry, one walk, once.
            None => match self.prefix_raw(&prefix, None, 1)?.first() {
                Some((k, _)) => (
                    state_key::parse_queue(&prefix, k)
                        .ok_or_else(|| storage("malformed gov queue key"))?
                        .0
                        .min(height),
                    None,
                ),
                None => (height, None),
            },
        };
        let mut out = Vec::new();
        let mut heights = 0u64;
        while at <= height && out.len() < limit && heights < MAX_QUEUE_HEIGHTS_PER_BLOCK {
            let here = state_key::queue_at(&prefix, at);
            let start = after.map(|id| state_key::queue_at(&here, id));
            let want = limit.saturating_sub(out.len());
            let page = self.prefix_raw(&here, start.as_deref(), want)?;
            let full = page.len() >= want;
            for (k, _) in &page {
                let (end, id) = state_key::parse_queue(&prefix, k)
                    .ok_or_else(|| storage("malformed gov queue key"))?;
                out.push((end, id));
                after = Some(id);
            }
            if full || at == u64::MAX {
                // More may wait at this height: the next block resumes
                // right after the last id taken.
                break;
            }
            at = at.saturating_add(1);
            after = None;
            heights = heights.saturating_add(1);
        }
        let cursor = state_key::queue_cursor(at, after);
        if stored.as_deref() != Some(cursor.as_slice()) {
            self.put_raw(queue.cursor_key(), cursor)?;
        }
        Ok(out)
    }

    /// Moves the voting-start floor up to the oldest open vote's start
    /// (after the end block's queues ran). New votes start at later heights,
    /// so the floor never passes an entry still to come.
    fn advance_voting_start_floor(&mut self, height: u64) -> Result<(), GovError> {
        let old = voting_start_floor(self)?;
        // Just before the oldest entry (ids start at 1), or, with none, the
        // start of the next height.
        let new = match self.oldest_voting_entry()? {
            Some((start, id)) => (start, id.checked_sub(1)),
            None => (height.saturating_add(1), None),
        };
        if new != old {
            self.put_raw(
                state_key::voting_start_floor(),
                state_key::queue_cursor(new.0, new.1),
            )?;
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
