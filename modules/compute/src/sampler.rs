//! The bond-weighted sampling index: how `begin_block` draws `R` distinct
//! providers in `O(R log N)` state reads, whatever the provider count `N`.
//!
//! Every provider ever registered owns a slot (1-based, in registration
//! order). Slot weights are the provider's bond while it is eligible (bond
//! at least `min_provider_bond`, not jailed) and 0 otherwise; they sit in a
//! Fenwick tree stored as keys ([`crate::state_key::sampler_node`]), so a
//! weight change and a draw each read `O(log N)` nodes. A running count of
//! eligible slots lets `MsgSubmitJob` refuse an `R` no draw could meet
//! without reading any provider.
//!
//! [`ComputeWrite::put_provider`](crate::ComputeWrite::put_provider) keeps
//! the index up to date on every provider write (register, bond, unbond,
//! slash, jail, unjail); a change of `min_provider_bond` re-weighs every
//! slot once ([`reweigh_all`]).
//!
//! A draw is the one [`crate::select_providers`] specifies, over the
//! eligible providers in slot order with the requester left out: draw `i`
//! takes `SHA3-256(seed || i)` modulo the remaining weight and picks the
//! slot where the running weight passes it, then removes that slot's weight
//! (in memory) for the next draw.

use std::collections::BTreeMap;

use deai_types::{Address, StateError, StateRead, StateWrite};

use crate::{
    record::{sha3, Provider},
    state::read_u64,
    state_key, ComputeError, ComputeParams, ComputeRead,
};

fn corrupt(what: &str) -> ComputeError {
    ComputeError::State(StateError::Storage(format!("sampling index: {what}")))
}

fn lowbit(i: u64) -> u64 {
    i & i.wrapping_neg()
}

fn read_u128<S: StateRead + ?Sized>(state: &S, key: &[u8]) -> Result<u128, ComputeError> {
    match state.get_raw(key)? {
        None => Ok(0),
        Some(b) => Ok(u128::from_be_bytes(
            b.as_slice()
                .try_into()
                .map_err(|_| corrupt("malformed weight"))?,
        )),
    }
}

/// The weight a provider should have in the index: its bond while it is
/// eligible for work (bond at least `min_provider_bond`, no jail term), else 0.
pub fn eligible_weight(p: &Provider, params: &ComputeParams) -> u128 {
    if p.jailed_until == 0 && p.bond >= params.min_provider_bond {
        p.bond
    } else {
        0
    }
}

/// Slots in the index (providers ever registered).
pub fn size<S: StateRead + ?Sized>(state: &S) -> Result<u64, ComputeError> {
    Ok(read_u64(state, &state_key::sampler_size())?.unwrap_or(0))
}

/// Providers currently eligible for work (slots of positive weight).
pub fn eligible_count<S: StateRead + ?Sized>(state: &S) -> Result<u64, ComputeError> {
    Ok(read_u64(state, &state_key::sampler_eligible())?.unwrap_or(0))
}

/// The slot of `provider`, if it has one.
pub fn slot_of<S: StateRead + ?Sized>(
    state: &S,
    provider: &Address,
) -> Result<Option<u64>, ComputeError> {
    read_u64(state, &state_key::sampler_slot_of(provider))
}

/// The weight `provider` has in the index (0 without a slot).
pub fn weight_of<S: StateRead + ?Sized>(
    state: &S,
    provider: &Address,
) -> Result<u128, ComputeError> {
    match slot_of(state, provider)? {
        None => Ok(0),
        Some(i) => read_u128(state, &state_key::sampler_weight(i)),
    }
}

/// The sum of the weights of slots `1..=i`.
fn prefix_sum<S: StateRead + ?Sized>(state: &S, mut i: u64) -> Result<u128, ComputeError> {
    let mut sum = 0u128;
    while i > 0 {
        sum = sum
            .checked_add(read_u128(state, &state_key::sampler_node(i))?)
            .ok_or_else(|| corrupt("weights overflow"))?;
        i = i.saturating_sub(lowbit(i));
    }
    Ok(sum)
}

/// Gives `provider` a new slot of weight 0 at the end of the index.
fn append<S: StateWrite + ?Sized>(state: &mut S, provider: &Address) -> Result<u64, ComputeError> {
    let n = size(state)?
        .checked_add(1)
        .ok_or_else(|| corrupt("too many slots"))?;
    // Node n covers slots n - lowbit(n) + 1 ..= n; all but n already exist.
    let covered = prefix_sum(state, n.saturating_sub(1))?
        .checked_sub(prefix_sum(state, n.saturating_sub(lowbit(n)))?)
        .ok_or_else(|| corrupt("prefix sums out of order"))?;
    state.put_raw(state_key::sampler_node(n), covered.to_be_bytes().to_vec())?;
    state.put_raw(state_key::sampler_slot(n), provider.as_bytes().to_vec())?;
    state.put_raw(
        state_key::sampler_slot_of(provider),
        n.to_be_bytes().to_vec(),
    )?;
    state.put_raw(state_key::sampler_size(), n.to_be_bytes().to_vec())?;
    Ok(n)
}

/// Sets `provider`'s weight (giving it a slot first if it has none), in
/// `O(log N)` reads and writes; nothing is written if it is unchanged.
pub fn set_weight<S: StateWrite + ?Sized>(
    state: &mut S,
    provider: &Address,
    weight: u128,
) -> Result<(), ComputeError> {
    let slot = match slot_of(state, provider)? {
        Some(i) => i,
        None if weight == 0 => return Ok(()),
        None => append(state, provider)?,
    };
    let old = read_u128(state, &state_key::sampler_weight(slot))?;
    if old == weight {
        return Ok(());
    }
    let n = size(state)?;
    let mut j = slot;
    while j <= n && j > 0 {
        let key = state_key::sampler_node(j);
        let node = read_u128(state, &key)?;
        let node = if weight > old {
            node.checked_add(weight.saturating_sub(old))
        } else {
            node.checked_sub(old.saturating_sub(weight))
        }
        .ok_or_else(|| corrupt("node out of range"))?;
        state.put_raw(key, node.to_be_bytes().to_vec())?;
        j = j.checked_add(lowbit(j)).unwrap_or(0);
    }
    state.put_raw(
        state_key::sampler_weight(slot),
        weight.to_be_bytes().to_vec(),
    )?;
    let count = eligible_count(state)?;
    let count = match (old > 0, weight > 0) {
        (false, true) => count.checked_add(1),
        (true, false) => count.checked_sub(1),
        _ => Some(count),
    }
    .ok_or_else(|| corrupt("eligible count out of range"))?;
    state.put_raw(state_key::sampler_eligible(), count.to_be_bytes().to_vec())?;
    Ok(())
}

/// Re-weighs every slot from its provider record: `O(N log N)`, run only
/// when governance changes `min_provider_bond` (the one change that moves
/// many providers' eligibility at once).
pub fn reweigh_all<S: StateWrite + ?Sized>(
    state: &mut S,
    params: &ComputeParams,
) -> Result<(), ComputeError> {
    let n = size(state)?;
    let mut i = 1u64;
    while i <= n {
        let raw = state
            .get_raw(&state_key::sampler_slot(i))?
            .ok_or_else(|| corrupt("missing slot"))?;
        let addr = Address::from_slice(&raw).map_err(|_| corrupt("malformed slot"))?;
        let w = match state.provider(&addr)? {
            Some(p) => eligible_weight(&p, params),
            None => 0,
        };
        set_weight(state, &addr, w)?;
        i = i.saturating_add(1);
    }
    Ok(())
}

/// The tree with some slots' weights taken out in memory (the providers
/// already drawn, and the requester), read from state node by node.
struct Draw<'a, S: ?Sized> {
    state: &'a S,
    size: u64,
    removed: BTreeMap<u64, u128>,
}

impl<S: StateRead + ?Sized> Draw<'_, S> {
    fn node(&self, i: u64) -> Result<u128, ComputeError> {
        let stored = read_u128(self.state, &state_key::sampler_node(i))?;
        stored
            .checked_sub(self.removed.get(&i).copied().unwrap_or(0))
            .ok_or_else(|| corrupt("removed more than a node holds"))
    }

    fn remove(&mut self, slot: u64, weight: u128) -> Result<(), ComputeError> {
        let mut j = slot;
        while j <= self.size && j > 0 {
            let r = self.removed.entry(j).or_insert(0);
            *r = r
                .checked_add(weight)
                .ok_or_else(|| corrupt("weights overflow"))?;
            j = j.checked_add(lowbit(j)).unwrap_or(0);
        }
        Ok(())
    }

    /// The first slot whose running weight exceeds `x` (`x` below the total).
    fn find(&self, x: u128) -> Result<u64, ComputeError> {
        let mut pos = 0u64;
        let mut rest = x;
        let mut step = if self.size == 0 {
            0
        } else {
            1u64.checked_shl(63u32.saturating_sub(self.size.leading_zeros()))
                .unwrap_or(0)
        };
        while step > 0 {
            let next = pos.saturating_add(step);
            if next <= self.size {
                let v = self.node(next)?;
                if v <= rest {
                    pos = next;
                    rest = rest.saturating_sub(v);
                }
            }
            step = step.checked_div(2).unwrap_or(0);
        }
        pos.checked_add(1)
            .filter(|s| *s <= self.size)
            .ok_or_else(|| corrupt("draw past the last slot"))
    }
}

/// Draws `r` distinct eligible providers for job `job_id`, never `exclude`
/// (the requester), by bond weight without replacement, with the seed
/// `SHA3-256(prev_app_hash || job id big-endian)`; `None` when fewer than
/// `r` eligible providers other than `exclude` exist. Reads `O(r log N)`
/// keys.
pub fn draw<S: StateRead + ?Sized>(
    state: &S,
    prev_app_hash: &[u8],
    job_id: u64,
    exclude: &Address,
    r: usize,
) -> Result<Option<Vec<Address>>, ComputeError> {
    let size = size(state)?;
    let mut available = eligible_count(state)?;
    let mut d = Draw {
        state,
        size,
        removed: BTreeMap::new(),
    };
    let mut total = prefix_sum(state, size)?;
    if let Some(slot) = slot_of(state, exclude)? {
        let w = read_u128(state, &state_key::sampler_weight(slot))?;
        if w > 0 {
            d.remove(slot, w)?;
            total = total
                .checked_sub(w)
                .ok_or_else(|| corrupt("weight above the total"))?;
            available = available.saturating_sub(1);
        }
    }
    if u64::try_from(r).map_or(true, |r| available < r) {
        return Ok(None);
    }
    let seed = sha3(&[prev_app_hash, &job_id.to_be_bytes()]);
    let mut chosen = Vec::with_capacity(r);
    for i in 0..r {
        let i = u64::try_from(i).map_err(|_| corrupt("draw index"))?;
        let h = sha3(&[&seed, &i.to_be_bytes()]);
        let mut head = [0u8; 16];
        head.copy_from_slice(h.get(..16).ok_or_else(|| corrupt("hash"))?);
        let x = u128::from_be_bytes(head)
            .checked_rem(total)
            .ok_or_else(|| corrupt("no weight left to draw from"))?;
        let slot = d.find(x)?;
        let w = read_u128(state, &state_key::sampler_weight(slot))?;
        d.remove(slot, w)?;
        total = total
            .checked_sub(w)
            .ok_or_else(|| corrupt("weight above the total"))?;
        let raw = state
            .get_raw(&state_key::sampler_slot(slot))?
            .ok_or_else(|| corrupt("missing slot"))?;
        chosen.push(Address::from_slice(&raw).map_err(|_| corrupt("malformed slot"))?);
    }
    Ok(Some(chosen))
}
