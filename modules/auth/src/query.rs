//! The auth module's gRPC query methods, answered over ABCI `Query`: the
//! Cosmos SDK's `cosmos.auth.v1beta1.Query` (accounts, params, module
//! accounts, address conversion) and our own `deai.auth.v1.Query/Params`.

use cosmos_sdk_proto::{
    cosmos::auth::v1beta1::{
        AddressBytesToStringRequest, AddressBytesToStringResponse, AddressStringToBytesRequest,
        AddressStringToBytesResponse, BaseAccount, Bech32PrefixRequest, Bech32PrefixResponse,
        ModuleAccount, Params as SdkParams, QueryAccountInfoRequest, QueryAccountInfoResponse,
        QueryAccountRequest, QueryAccountResponse, QueryAccountsRequest, QueryAccountsResponse,
        QueryModuleAccountByNameRequest, QueryModuleAccountByNameResponse,
        QueryModuleAccountsRequest, QueryModuleAccountsResponse, QueryParamsRequest,
        QueryParamsResponse,
    },
    Any,
};
use deai_types::{
    query::{address, decode, Page},
    Address, GasConfig, QueryError, StateRead, BECH32_PREFIX,
};
use prost::Message;

use crate::{Account, AuthError, AuthParams, AuthRead, BASE_ACCOUNT_TYPE_URL};

/// Type URL of a module account inside an `Any`.
pub const MODULE_ACCOUNT_TYPE_URL: &str = "/cosmos.auth.v1beta1.ModuleAccount";

/// What the auth router needs from the app: facts the app owns, not auth.
#[derive(Debug, Clone, Copy)]
pub struct QueryCtx<'a> {
    /// The gas costs the app charges, which the SDK's auth params report
    /// (cost per tx byte, cost per secp256k1 signature).
    pub gas: GasConfig,
    /// The names of the chain's module accounts (each at `Address::module(name)`).
    pub module_accounts: &'a [&'a str],
}

fn err(e: AuthError) -> QueryError {
    QueryError::from_module(&e)
}

/// The SDK's auth params from ours and the app's gas costs.
pub fn sdk_params(params: &AuthParams, gas: &GasConfig) -> SdkParams {
    SdkParams {
        max_memo_characters: params.max_memo_characters,
        tx_sig_limit: params.tx_sig_limit,
        tx_size_cost_per_byte: gas.tx_byte,
        // Transactions here are signed with secp256k1 account keys only: an
        // ed25519 key is refused before any gas is charged, so there is no
        // ed25519 verification cost. The SDK's default (590) would suggest
        // such keys work.
        sig_verify_cost_ed25519: 0,
        sig_verify_cost_secp256k1: gas.sig_verify_secp256k1,
    }
}

fn base_account_any(acc: &Account) -> Any {
    Any {
        type_url: BASE_ACCOUNT_TYPE_URL.to_string(),
        value: acc.to_proto().encode_to_vec(),
    }
}

/// The module account `name` as the SDK shows one. Module accounts are not
/// numbered when the chain creates them (they never sign, and nothing may
/// send to them with `MsgSend`), so one without an account record shows
/// account number and sequence 0. Permissions are the SDK bank keeper's
/// (minter, burner, staking); here each module's own code decides what it
/// mints or burns, so none are listed.
fn module_account<S: StateRead>(state: &S, name: &str) -> Result<Any, QueryError> {
    let addr = Address::module(name);
    let base = match state.account(&addr).map_err(err)? {
        Some(acc) => acc.to_proto(),
        None => BaseAccount {
            address: addr.to_bech32(),
            ..BaseAccount::default()
        },
    };
    Ok(Any {
        type_url: MODULE_ACCOUNT_TYPE_URL.to_string(),
        value: ModuleAccount {
            base_account: Some(base),
            name: name.to_string(),
            permissions: Vec::new(),
        }
        .encode_to_vec(),
    })
}

fn existing_account<S: StateRead>(state: &S, addr: &str) -> Result<Account, QueryError> {
    let addr = address(addr)?;
    state
        .account(&addr)
        .map_err(err)?
        .ok_or_else(|| QueryError::not_found(format!("account {addr} not found")))
}

/// Answers `method` if it is one of auth's; `None` if it is not.
pub fn query<S: StateRead>(
    state: &S,
    ctx: &QueryCtx<'_>,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let answer = match method {
        "/cosmos.auth.v1beta1.Query/Account" => (|| {
            let req: QueryAccountRequest = decode(data)?;
            let acc = existing_account(state, &req.address)?;
            Ok(QueryAccountResponse {
                account: Some(base_account_any(&acc)),
            }
            .encode_to_vec())
        })(),
        "/cosmos.auth.v1beta1.Query/AccountInfo" => (|| {
            let req: QueryAccountInfoRequest = decode(data)?;
            let acc = existing_account(state, &req.address)?;
            Ok(QueryAccountInfoResponse {
                info: Some(acc.to_proto()),
            }
            .encode_to_vec())
        })(),
        "/cosmos.auth.v1beta1.Query/Accounts" => (|| {
            let req: QueryAccountsRequest = decode(data)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let after = page
                .after
                .as_deref()
                .map(|k| {
                    Address::from_slice(k).map_err(|_| {
                        QueryError::invalid("pagination.key is not one this query handed out")
                    })
                })
                .transpose()?;
            let accounts = state.accounts(after.as_ref(), page.limit).map_err(err)?;
            let last = accounts.last().map(|a| a.address.as_bytes().to_vec());
            Ok(QueryAccountsResponse {
                pagination: Some(page.response(accounts.len(), last)),
                accounts: accounts.iter().map(base_account_any).collect(),
            }
            .encode_to_vec())
        })(),
        "/cosmos.auth.v1beta1.Query/Params" => (|| {
            let _: QueryParamsRequest = decode(data)?;
            let params = state.auth_params().map_err(err)?;
            Ok(QueryParamsResponse {
                params: Some(sdk_params(&params, &ctx.gas)),
            }
            .encode_to_vec())
        })(),
        "/cosmos.auth.v1beta1.Query/ModuleAccounts" => (|| {
            let _: QueryModuleAccountsRequest = decode(data)?;
            Ok(QueryModuleAccountsResponse {
                accounts: ctx
                    .module_accounts
                    .iter()
                    .map(|name| module_account(state, name))
                    .collect::<Result<_, _>>()?,
            }
            .encode_to_vec())
        })(),
        "/cosmos.auth.v1beta1.Query/ModuleAccountByName" => (|| {
            let req: QueryModuleAccountByNameRequest = decode(data)?;
            if req.name.is_empty() {
                return Err(QueryError::invalid("module account name is empty"));
            }
            if !ctx.module_accounts.contains(&req.name.as_str()) {
                return Err(QueryError::not_found(format!(
                    "module account {:?} not found",
                    req.name
                )));
            }
            Ok(QueryModuleAccountByNameResponse {
                account: Some(module_account(state, &req.name)?),
            }
            .encode_to_vec())
        })(),
        "/cosmos.auth.v1beta1.Query/Bech32Prefix" => (|| {
            let _: Bech32PrefixRequest = decode(data)?;
            Ok(Bech32PrefixResponse {
                bech32_prefix: BECH32_PREFIX.to_string(),
            }
            .encode_to_vec())
        })(),
        "/cosmos.auth.v1beta1.Query/AddressBytesToString" => (|| {
            let req: AddressBytesToStringRequest = decode(data)?;
            let addr = Address::from_slice(&req.address_bytes)
                .map_err(|e| QueryError::invalid(format!("address_bytes: {e}")))?;
            Ok(AddressBytesToStringResponse {
                address_string: addr.to_bech32(),
            }
            .encode_to_vec())
        })(),
        "/cosmos.auth.v1beta1.Query/AddressStringToBytes" => (|| {
            let req: AddressStringToBytesRequest = decode(data)?;
            if req.address_string.is_empty() {
                return Err(QueryError::invalid("address_string is empty"));
            }
            let addr = address(&req.address_string)?;
            Ok(AddressStringToBytesResponse {
                address_bytes: addr.as_bytes().to_vec(),
            }
            .encode_to_vec())
        })(),
        "/deai.auth.v1.Query/Params" => (|| {
            let _: deai_proto::auth::v1::QueryParamsRequest = decode(data)?;
            let params = state.auth_params().map_err(err)?;
            Ok(deai_proto::auth::v1::QueryParamsResponse {
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
    use cosmos_sdk_proto::cosmos::base::query::v1beta1::PageRequest;
    use deai_types::{query::MAX_PAGE, MemState};

    use super::*;
    use crate::AuthWrite;

    const MODULES: &[&str] = &["gov", "fee_collector"];

    fn ctx() -> QueryCtx<'static> {
        QueryCtx {
            gas: GasConfig {
                tx_byte: 13,
                sig_verify_secp256k1: 1_234,
                ..GasConfig::default()
            },
            module_accounts: MODULES,
        }
    }

    fn ask<S: StateRead>(
        state: &S,
        method: &str,
        req: impl Message,
    ) -> Result<Vec<u8>, QueryError> {
        query(state, &ctx(), method, &req.encode_to_vec()).expect("auth answers this path")
    }

    fn ok<R: Message + Default>(state: &MemState, method: &str, req: impl Message) -> R {
        R::decode(ask(state, method, req).unwrap().as_slice()).unwrap()
    }

    /// State with accounts for addresses [1; 20], [2; 20], ... [n; 20].
    fn with_accounts(n: u8) -> MemState {
        let mut s = MemState::default();
        for i in 1..=n {
            s.ensure_account(&Address([i; 20])).unwrap();
        }
        s
    }

    fn page(key: Vec<u8>, limit: u64) -> Option<PageRequest> {
        Some(PageRequest {
            key,
            limit,
            ..PageRequest::default()
        })
    }

    #[test]
    fn params_report_our_limits_and_the_apps_gas_costs() {
        let mut s = MemState::default();
        s.put_auth_params(&AuthParams {
            max_memo_characters: 99,
            tx_sig_limit: 3,
            ..AuthParams::default()
        })
        .unwrap();
        let r: QueryParamsResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/Params",
            QueryParamsRequest {},
        );
        assert_eq!(
            r.params.unwrap(),
            SdkParams {
                max_memo_characters: 99,
                tx_sig_limit: 3,
                tx_size_cost_per_byte: 13,
                sig_verify_cost_ed25519: 0,
                sig_verify_cost_secp256k1: 1_234,
            }
        );
    }

    #[test]
    fn accounts_page_by_address_and_a_huge_limit_is_capped() {
        let s = with_accounts(5);
        let first: QueryAccountsResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/Accounts",
            QueryAccountsRequest {
                pagination: page(Vec::new(), 2),
            },
        );
        let addrs = |r: &QueryAccountsResponse| -> Vec<String> {
            r.accounts
                .iter()
                .map(|a| {
                    assert_eq!(a.type_url, BASE_ACCOUNT_TYPE_URL);
                    BaseAccount::decode(a.value.as_slice()).unwrap().address
                })
                .collect()
        };
        assert_eq!(
            addrs(&first),
            vec![Address([1; 20]).to_bech32(), Address([2; 20]).to_bech32()]
        );
        let next = first.pagination.unwrap().next_key;
        assert_eq!(next, vec![2; 20]);
        let rest: QueryAccountsResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/Accounts",
            QueryAccountsRequest {
                pagination: page(next, 10),
            },
        );
        assert_eq!(addrs(&rest).len(), 3);
        assert!(rest.pagination.unwrap().next_key.is_empty());

        let many = with_accounts(0);
        let mut many = many;
        for i in 0..(MAX_PAGE as u32 + 5) {
            let mut b = [0u8; 20];
            b[..4].copy_from_slice(&i.to_be_bytes());
            many.ensure_account(&Address(b)).unwrap();
        }
        let capped: QueryAccountsResponse = ok(
            &many,
            "/cosmos.auth.v1beta1.Query/Accounts",
            QueryAccountsRequest {
                pagination: page(Vec::new(), u64::MAX),
            },
        );
        assert_eq!(capped.accounts.len(), MAX_PAGE);
        assert!(!capped.pagination.unwrap().next_key.is_empty());

        let bad_key = ask(
            &s,
            "/cosmos.auth.v1beta1.Query/Accounts",
            QueryAccountsRequest {
                pagination: page(vec![1, 2, 3], 10),
            },
        )
        .unwrap_err();
        assert_eq!(bad_key.code, 18);
    }

    #[test]
    fn account_info_is_the_base_account_and_an_unknown_address_is_not_found() {
        let key = [2u8; 33];
        let addr = Address::from_secp256k1_pubkey(&key);
        let mut s = MemState::default();
        s.ensure_account(&Address([1; 20])).unwrap();
        let acc = s.ensure_account(&addr).unwrap();
        s.record_signature(&acc, &key).unwrap();
        let r: QueryAccountInfoResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/AccountInfo",
            QueryAccountInfoRequest {
                address: addr.to_bech32(),
            },
        );
        let info = r.info.unwrap();
        assert_eq!(info.address, addr.to_bech32());
        assert_eq!((info.account_number, info.sequence), (1, 1));
        assert!(info.pub_key.is_some());

        let missing = ask(
            &s,
            "/cosmos.auth.v1beta1.Query/AccountInfo",
            QueryAccountInfoRequest {
                address: Address([9; 20]).to_bech32(),
            },
        )
        .unwrap_err();
        assert_eq!(missing.code, 22);
        assert!(missing.log.contains("not found"), "{}", missing.log);
        let malformed = ask(
            &s,
            "/cosmos.auth.v1beta1.Query/AccountInfo",
            QueryAccountInfoRequest {
                address: "deai1nope".into(),
            },
        )
        .unwrap_err();
        assert_eq!(malformed.code, 18);
        assert!(malformed.log.starts_with("address:"), "{}", malformed.log);
    }

    #[test]
    fn the_prefix_and_address_conversions_round_trip_and_refuse_bad_input() {
        let s = MemState::default();
        let r: Bech32PrefixResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/Bech32Prefix",
            Bech32PrefixRequest {},
        );
        assert_eq!(r.bech32_prefix, "deai");

        let addr = Address([7; 20]);
        let text: AddressBytesToStringResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/AddressBytesToString",
            AddressBytesToStringRequest {
                address_bytes: vec![7; 20],
            },
        );
        assert_eq!(text.address_string, addr.to_bech32());
        let bytes: AddressStringToBytesResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/AddressStringToBytes",
            AddressStringToBytesRequest {
                address_string: addr.to_bech32(),
            },
        );
        assert_eq!(bytes.address_bytes, vec![7; 20]);

        for short in [Vec::new(), vec![7; 19], vec![7; 32]] {
            let e = ask(
                &s,
                "/cosmos.auth.v1beta1.Query/AddressBytesToString",
                AddressBytesToStringRequest {
                    address_bytes: short,
                },
            )
            .unwrap_err();
            assert_eq!(e.code, 18);
            assert!(e.log.contains("20 bytes"), "{}", e.log);
        }
        for bad in [
            "",
            "deai1garbage",
            "cosmos1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v5",
        ] {
            let e = ask(
                &s,
                "/cosmos.auth.v1beta1.Query/AddressStringToBytes",
                AddressStringToBytesRequest {
                    address_string: bad.into(),
                },
            )
            .unwrap_err();
            assert_eq!(e.code, 18, "{bad:?}");
        }
    }

    #[test]
    fn module_accounts_are_listed_by_name_and_an_unknown_name_is_not_found() {
        let mut s = MemState::default();
        // The fee collector has an account record (say, from genesis).
        s.ensure_account(&Address([1; 20])).unwrap();
        s.ensure_account(&Address::module("fee_collector")).unwrap();
        let r: QueryModuleAccountsResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/ModuleAccounts",
            QueryModuleAccountsRequest {},
        );
        let got: Vec<ModuleAccount> = r
            .accounts
            .iter()
            .map(|a| {
                assert_eq!(a.type_url, MODULE_ACCOUNT_TYPE_URL);
                ModuleAccount::decode(a.value.as_slice()).unwrap()
            })
            .collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "gov");
        let gov = got[0].base_account.clone().unwrap();
        assert_eq!(gov.address, Address::module("gov").to_bech32());
        assert_eq!(gov.account_number, 0);
        assert_eq!(got[1].name, "fee_collector");
        assert_eq!(got[1].base_account.clone().unwrap().account_number, 1);

        let one: QueryModuleAccountByNameResponse = ok(
            &s,
            "/cosmos.auth.v1beta1.Query/ModuleAccountByName",
            QueryModuleAccountByNameRequest { name: "gov".into() },
        );
        assert_eq!(
            ModuleAccount::decode(one.account.unwrap().value.as_slice()).unwrap(),
            got[0]
        );
        let missing = ask(
            &s,
            "/cosmos.auth.v1beta1.Query/ModuleAccountByName",
            QueryModuleAccountByNameRequest {
                name: "distribution".into(),
            },
        )
        .unwrap_err();
        assert_eq!(missing.code, 22);
        assert!(missing.log.contains("distribution"), "{}", missing.log);
        let empty = ask(
            &s,
            "/cosmos.auth.v1beta1.Query/ModuleAccountByName",
            QueryModuleAccountByNameRequest::default(),
        )
        .unwrap_err();
        assert_eq!(empty.code, 18);
    }

    #[test]
    fn undecodable_requests_are_invalid_on_every_new_path() {
        let s = with_accounts(1);
        for method in [
            "Params",
            "Accounts",
            "AccountInfo",
            "ModuleAccounts",
            "ModuleAccountByName",
            "Bech32Prefix",
            "AddressBytesToString",
            "AddressStringToBytes",
        ] {
            let path = format!("/cosmos.auth.v1beta1.Query/{method}");
            let e = query(&s, &ctx(), &path, &[0xff, 0xff, 0xff])
                .expect("auth answers this path")
                .unwrap_err();
            assert_eq!(e.code, 18, "{path}");
            assert!(e.log.contains("does not decode"), "{path}: {}", e.log);
        }
        assert!(query(
            &s,
            &ctx(),
            "/cosmos.auth.v1beta1.Query/AccountAddressByID",
            &[]
        )
        .is_none());
    }
}
