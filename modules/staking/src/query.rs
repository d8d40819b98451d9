//! The Cosmos SDK's `cosmos.staking.v1beta1.Query` service over staking
//! state. Lists page by store key (`pagination.key` is the last key of the
//! previous page); a page reads at most [`MAX_SCAN`] records, so a filter
//! that matches little cannot make one query walk every validator.

use cosmos_sdk_proto::cosmos::{
    base::{query::v1beta1::PageResponse, v1beta1::Coin as ProtoCoin},
    staking::v1beta1 as sdk,
};
use deai_bank::BankRead;
use deai_types::{
    query::{decode, Page},
    Address, QueryError, StateRead,
};
use prost::Message;

use crate::{
    state_key as key,
    types::{BondStatus, Delegation, Validator},
    StakingError, StakingRead,
};

/// Most records one page reads (matching or not).
pub const MAX_SCAN: usize = 10_000;

fn err(e: StakingError) -> QueryError {
    e.into()
}

fn account(field: &str, s: &str) -> Result<Address, QueryError> {
    s.parse()
        .map_err(|e| QueryError::invalid(format!("{field}: {e}")))
}

fn valoper(field: &str, s: &str) -> Result<Address, QueryError> {
    crate::parse_valoper(s).map_err(|e| QueryError::invalid(format!("{field}: {e}")))
}

fn coin(amount: u128, denom: &str) -> ProtoCoin {
    ProtoCoin {
        denom: denom.to_string(),
        amount: amount.to_string(),
    }
}

/// Walks `prefix` from the page's key, keeping what `keep` returns, until
/// the page is full, the prefix ends or [`MAX_SCAN`] records were read.
fn scan<S: StateRead + ?Sized, T>(
    state: &S,
    prefix: &[u8],
    page: &Page,
    mut keep: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, QueryError>,
) -> Result<(Vec<T>, PageResponse), QueryError> {
    if let Some(after) = &page.after {
        if !after.starts_with(prefix) {
            return Err(QueryError::invalid(
                "pagination.key is not one this query handed out",
            ));
        }
    }
    let mut out = Vec::new();
    let mut after = page.after.clone();
    let mut read = 0usize;
    let mut more = false;
    'outer: loop {
        let batch = state
            .prefix_raw(prefix, after.as_deref(), crate::state::PAGE)
            .map_err(|e| QueryError::from_module(&StakingError::from(e)))?;
        if batch.is_empty() {
            break;
        }
        for (k, v) in batch {
            read = read.saturating_add(1);
            after = Some(k.clone());
            if let Some(t) = keep(&k, &v)? {
                out.push(t);
            }
            if out.len() >= page.limit || read >= MAX_SCAN {
                more = true;
                break 'outer;
            }
        }
    }
    let next_key = if more {
        after.unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok((out, PageResponse { next_key, total: 0 }))
}

fn validator_or_not_found<S: StateRead + ?Sized>(
    state: &S,
    op: &Address,
) -> Result<Validator, QueryError> {
    state
        .validator(op)
        .map_err(err)?
        .ok_or_else(|| err(StakingError::NoValidator(op.to_string())))
}

/// A delegation with the tokens it is worth.
fn delegation_response<S: StateRead + ?Sized>(
    state: &S,
    d: &Delegation,
    denom: &str,
) -> Result<sdk::DelegationResponse, QueryError> {
    let v = validator_or_not_found(state, &d.validator)?;
    Ok(sdk::DelegationResponse {
        delegation: Some(d.to_proto()),
        balance: Some(coin(v.tokens_for_shares(d.shares), denom)),
    })
}

fn decode_delegation(v: &[u8]) -> Result<Delegation, QueryError> {
    let p = sdk::Delegation::decode(v)
        .map_err(|e| err(StakingError::Corrupt(format!("delegation: {e}"))))?;
    Delegation::from_proto(&p).map_err(err)
}

/// Answers `method` if it is one of `cosmos.staking.v1beta1.Query`'s.
pub fn query<S: StateRead + ?Sized>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let name = method.strip_prefix("/cosmos.staking.v1beta1.Query/")?;
    let denom = || state.staking_params().map(|p| p.bond_denom).map_err(err);
    let answer: Result<Vec<u8>, QueryError> = match name {
        "Params" => (|| {
            let _: sdk::QueryParamsRequest = decode(data)?;
            Ok(sdk::QueryParamsResponse {
                params: Some(state.staking_params().map_err(err)?.to_proto()),
            }
            .encode_to_vec())
        })(),
        "HistoricalInfo" => (|| {
            let req: sdk::QueryHistoricalInfoRequest = decode(data)?;
            let height = u64::try_from(req.height)
                .ok()
                .filter(|h| *h > 0)
                .ok_or_else(|| QueryError::invalid("height must be positive"))?;
            let hist = crate::historical::historical_info(state, height)
                .map_err(err)?
                .ok_or_else(|| {
                    QueryError::not_found(format!(
                        "historical info for height {height} (the chain keeps the last historical_entries heights)"
                    ))
                })?;
            Ok(sdk::QueryHistoricalInfoResponse { hist: Some(hist) }.encode_to_vec())
        })(),
        "Pool" => (|| {
            let _: sdk::QueryPoolRequest = decode(data)?;
            let d = denom()?;
            let balance = |a: &Address| {
                state
                    .balance(a, &d)
                    .map_err(|e| QueryError::from_module(&e))
            };
            Ok(sdk::QueryPoolResponse {
                pool: Some(sdk::Pool {
                    not_bonded_tokens: balance(&crate::not_bonded_pool())?.to_string(),
                    bonded_tokens: balance(&crate::bonded_pool())?.to_string(),
                }),
            }
            .encode_to_vec())
        })(),
        "Validator" => (|| {
            let req: sdk::QueryValidatorRequest = decode(data)?;
            let op = valoper("validator_addr", &req.validator_addr)?;
            Ok(sdk::QueryValidatorResponse {
                validator: Some(validator_or_not_found(state, &op)?.to_proto()),
            }
            .encode_to_vec())
        })(),
        "Validators" => (|| {
            let req: sdk::QueryValidatorsRequest = decode(data)?;
            let status = match req.status.as_str() {
                "" => None,
                s => Some(
                    sdk::BondStatus::from_str_name(s)
                        .and_then(|s| BondStatus::from_proto(s as i32))
                        .ok_or_else(|| {
                            QueryError::invalid(format!(
                                "status {s:?}: use BOND_STATUS_BONDED, BOND_STATUS_UNBONDING or BOND_STATUS_UNBONDED"
                            ))
                        })?,
                ),
            };
            let page = Page::from_request(req.pagination.as_ref())?;
            let (validators, pagination) = scan(state, key::VALIDATORS, &page, |_, v| {
                let p = sdk::Validator::decode(v)
                    .map_err(|e| err(StakingError::Corrupt(format!("validator: {e}"))))?;
                let keep = match status {
                    None => true,
                    Some(s) => BondStatus::from_proto(p.status) == Some(s),
                };
                Ok(keep.then_some(p))
            })?;
            Ok(sdk::QueryValidatorsResponse {
                validators,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "ValidatorDelegations" => (|| {
            let req: sdk::QueryValidatorDelegationsRequest = decode(data)?;
            let op = valoper("validator_addr", &req.validator_addr)?;
            let v = validator_or_not_found(state, &op)?;
            let d = denom()?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let prefix = key::delegators_of(&op);
            let (delegation_responses, pagination) = scan(state, &prefix, &page, |k, _| {
                let del = Address::from_slice(&k[prefix.len()..])
                    .map_err(|e| err(StakingError::Corrupt(format!("delegator index: {e}"))))?;
                let Some(dl) = state.delegation(&del, &op).map_err(err)? else {
                    return Ok(None);
                };
                Ok(Some(sdk::DelegationResponse {
                    balance: Some(coin(v.tokens_for_shares(dl.shares), &d)),
                    delegation: Some(dl.to_proto()),
                }))
            })?;
            Ok(sdk::QueryValidatorDelegationsResponse {
                delegation_responses,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "ValidatorUnbondingDelegations" => (|| {
            let req: sdk::QueryValidatorUnbondingDelegationsRequest = decode(data)?;
            let op = valoper("validator_addr", &req.validator_addr)?;
            validator_or_not_found(state, &op)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let prefix = key::unbonders_of(&op);
            let (unbonding_responses, pagination) = scan(state, &prefix, &page, |k, _| {
                let del = Address::from_slice(&k[prefix.len()..])
                    .map_err(|e| err(StakingError::Corrupt(format!("unbonder index: {e}"))))?;
                Ok(state
                    .unbonding(&del, &op)
                    .map_err(err)?
                    .map(|u| u.to_proto()))
            })?;
            Ok(sdk::QueryValidatorUnbondingDelegationsResponse {
                unbonding_responses,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "Delegation" => (|| {
            let req: sdk::QueryDelegationRequest = decode(data)?;
            let del = account("delegator_addr", &req.delegator_addr)?;
            let op = valoper("validator_addr", &req.validator_addr)?;
            let d = state.delegation(&del, &op).map_err(err)?.ok_or_else(|| {
                err(StakingError::NoDelegation {
                    delegator: req.delegator_addr.clone(),
                    validator: req.validator_addr.clone(),
                })
            })?;
            Ok(sdk::QueryDelegationResponse {
                delegation_response: Some(delegation_response(state, &d, &denom()?)?),
            }
            .encode_to_vec())
        })(),
        "UnbondingDelegation" => (|| {
            let req: sdk::QueryUnbondingDelegationRequest = decode(data)?;
            let del = account("delegator_addr", &req.delegator_addr)?;
            let op = valoper("validator_addr", &req.validator_addr)?;
            let u = state.unbonding(&del, &op).map_err(err)?.ok_or_else(|| {
                QueryError::not_found(format!(
                    "unbonding delegation of {} from {}",
                    req.delegator_addr, req.validator_addr
                ))
            })?;
            Ok(sdk::QueryUnbondingDelegationResponse {
                unbond: Some(u.to_proto()),
            }
            .encode_to_vec())
        })(),
        "DelegatorDelegations" => (|| {
            let req: sdk::QueryDelegatorDelegationsRequest = decode(data)?;
            let del = account("delegator_addr", &req.delegator_addr)?;
            let d = denom()?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let (delegation_responses, pagination) =
                scan(state, &key::delegations_of(&del), &page, |_, v| {
                    Ok(Some(delegation_response(
                        state,
                        &decode_delegation(v)?,
                        &d,
                    )?))
                })?;
            Ok(sdk::QueryDelegatorDelegationsResponse {
                delegation_responses,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "DelegatorUnbondingDelegations" => (|| {
            let req: sdk::QueryDelegatorUnbondingDelegationsRequest = decode(data)?;
            let del = account("delegator_addr", &req.delegator_addr)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let (unbonding_responses, pagination) =
                scan(state, &key::unbondings_of(&del), &page, |_, v| {
                    Ok(Some(sdk::UnbondingDelegation::decode(v).map_err(|e| {
                        err(StakingError::Corrupt(format!("unbonding: {e}")))
                    })?))
                })?;
            Ok(sdk::QueryDelegatorUnbondingDelegationsResponse {
                unbonding_responses,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "Redelegations" => (|| {
            let req: sdk::QueryRedelegationsRequest = decode(data)?;
            let del = account("delegator_addr", &req.delegator_addr)?;
            let src = (!req.src_validator_addr.is_empty())
                .then(|| valoper("src_validator_addr", &req.src_validator_addr))
                .transpose()?;
            let dst = (!req.dst_validator_addr.is_empty())
                .then(|| valoper("dst_validator_addr", &req.dst_validator_addr))
                .transpose()?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let (redelegation_responses, pagination) =
                scan(state, &key::redelegations_of(&del), &page, |_, v| {
                    let p = sdk::Redelegation::decode(v)
                        .map_err(|e| err(StakingError::Corrupt(format!("redelegation: {e}"))))?;
                    let r = crate::types::Redelegation::from_proto(&p).map_err(err)?;
                    if src.is_some_and(|s| s != r.src) || dst.is_some_and(|d| d != r.dst) {
                        return Ok(None);
                    }
                    let entries = p
                        .entries
                        .iter()
                        .zip(&r.entries)
                        .map(|(pe, e)| sdk::RedelegationEntryResponse {
                            redelegation_entry: Some(pe.clone()),
                            balance: e.initial_balance.to_string(),
                        })
                        .collect();
                    Ok(Some(sdk::RedelegationResponse {
                        redelegation: Some(p),
                        entries,
                    }))
                })?;
            Ok(sdk::QueryRedelegationsResponse {
                redelegation_responses,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "DelegatorValidators" => (|| {
            let req: sdk::QueryDelegatorValidatorsRequest = decode(data)?;
            let del = account("delegator_addr", &req.delegator_addr)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let (validators, pagination) =
                scan(state, &key::delegations_of(&del), &page, |_, v| {
                    let d = decode_delegation(v)?;
                    Ok(Some(
                        validator_or_not_found(state, &d.validator)?.to_proto(),
                    ))
                })?;
            Ok(sdk::QueryDelegatorValidatorsResponse {
                validators,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "DelegatorValidator" => (|| {
            let req: sdk::QueryDelegatorValidatorRequest = decode(data)?;
            let del = account("delegator_addr", &req.delegator_addr)?;
            let op = valoper("validator_addr", &req.validator_addr)?;
            if state.delegation(&del, &op).map_err(err)?.is_none() {
                return Err(err(StakingError::NoDelegation {
                    delegator: req.delegator_addr.clone(),
                    validator: req.validator_addr.clone(),
                }));
            }
            Ok(sdk::QueryDelegatorValidatorResponse {
                validator: Some(validator_or_not_found(state, &op)?.to_proto()),
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
