//! The bank module's gRPC query methods, answered over ABCI `Query`.

use cosmos_sdk_proto::cosmos::{
    bank::v1beta1::{
        QueryAllBalancesRequest, QueryAllBalancesResponse, QueryBalanceRequest,
        QueryBalanceResponse, QuerySpendableBalancesRequest, QuerySpendableBalancesResponse,
        QuerySupplyOfRequest, QuerySupplyOfResponse, QueryTotalSupplyRequest,
        QueryTotalSupplyResponse,
    },
    base::v1beta1::Coin as ProtoCoin,
};
use deai_types::{
    query::{address, decode, Page},
    Coin, QueryError, StateRead,
};
use prost::Message;

use crate::{BankError, BankRead};

fn proto(c: &Coin) -> ProtoCoin {
    ProtoCoin {
        denom: c.denom.clone(),
        amount: c.amount.to_string(),
    }
}

fn err(e: BankError) -> QueryError {
    QueryError::from_module(&e)
}

fn balances<S: StateRead>(
    state: &S,
    addr: &str,
    page: Option<&cosmos_sdk_proto::cosmos::base::query::v1beta1::PageRequest>,
) -> Result<
    (
        Vec<ProtoCoin>,
        cosmos_sdk_proto::cosmos::base::query::v1beta1::PageResponse,
    ),
    QueryError,
> {
    let addr = address(addr)?;
    let page = Page::from_request(page)?;
    let after = page
        .after
        .as_deref()
        .map(|k| String::from_utf8_lossy(k).into_owned());
    let coins = state
        .balances(&addr, after.as_deref(), page.limit)
        .map_err(err)?;
    let last = coins.last().map(|c| c.denom.clone().into_bytes());
    Ok((
        coins.iter().map(proto).collect(),
        page.response(coins.len(), last),
    ))
}

/// Answers `method` if it is one of the bank's; `None` if it is not.
pub fn query<S: StateRead>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let answer = match method {
        "/cosmos.bank.v1beta1.Query/Balance" => (|| {
            let req: QueryBalanceRequest = decode(data)?;
            let addr = address(&req.address)?;
            Coin::validate_denom(&req.denom).map_err(|e| QueryError::invalid(e.to_string()))?;
            let amount = state.balance(&addr, &req.denom).map_err(err)?;
            Ok(QueryBalanceResponse {
                balance: Some(proto(&Coin::new(amount, req.denom))),
            }
            .encode_to_vec())
        })(),
        "/cosmos.bank.v1beta1.Query/AllBalances" => (|| {
            let req: QueryAllBalancesRequest = decode(data)?;
            let (balances, pagination) = balances(state, &req.address, req.pagination.as_ref())?;
            Ok(QueryAllBalancesResponse {
                balances,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "/cosmos.bank.v1beta1.Query/SpendableBalances" => (|| {
            let req: QuerySpendableBalancesRequest = decode(data)?;
            let (balances, pagination) = balances(state, &req.address, req.pagination.as_ref())?;
            Ok(QuerySpendableBalancesResponse {
                balances,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "/cosmos.bank.v1beta1.Query/TotalSupply" => (|| {
            let req: QueryTotalSupplyRequest = decode(data)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let after = page
                .after
                .as_deref()
                .map(|k| String::from_utf8_lossy(k).into_owned());
            let supply = state
                .total_supply(after.as_deref(), page.limit)
                .map_err(err)?;
            let last = supply.last().map(|c| c.denom.clone().into_bytes());
            Ok(QueryTotalSupplyResponse {
                pagination: Some(page.response(supply.len(), last)),
                supply: supply.iter().map(proto).collect(),
            }
            .encode_to_vec())
        })(),
        "/cosmos.bank.v1beta1.Query/SupplyOf" => (|| {
            let req: QuerySupplyOfRequest = decode(data)?;
            Coin::validate_denom(&req.denom).map_err(|e| QueryError::invalid(e.to_string()))?;
            let amount = state.supply(&req.denom).map_err(err)?;
            Ok(QuerySupplyOfResponse {
                amount: Some(proto(&Coin::new(amount, req.denom))),
            }
            .encode_to_vec())
        })(),
        "/deai.bank.v1.Query/Params" => (|| {
            let _: deai_proto::bank::v1::QueryParamsRequest = decode(data)?;
            let params = state.bank_params().map_err(err)?;
            Ok(deai_proto::bank::v1::QueryParamsResponse {
                params: Some(params.to_proto()),
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
