//! The bank module's gRPC query methods, answered over ABCI `Query`: the
//! Cosmos SDK's `cosmos.bank.v1beta1.Query` and our own
//! `deai.bank.v1.Query/Params`.
//!
//! Not answered: `DenomOwners` and `DenomOwnersByQuery`. Balances are keyed
//! by address first (`bank/balance/<address><denom>`), so listing the
//! holders of one denom would walk every balance of every account; there is
//! no index by denom.

use cosmos_sdk_proto::cosmos::{
    bank::v1beta1::{
        Params as SdkParams, QueryAllBalancesRequest, QueryAllBalancesResponse,
        QueryBalanceRequest, QueryBalanceResponse, QueryDenomMetadataByQueryStringRequest,
        QueryDenomMetadataByQueryStringResponse, QueryDenomMetadataRequest,
        QueryDenomMetadataResponse, QueryDenomsMetadataRequest, QueryDenomsMetadataResponse,
        QueryParamsRequest, QueryParamsResponse, QuerySendEnabledRequest, QuerySendEnabledResponse,
        QuerySpendableBalanceByDenomRequest, QuerySpendableBalanceByDenomResponse,
        QuerySpendableBalancesRequest, QuerySpendableBalancesResponse, QuerySupplyOfRequest,
        QuerySupplyOfResponse, QueryTotalSupplyRequest, QueryTotalSupplyResponse, SendEnabled,
    },
    base::v1beta1::Coin as ProtoCoin,
};
use deai_types::{
    query::{address, decode, Page, MAX_PAGE},
    Coin, QueryError, StateRead,
};
use prost::Message;

use crate::{metadata, BankError, BankRead};

fn proto(c: &Coin) -> ProtoCoin {
    ProtoCoin {
        denom: c.denom.clone(),
        amount: c.amount.to_string(),
    }
}

fn err(e: BankError) -> QueryError {
    QueryError::from_module(&e)
}

fn denom(d: &str) -> Result<(), QueryError> {
    Coin::validate_denom(d).map_err(|e| QueryError::invalid(e.to_string()))
}

/// The balance of `denom` held by the request's `addr`.
fn balance<S: StateRead>(state: &S, addr: &str, d: String) -> Result<ProtoCoin, QueryError> {
    let addr = address(addr)?;
    denom(&d)?;
    let amount = state.balance(&addr, &d).map_err(err)?;
    Ok(proto(&Coin::new(amount, d)))
}

/// The metadata of `d`; NotFound for a denom without any.
fn denom_metadata(
    d: &str,
) -> Result<cosmos_sdk_proto::cosmos::bank::v1beta1::Metadata, QueryError> {
    denom(d)?;
    metadata::metadata(d)
        .ok_or_else(|| QueryError::not_found(format!("client metadata for denom {d}")))
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
            Ok(QueryBalanceResponse {
                balance: Some(balance(state, &req.address, req.denom)?),
            }
            .encode_to_vec())
        })(),
        // Nothing is ever locked in an account here (no vesting accounts;
        // deposits, bonds and escrow move to module accounts), so what is
        // spendable is the whole balance, as `SpendableBalances` answers too.
        "/cosmos.bank.v1beta1.Query/SpendableBalanceByDenom" => (|| {
            let req: QuerySpendableBalanceByDenomRequest = decode(data)?;
            Ok(QuerySpendableBalanceByDenomResponse {
                balance: Some(balance(state, &req.address, req.denom)?),
            }
            .encode_to_vec())
        })(),
        // Sending is switched on or off for every denom at once
        // (`send_enabled` in our params), so there are no per-denom entries.
        "/cosmos.bank.v1beta1.Query/Params" => (|| {
            let _: QueryParamsRequest = decode(data)?;
            let params = state.bank_params().map_err(err)?;
            Ok(QueryParamsResponse {
                params: Some(SdkParams {
                    default_send_enabled: params.send_enabled,
                    // The deprecated per-denom list stays empty.
                    ..SdkParams::default()
                }),
            }
            .encode_to_vec())
        })(),
        // The SDK lists only denoms with their own setting; we have none, so
        // without denoms the list is empty, and each denom asked for is
        // answered with the chain-wide switch, which is what governs it.
        "/cosmos.bank.v1beta1.Query/SendEnabled" => (|| {
            let req: QuerySendEnabledRequest = decode(data)?;
            if req.denoms.len() > MAX_PAGE {
                return Err(QueryError::invalid(format!(
                    "at most {MAX_PAGE} denoms per request, got {}",
                    req.denoms.len()
                )));
            }
            let enabled = state.bank_params().map_err(err)?.send_enabled;
            let send_enabled = req
                .denoms
                .into_iter()
                .map(|d| {
                    denom(&d)?;
                    Ok(SendEnabled { denom: d, enabled })
                })
                .collect::<Result<_, QueryError>>()?;
            Ok(QuerySendEnabledResponse {
                send_enabled,
                pagination: None,
            }
            .encode_to_vec())
        })(),
        "/cosmos.bank.v1beta1.Query/DenomMetadata" => (|| {
            let req: QueryDenomMetadataRequest = decode(data)?;
            Ok(QueryDenomMetadataResponse {
                metadata: Some(denom_metadata(&req.denom)?),
            }
            .encode_to_vec())
        })(),
        "/cosmos.bank.v1beta1.Query/DenomMetadataByQueryString" => (|| {
            let req: QueryDenomMetadataByQueryStringRequest = decode(data)?;
            Ok(QueryDenomMetadataByQueryStringResponse {
                metadata: Some(denom_metadata(&req.denom)?),
            }
            .encode_to_vec())
        })(),
        "/cosmos.bank.v1beta1.Query/DenomsMetadata" => (|| {
            let req: QueryDenomsMetadataRequest = decode(data)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let metadatas: Vec<_> = metadata::all_metadata()
                .into_iter()
                .filter(|m| page.after.as_deref().is_none_or(|a| m.base.as_bytes() > a))
                .take(page.limit)
                .collect();
            let last = metadatas.last().map(|m| m.base.clone().into_bytes());
            Ok(QueryDenomsMetadataResponse {
                pagination: Some(page.response(metadatas.len(), last)),
                metadatas,
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
            denom(&req.denom)?;
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

#[cfg(test)]
mod tests {
    use cosmos_sdk_proto::cosmos::{bank::v1beta1::Metadata, base::query::v1beta1::PageRequest};
    use deai_types::{Address, MemState, BASE_DENOM};

    use super::*;
    use crate::{BankParams, BankWrite};

    fn ask(state: &MemState, method: &str, req: impl Message) -> Result<Vec<u8>, QueryError> {
        query(state, method, &req.encode_to_vec()).expect("the bank answers this path")
    }

    fn ok<R: Message + Default>(state: &MemState, method: &str, req: impl Message) -> R {
        R::decode(ask(state, method, req).unwrap().as_slice()).unwrap()
    }

    fn holder() -> Address {
        Address([4; 20])
    }

    fn funded() -> MemState {
        let mut s = MemState::default();
        s.mint(
            &holder(),
            &[Coin::new(1_500, BASE_DENOM), Coin::new(7, "uxyz")],
        )
        .unwrap();
        s
    }

    #[test]
    fn params_carry_the_chain_wide_send_switch() {
        let mut s = MemState::default();
        let r: QueryParamsResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/Params",
            QueryParamsRequest {},
        );
        assert_eq!(
            r.params.unwrap(),
            SdkParams {
                default_send_enabled: true,
                ..SdkParams::default()
            }
        );
        s.put_bank_params(&BankParams {
            send_enabled: false,
            ..BankParams::default()
        })
        .unwrap();
        let r: QueryParamsResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/Params",
            QueryParamsRequest {},
        );
        assert!(!r.params.unwrap().default_send_enabled);
    }

    #[test]
    fn send_enabled_answers_each_denom_with_the_switch() {
        let mut s = MemState::default();
        s.put_bank_params(&BankParams {
            send_enabled: false,
            ..BankParams::default()
        })
        .unwrap();
        let r: QuerySendEnabledResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/SendEnabled",
            QuerySendEnabledRequest {
                denoms: vec![BASE_DENOM.into(), "uxyz".into()],
                pagination: None,
            },
        );
        assert_eq!(
            r.send_enabled,
            vec![
                SendEnabled {
                    denom: BASE_DENOM.into(),
                    enabled: false
                },
                SendEnabled {
                    denom: "uxyz".into(),
                    enabled: false
                },
            ]
        );
        let none: QuerySendEnabledResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/SendEnabled",
            QuerySendEnabledRequest::default(),
        );
        assert!(none.send_enabled.is_empty());
        let bad = ask(
            &s,
            "/cosmos.bank.v1beta1.Query/SendEnabled",
            QuerySendEnabledRequest {
                denoms: vec!["!!".into()],
                pagination: None,
            },
        )
        .unwrap_err();
        assert_eq!(bad.code, 18);
        let too_many = ask(
            &s,
            "/cosmos.bank.v1beta1.Query/SendEnabled",
            QuerySendEnabledRequest {
                denoms: vec![BASE_DENOM.into(); MAX_PAGE + 1],
                pagination: None,
            },
        )
        .unwrap_err();
        assert_eq!(too_many.code, 18);
        assert!(too_many.log.contains("at most"), "{}", too_many.log);
    }

    #[test]
    fn the_spendable_balance_of_a_denom_is_the_balance() {
        let s = funded();
        let r: QuerySpendableBalanceByDenomResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/SpendableBalanceByDenom",
            QuerySpendableBalanceByDenomRequest {
                address: holder().to_bech32(),
                denom: BASE_DENOM.into(),
            },
        );
        assert_eq!(r.balance.unwrap(), proto(&Coin::new(1_500, BASE_DENOM)));
        let none: QuerySpendableBalanceByDenomResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/SpendableBalanceByDenom",
            QuerySpendableBalanceByDenomRequest {
                address: Address([5; 20]).to_bech32(),
                denom: "uxyz".into(),
            },
        );
        assert_eq!(none.balance.unwrap(), proto(&Coin::new(0, "uxyz")));
        for (address, denom) in [
            ("deai1bad".to_string(), BASE_DENOM.to_string()),
            (holder().to_bech32(), "x".to_string()),
        ] {
            let e = ask(
                &s,
                "/cosmos.bank.v1beta1.Query/SpendableBalanceByDenom",
                QuerySpendableBalanceByDenomRequest { address, denom },
            )
            .unwrap_err();
            assert_eq!(e.code, 18, "{}", e.log);
        }
    }

    fn check_udeai(m: &Metadata) {
        assert_eq!((m.base.as_str(), m.display.as_str()), ("udeai", "deai"));
        let units: Vec<(&str, u32)> = m
            .denom_units
            .iter()
            .map(|u| (u.denom.as_str(), u.exponent))
            .collect();
        assert_eq!(units, vec![("udeai", 0), ("deai", 6)]);
    }

    #[test]
    fn the_base_denom_has_metadata_and_other_denoms_are_not_found() {
        let s = funded();
        let r: QueryDenomMetadataResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/DenomMetadata",
            QueryDenomMetadataRequest {
                denom: BASE_DENOM.into(),
            },
        );
        check_udeai(&r.metadata.unwrap());
        let r: QueryDenomMetadataByQueryStringResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/DenomMetadataByQueryString",
            QueryDenomMetadataByQueryStringRequest {
                denom: BASE_DENOM.into(),
            },
        );
        check_udeai(&r.metadata.unwrap());
        for path in [
            "/cosmos.bank.v1beta1.Query/DenomMetadata",
            "/cosmos.bank.v1beta1.Query/DenomMetadataByQueryString",
        ] {
            // uxyz exists (it has a supply) but has no metadata.
            let e = ask(
                &s,
                path,
                QueryDenomMetadataRequest {
                    denom: "uxyz".into(),
                },
            )
            .unwrap_err();
            assert_eq!(e.code, 22, "{path}");
            assert!(e.log.contains("uxyz"), "{}", e.log);
            let e = ask(&s, path, QueryDenomMetadataRequest { denom: "".into() }).unwrap_err();
            assert_eq!(e.code, 18, "{path}");
        }
    }

    #[test]
    fn denoms_metadata_pages_and_caps_the_limit() {
        let s = MemState::default();
        let all: QueryDenomsMetadataResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/DenomsMetadata",
            QueryDenomsMetadataRequest {
                pagination: Some(PageRequest {
                    limit: u64::MAX,
                    ..PageRequest::default()
                }),
            },
        );
        assert_eq!(all.metadatas.len(), 1);
        check_udeai(&all.metadatas[0]);
        assert!(all.pagination.unwrap().next_key.is_empty());
        // A page of one is full: it hands out a key, after which nothing is left.
        let first: QueryDenomsMetadataResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/DenomsMetadata",
            QueryDenomsMetadataRequest {
                pagination: Some(PageRequest {
                    limit: 1,
                    ..PageRequest::default()
                }),
            },
        );
        let key = first.pagination.unwrap().next_key;
        assert_eq!(key, b"udeai".to_vec());
        let rest: QueryDenomsMetadataResponse = ok(
            &s,
            "/cosmos.bank.v1beta1.Query/DenomsMetadata",
            QueryDenomsMetadataRequest {
                pagination: Some(PageRequest {
                    key,
                    limit: 1,
                    ..PageRequest::default()
                }),
            },
        );
        assert!(rest.metadatas.is_empty());
        let offset = ask(
            &s,
            "/cosmos.bank.v1beta1.Query/DenomsMetadata",
            QueryDenomsMetadataRequest {
                pagination: Some(PageRequest {
                    offset: 3,
                    ..PageRequest::default()
                }),
            },
        )
        .unwrap_err();
        assert_eq!(offset.code, 18);
    }

    #[test]
    fn undecodable_requests_are_invalid_and_denom_owners_is_not_served() {
        let s = funded();
        for method in [
            "Params",
            "SendEnabled",
            "SpendableBalanceByDenom",
            "DenomMetadata",
            "DenomMetadataByQueryString",
            "DenomsMetadata",
        ] {
            let path = format!("/cosmos.bank.v1beta1.Query/{method}");
            let e = query(&s, &path, &[0xff, 0xff, 0xff])
                .expect("the bank answers this path")
                .unwrap_err();
            assert_eq!(e.code, 18, "{path}");
            assert!(e.log.contains("does not decode"), "{path}: {}", e.log);
        }
        assert!(query(&s, "/cosmos.bank.v1beta1.Query/DenomOwners", &[]).is_none());
    }
}
