//! Checks of the staking books as a whole. They scan every validator,
//! delegation and unbonding: for genesis, tests and operator tools, never
//! for blocks.

use std::collections::BTreeMap;

use cosmos_sdk_proto::cosmos::staking::v1beta1 as sdk;
use deai_bank::BankRead;
use deai_types::{Address, StateRead};
use prost::Message;

use crate::{
    dec::Dec,
    state::scan_all,
    state_key as key,
    types::{BondStatus, Delegation, Unbonding, Validator},
    StakingError, StakingRead,
};

fn corrupt(what: &str) -> impl Fn(prost::DecodeError) -> StakingError + '_ {
    move |e| StakingError::Corrupt(format!("{what}: {e}"))
}

/// The pools hold exactly the stake, every validator's shares are the sum
/// of its delegations', and the power index lists exactly the validators
/// that are not jailed and have power.
pub fn check_pools<S: StateRead + ?Sized>(state: &S) -> Result<(), StakingError> {
    let denom = state.staking_params()?.bond_denom;
    let mut bonded = 0u128;
    let mut not_bonded = 0u128;
    let mut validators = BTreeMap::<Address, Validator>::new();
    for (_, v) in scan_all(state, key::VALIDATORS)? {
        let v = Validator::from_proto(
            &sdk::Validator::decode(v.as_slice()).map_err(corrupt("validator"))?,
        )?;
        let sum = if v.status == BondStatus::Bonded {
            &mut bonded
        } else {
            &mut not_bonded
        };
        *sum = sum
            .checked_add(v.tokens)
            .ok_or_else(|| StakingError::Corrupt("tokens overflow".into()))?;
        validators.insert(v.operator, v);
    }
    let mut shares = BTreeMap::<Address, Dec>::new();
    for (_, d) in scan_all(state, key::DELEGATIONS)? {
        let d = Delegation::from_proto(
            &sdk::Delegation::decode(d.as_slice()).map_err(corrupt("delegation"))?,
        )?;
        if !validators.contains_key(&d.validator) {
            return Err(StakingError::Corrupt(format!(
                "a delegation to {} which does not exist",
                d.validator
            )));
        }
        let s = shares.entry(d.validator).or_default();
        *s = s
            .checked_add(d.shares)
            .ok_or_else(|| StakingError::Corrupt("shares overflow".into()))?;
    }
    for v in validators.values() {
        let held = shares.get(&v.operator).copied().unwrap_or_default();
        if held != v.shares {
            return Err(StakingError::Corrupt(format!(
                "validator {} issued {} shares but its delegations hold {held}",
                v.operator, v.shares
            )));
        }
        let indexed = state
            .get_raw(&key::power_index(v.power(), &v.operator))?
            .is_some();
        if indexed != (!v.jailed && v.power() > 0) {
            return Err(StakingError::Corrupt(format!(
                "validator {} is {}in the power index",
                v.operator,
                if indexed { "" } else { "not " }
            )));
        }
    }
    for (_, u) in scan_all(state, b"staking/unbonding/")? {
        let u = Unbonding::from_proto(
            &sdk::UnbondingDelegation::decode(u.as_slice()).map_err(corrupt("unbonding"))?,
        )?;
        for e in &u.entries {
            not_bonded = not_bonded
                .checked_add(e.balance)
                .ok_or_else(|| StakingError::Corrupt("unbonding overflow".into()))?;
        }
    }
    let pool = |a: &Address| state.balance(a, &denom).map_err(StakingError::from);
    let (b, nb) = (
        pool(&crate::bonded_pool())?,
        pool(&crate::not_bonded_pool())?,
    );
    if b != bonded || nb != not_bonded {
        return Err(StakingError::Corrupt(format!(
            "the bonded pool holds {b} for {bonded} bonded tokens, the not-bonded pool {nb} for {not_bonded}"
        )));
    }
    Ok(())
}
