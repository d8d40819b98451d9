//! Typed reads and writes of staking state. Indexes (power, delegators of a
//! validator, consensus address) are kept by the writers here, so a record
//! and its index entries always change together.

use cosmos_sdk_proto::cosmos::staking::v1beta1 as sdk;
use deai_types::{Address, Entries, StateRead, StateReadExt, StateWrite, StateWriteExt};
use prost::Message;

use crate::{
    state_key as key,
    types::{consensus_address, Delegation, Redelegation, Unbonding, Validator},
    StakingError, StakingParams, ValoperAddress, MAX_DELEGATIONS_PER_DELEGATOR,
};

/// Entries read per page when a scan walks a prefix.
pub const PAGE: usize = 256;

/// Every entry under `prefix` (for bounded sets: a validator's delegators
/// are unbounded, so callers that walk them say why it is bounded).
pub fn scan_all<S: StateRead + ?Sized>(state: &S, prefix: &[u8]) -> Result<Entries, StakingError> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = state.prefix_raw(prefix, after.as_deref(), PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        out.extend(page);
    }
    Ok(out)
}

/// What one delegator has staked, in tokens: the stake governance counts as
/// its voting power besides its balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DelegatorStake {
    /// Its delegations, each worth its shares at its validator's exchange
    /// rate (rounded down, as undelegating them would pay).
    pub delegated: u128,
    /// The balances of its unbonding entries, still on their way back.
    pub unbonding: u128,
}

impl DelegatorStake {
    /// Delegated plus unbonding.
    pub fn total(&self) -> u128 {
        self.delegated.saturating_add(self.unbonding)
    }
}

/// The prefixes [`StakingRead::delegator_stake`] reads: whoever reads stake
/// at a past height (governance, at a vote's start) needs them carried
/// there by an export.
pub fn delegator_stake_prefixes() -> Vec<Vec<u8>> {
    vec![
        key::DELEGATIONS.to_vec(),
        key::VALIDATORS.to_vec(),
        key::UNBONDINGS.to_vec(),
    ]
}

/// The records under a delegator's `prefix`: at most
/// [`MAX_DELEGATIONS_PER_DELEGATOR`], which the messages enforce, so more
/// is a damaged state.
fn bounded<S: StateRead + ?Sized>(
    state: &S,
    prefix: &[u8],
    what: &str,
) -> Result<Entries, StakingError> {
    let entries = state.prefix_raw(
        prefix,
        None,
        MAX_DELEGATIONS_PER_DELEGATOR.saturating_add(1),
    )?;
    if entries.len() > MAX_DELEGATIONS_PER_DELEGATOR {
        return Err(StakingError::Corrupt(format!(
            "a delegator has more than {MAX_DELEGATIONS_PER_DELEGATOR} {what}"
        )));
    }
    Ok(entries)
}

fn decode<M: Message + Default>(value: &[u8], what: &str) -> Result<M, StakingError> {
    M::decode(value).map_err(|e| StakingError::Corrupt(format!("{what}: {e}")))
}

/// Reads of staking state.
pub trait StakingRead: StateRead {
    /// The parameters (the defaults before genesis has set them).
    fn staking_params(&self) -> Result<StakingParams, StakingError> {
        match self.get_proto::<sdk::Params>(&key::params())? {
            Some(p) => StakingParams::from_proto(&p),
            None => Ok(StakingParams::default()),
        }
    }

    /// The validator run by `op`.
    fn validator(&self, op: &Address) -> Result<Option<Validator>, StakingError> {
        self.get_proto::<sdk::Validator>(&key::validator(op))?
            .map(|p| Validator::from_proto(&p))
            .transpose()
    }

    /// The operator of the validator whose consensus address is `cons`.
    fn validator_by_consensus(&self, cons: &[u8; 20]) -> Result<Option<Address>, StakingError> {
        self.get_raw(&key::by_consensus(cons))?
            .map(|v| {
                Address::from_slice(&v)
                    .map_err(|e| StakingError::Corrupt(format!("consensus index: {e}")))
            })
            .transpose()
    }

    /// The delegation of `del` to `op`.
    fn delegation(&self, del: &Address, op: &Address) -> Result<Option<Delegation>, StakingError> {
        self.get_proto::<sdk::Delegation>(&key::delegation(del, op))?
            .map(|p| Delegation::from_proto(&p))
            .transpose()
    }

    /// The unbonding of `del` from `op`.
    fn unbonding(&self, del: &Address, op: &Address) -> Result<Option<Unbonding>, StakingError> {
        self.get_proto::<sdk::UnbondingDelegation>(&key::unbonding(del, op))?
            .map(|p| Unbonding::from_proto(&p))
            .transpose()
    }

    /// The redelegation of `del` from `src` to `dst`.
    fn redelegation(
        &self,
        del: &Address,
        src: &Address,
        dst: &Address,
    ) -> Result<Option<Redelegation>, StakingError> {
        self.get_proto::<sdk::Redelegation>(&key::redelegation(del, src, dst))?
            .map(|p| Redelegation::from_proto(&p))
            .transpose()
    }

    /// The tokens `del` has staked: its delegations at their validators'
    /// exchange rates and its unbonding entries' balances. Reads its
    /// delegations (at most [`MAX_DELEGATIONS_PER_DELEGATOR`], with each
    /// one's validator) and its unbondings (as many at most), whatever
    /// else is staked.
    fn delegator_stake(&self, del: &Address) -> Result<DelegatorStake, StakingError> {
        let mut stake = DelegatorStake::default();
        for (_, value) in bounded(self, &key::delegations_of(del), "delegations")? {
            let d = Delegation::from_proto(&decode(&value, "delegation")?)?;
            let v = self.validator(&d.validator)?.ok_or_else(|| {
                StakingError::Corrupt(format!(
                    "a delegation to {}, which does not exist",
                    d.validator.to_valoper()
                ))
            })?;
            stake.delegated = stake
                .delegated
                .checked_add(v.tokens_for_shares(d.shares))
                .ok_or_else(|| StakingError::Corrupt("delegated tokens overflow".into()))?;
        }
        for (_, value) in bounded(self, &key::unbondings_of(del), "unbondings")? {
            let u = Unbonding::from_proto(&decode(&value, "unbonding")?)?;
            for e in &u.entries {
                stake.unbonding = stake
                    .unbonding
                    .checked_add(e.balance)
                    .ok_or_else(|| StakingError::Corrupt("unbonding tokens overflow".into()))?;
            }
        }
        Ok(stake)
    }

    /// `del`'s delegations (at most [`MAX_DELEGATIONS_PER_DELEGATOR`]), by validator.
    fn delegations_of(&self, del: &Address) -> Result<Vec<Delegation>, StakingError> {
        bounded(self, &key::delegations_of(del), "delegations")?
            .iter()
            .map(|(_, value)| Delegation::from_proto(&decode(value, "delegation")?))
            .collect()
    }

    /// Whether stake of `del` is still maturing at `op` after a redelegation into it.
    fn has_incoming_redelegation(&self, del: &Address, op: &Address) -> Result<bool, StakingError> {
        Ok(!self
            .prefix_raw(&key::incoming(del, op), None, 1)?
            .is_empty())
    }

    /// The power CometBFT was last given for `op` (0: not in the set).
    fn last_power(&self, op: &Address) -> Result<u64, StakingError> {
        match self.get_raw(&key::last_power(op))? {
            None => Ok(0),
            Some(v) => Ok(u64::from_be_bytes(v.as_slice().try_into().map_err(
                |_| StakingError::Corrupt("last power is not 8 bytes".into()),
            )?)),
        }
    }

    /// The whole last set, by operator (at most `max_validators` entries).
    fn last_powers(&self) -> Result<Vec<(Address, u64)>, StakingError> {
        scan_all(self, key::LAST_POWERS)?
            .into_iter()
            .map(|(k, v)| {
                let op = Address::from_slice(&k[key::LAST_POWERS.len()..])
                    .map_err(|e| StakingError::Corrupt(format!("last power key: {e}")))?;
                let p: [u8; 8] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| StakingError::Corrupt("last power is not 8 bytes".into()))?;
                Ok((op, u64::from_be_bytes(p)))
            })
            .collect()
    }
}

impl<T: StateRead + ?Sized> StakingRead for T {}

/// Writes of staking state.
pub trait StakingWrite: StateWrite {
    /// Stores validated parameters.
    fn put_staking_params(&mut self, params: &StakingParams) -> Result<(), StakingError> {
        params.validate()?;
        self.put_proto(key::params(), &params.to_proto())?;
        Ok(())
    }

    /// Stores `v` and keeps its power index entry: present (at its power)
    /// only while it is not jailed and has power. `before` is the record as
    /// it was stored (`None` for a new validator).
    fn put_validator(
        &mut self,
        v: &Validator,
        before: Option<&Validator>,
    ) -> Result<(), StakingError> {
        if let Some(b) = before {
            self.delete_raw(key::power_index(b.power(), &b.operator))?;
        } else {
            self.put_raw(
                key::by_consensus(&consensus_address(&v.pubkey)),
                v.operator.as_bytes().to_vec(),
            )?;
        }
        if !v.jailed && v.power() > 0 {
            self.put_raw(key::power_index(v.power(), &v.operator), Vec::new())?;
        }
        self.put_proto(key::validator(&v.operator), &v.to_proto())?;
        Ok(())
    }

    /// Removes validator `v` (no shares left, unbonded) with its power
    /// index entry. Its consensus key stays taken (the consensus index keeps
    /// naming `v`'s operator): a key is never freed, so a validator
    /// tombstoned for double-signing cannot come back under a new record
    /// with the same key and sign twice again unpunished.
    fn remove_validator(&mut self, v: &Validator) -> Result<(), StakingError> {
        self.delete_raw(key::power_index(v.power(), &v.operator))?;
        self.delete_raw(key::validator(&v.operator))?;
        Ok(())
    }

    /// Stores a delegation (removing it when it holds no shares).
    fn put_delegation(&mut self, d: &Delegation) -> Result<(), StakingError> {
        if d.shares.is_zero() {
            self.delete_raw(key::delegation(&d.delegator, &d.validator))?;
            self.delete_raw(key::delegator(&d.validator, &d.delegator))?;
        } else {
            self.put_proto(key::delegation(&d.delegator, &d.validator), &d.to_proto())?;
            self.put_raw(key::delegator(&d.validator, &d.delegator), Vec::new())?;
        }
        Ok(())
    }

    /// Stores an unbonding (removing it when it has no entries), keeping
    /// its entries' creation heights indexed.
    fn put_unbonding(&mut self, u: &Unbonding) -> Result<(), StakingError> {
        let before = self.unbonding(&u.delegator, &u.validator)?;
        let old = before
            .iter()
            .flat_map(|b| b.entries.iter().map(|e| e.creation_height));
        let new = u.entries.iter().map(|e| e.creation_height);
        reindex_heights(self, old, new, |h| {
            key::unbonding_at(&u.validator, h, &u.delegator)
        })?;
        if u.entries.is_empty() {
            self.delete_raw(key::unbonding(&u.delegator, &u.validator))?;
            self.delete_raw(key::unbonder(&u.validator, &u.delegator))?;
        } else {
            self.put_proto(key::unbonding(&u.delegator, &u.validator), &u.to_proto())?;
            self.put_raw(key::unbonder(&u.validator, &u.delegator), Vec::new())?;
        }
        Ok(())
    }

    /// Stores a redelegation (removing it when it has no entries), keeping
    /// its entries' creation heights indexed.
    fn put_redelegation(&mut self, r: &Redelegation) -> Result<(), StakingError> {
        let before = self.redelegation(&r.delegator, &r.src, &r.dst)?;
        let old = before
            .iter()
            .flat_map(|b| b.entries.iter().map(|e| e.creation_height));
        let new = r.entries.iter().map(|e| e.creation_height);
        reindex_heights(self, old, new, |h| {
            key::redelegation_at(&r.src, h, &r.delegator, &r.dst)
        })?;
        if r.entries.is_empty() {
            self.delete_raw(key::redelegation(&r.delegator, &r.src, &r.dst))?;
            self.delete_raw(key::incoming_from(&r.delegator, &r.dst, &r.src))?;
        } else {
            self.put_proto(
                key::redelegation(&r.delegator, &r.src, &r.dst),
                &r.to_proto(),
            )?;
            self.put_raw(key::incoming_from(&r.delegator, &r.dst, &r.src), Vec::new())?;
        }
        Ok(())
    }

    /// Records the power CometBFT was given for `op` (0 removes it).
    fn set_last_power(&mut self, op: &Address, power: u64) -> Result<(), StakingError> {
        if power == 0 {
            self.delete_raw(key::last_power(op))?;
        } else {
            self.put_raw(key::last_power(op), power.to_be_bytes().to_vec())?;
        }
        Ok(())
    }
}

impl<T: StateWrite + ?Sized> StakingWrite for T {}

/// Moves a record's height index from the creation heights of its `old`
/// entries to those of its `new` ones (`at` gives the index key of a height).
fn reindex_heights<S: StateWrite + ?Sized>(
    state: &mut S,
    old: impl Iterator<Item = u64>,
    new: impl Iterator<Item = u64>,
    at: impl Fn(u64) -> Vec<u8>,
) -> Result<(), StakingError> {
    let old: std::collections::BTreeSet<u64> = old.collect();
    let new: std::collections::BTreeSet<u64> = new.collect();
    for h in old.difference(&new) {
        state.delete_raw(at(*h))?;
    }
    for h in new.difference(&old) {
        state.put_raw(at(*h), Vec::new())?;
    }
    Ok(())
}
