//! The Cosmos SDK's `cosmos.distribution.v1beta1.Query` service.
//!
//! The community pool is the DAO treasury: `CommunityPool` answers the
//! treasury's balance plus the fractions of coins owed to it.

use cosmos_sdk_proto::cosmos::{base::query::v1beta1::PageResponse, distribution::v1beta1 as sdk};
use deai_bank::BankRead;
use deai_staking::{parse_valoper, types::Validator, StakingRead, ValoperAddress};
use deai_types::{
    query::{address, decode, Page},
    Address, QueryError, StateRead,
};
use prost::Message;

use crate::{
    dec_coins::DecCoins, rewards, state::decode_slash, state_key as key, DistributionError,
    DistributionRead,
};

/// Most denoms of the treasury `CommunityPool` reports.
const POOL_DENOMS: usize = 100;

fn valoper(s: &str) -> Result<Address, QueryError> {
    parse_valoper(s).map_err(|e| QueryError::invalid(format!("validator_address: {e}")))
}

fn validator<S: StateRead + ?Sized>(state: &S, op: &Address) -> Result<Validator, QueryError> {
    state
        .validator(op)
        .map_err(QueryError::from)?
        .ok_or_else(|| DistributionError::NoValidator(op.to_valoper()).into())
}

fn err(e: impl Into<DistributionError>) -> QueryError {
    e.into().into()
}

/// Answers `method` if it is one of `cosmos.distribution.v1beta1.Query`'s.
pub fn query<S: StateRead + ?Sized>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let name = method.strip_prefix("/cosmos.distribution.v1beta1.Query/")?;
    let answer = match name {
        "Params" => (|| {
            let _: sdk::QueryParamsRequest = decode(data)?;
            Ok(sdk::QueryParamsResponse {
                params: Some(state.distribution_params()?.to_proto()),
            }
            .encode_to_vec())
        })(),
        "ValidatorDistributionInfo" => (|| {
            let req: sdk::QueryValidatorDistributionInfoRequest = decode(data)?;
            let op = valoper(&req.validator_address)?;
            let v = validator(state, &op)?;
            let self_bond = match state.delegation(&op, &op).map_err(err)? {
                Some(_) => rewards::pending(state, &op, &v)?,
                None => DecCoins::new(),
            };
            Ok(sdk::QueryValidatorDistributionInfoResponse {
                operator_address: op.to_bech32(),
                self_bond_rewards: self_bond.to_proto(),
                commission: state.accumulated_commission(&op)?.to_proto(),
            }
            .encode_to_vec())
        })(),
        "ValidatorOutstandingRewards" => (|| {
            let req: sdk::QueryValidatorOutstandingRewardsRequest = decode(data)?;
            let op = valoper(&req.validator_address)?;
            validator(state, &op)?;
            Ok(sdk::QueryValidatorOutstandingRewardsResponse {
                rewards: Some(sdk::ValidatorOutstandingRewards {
                    rewards: state.outstanding_rewards(&op)?.to_proto(),
                }),
            }
            .encode_to_vec())
        })(),
        "ValidatorCommission" => (|| {
            let req: sdk::QueryValidatorCommissionRequest = decode(data)?;
            let op = valoper(&req.validator_address)?;
            validator(state, &op)?;
            Ok(sdk::QueryValidatorCommissionResponse {
                commission: Some(sdk::ValidatorAccumulatedCommission {
                    commission: state.accumulated_commission(&op)?.to_proto(),
                }),
            }
            .encode_to_vec())
        })(),
        "ValidatorSlashes" => (|| {
            let req: sdk::QueryValidatorSlashesRequest = decode(data)?;
            let op = valoper(&req.validator_address)?;
            if req.ending_height < req.starting_height {
                return Err(QueryError::invalid(
                    "ending_height must not be below starting_height",
                ));
            }
            let prefix = key::slashes_prefix(&op);
            let page = Page::from_request(req.pagination.as_ref())?;
            if page.after.as_ref().is_some_and(|a| !a.starts_with(&prefix)) {
                return Err(QueryError::invalid(
                    "pagination.key is not one this query handed out",
                ));
            }
            let entries = state
                .prefix_raw(&prefix, page.after.as_deref(), page.limit)
                .map_err(err)?;
            let mut slashes = Vec::new();
            for (_, v) in &entries {
                let e = decode_slash(v)?;
                if (req.starting_height..=req.ending_height).contains(&e.height) {
                    slashes.push(e.to_proto());
                }
            }
            let pagination: PageResponse =
                page.response(entries.len(), entries.last().map(|(k, _)| k.clone()));
            Ok(sdk::QueryValidatorSlashesResponse {
                slashes,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "DelegationRewards" => (|| {
            let req: sdk::QueryDelegationRewardsRequest = decode(data)?;
            let delegator = address(&req.delegator_address)?;
            let op = valoper(&req.validator_address)?;
            let v = validator(state, &op)?;
            Ok(sdk::QueryDelegationRewardsResponse {
                rewards: rewards::pending(state, &delegator, &v)?.to_proto(),
            }
            .encode_to_vec())
        })(),
        "DelegationTotalRewards" => (|| {
            let req: sdk::QueryDelegationTotalRewardsRequest = decode(data)?;
            let delegator = address(&req.delegator_address)?;
            let mut total = DecCoins::new();
            let mut each = Vec::new();
            for d in state.delegations_of(&delegator).map_err(err)? {
                let v = validator(state, &d.validator)?;
                let r = rewards::pending(state, &delegator, &v)?;
                total = total.saturating_add(&r);
                each.push(sdk::DelegationDelegatorReward {
                    validator_address: d.validator.to_valoper(),
                    reward: r.to_proto(),
                });
            }
            Ok(sdk::QueryDelegationTotalRewardsResponse {
                rewards: each,
                total: total.to_proto(),
            }
            .encode_to_vec())
        })(),
        "DelegatorValidators" => (|| {
            let req: sdk::QueryDelegatorValidatorsRequest = decode(data)?;
            let delegator = address(&req.delegator_address)?;
            Ok(sdk::QueryDelegatorValidatorsResponse {
                validators: state
                    .delegations_of(&delegator)
                    .map_err(err)?
                    .iter()
                    .map(|d| d.validator.to_valoper())
                    .collect(),
            }
            .encode_to_vec())
        })(),
        "DelegatorWithdrawAddress" => (|| {
            let req: sdk::QueryDelegatorWithdrawAddressRequest = decode(data)?;
            let delegator = address(&req.delegator_address)?;
            Ok(sdk::QueryDelegatorWithdrawAddressResponse {
                withdraw_address: state.withdraw_address(&delegator)?.to_bech32(),
            }
            .encode_to_vec())
        })(),
        "CommunityPool" => (|| {
            let _: sdk::QueryCommunityPoolRequest = decode(data)?;
            let held = state
                .balances(&deai_treasury::address(), None, POOL_DENOMS)
                .map_err(err)?;
            let pool = DecCoins::from_coins(&held)
                .unwrap_or_default()
                .saturating_add(&state.dust()?);
            Ok(sdk::QueryCommunityPoolResponse {
                pool: pool.to_proto(),
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
