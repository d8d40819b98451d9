//! The Cosmos gRPC services and REST gateway of `deaid devnet`, checked
//! against the same node's `abci_query` (the reference every module query
//! already answers): every module method gives the same bytes over gRPC and
//! the same JSON over REST as `abci_query` decoded with the SDK's JSON
//! rules (staking's and distribution's on validators, delegations, an unbonding and a
//! redelegation made by signed txs, so its routes answer with records);
//! heights asked for in `x-cosmos-block-height` read old state; the
//! node services (blocks, node info, validators, tx lookup) answer from the
//! node's RPC; bad input gets a clear error and changes nothing; and
//! clients nobody here wrote (cosmpy over gRPC and REST, grpcurl through
//! reflection) read, simulate, send and wait for a tx. ibc-go's core
//! queries, which relayers call, answer over gRPC, REST and grpcurl.

// Tests compare whole gRPC statuses, which are large errors.
#![allow(clippy::unwrap_used, clippy::result_large_err)]

mod common;

use std::{path::Path, time::Duration};

use common::{Cli, BIN};
use cosmos_sdk_proto::cosmos::{
    auth::v1beta1::QueryAccountRequest,
    bank::v1beta1::{
        QueryAllBalancesRequest, QueryAllBalancesResponse, QueryBalanceRequest,
        QueryBalanceResponse, QuerySpendableBalancesRequest, QuerySupplyOfRequest,
    },
    base::{
        node::v1beta1::{ConfigResponse, StatusResponse},
        query::v1beta1::PageRequest,
        tendermint::v1beta1::{
            AbciQueryRequest, AbciQueryResponse, GetBlockByHeightRequest, GetBlockByHeightResponse,
            GetLatestBlockResponse, GetLatestValidatorSetResponse, GetNodeInfoResponse,
        },
        v1beta1::Coin as ProtoCoin,
    },
    crypto::ed25519::PubKey as Ed25519PubKey,
    distribution::v1beta1 as distribution,
    staking::v1beta1 as staking,
    tx::v1beta1::{BroadcastTxRequest, BroadcastTxResponse, GetTxRequest, GetTxResponse},
};
use deai_client::{tx::any, Gas, Key, NodeClient, TxParams};
use deai_staking::ValoperAddress as _;
use deai_tests::api::{self, RestAnswer, HEIGHT_HEADER};
use prost::Message;
use prost_reflect::DynamicMessage;
use reqwest::Method;
use serde_json::Value;
use tendermint_rpc::{Client as _, HttpClient};

/// Calls any unary gRPC method with raw protobuf bytes.
#[derive(Clone)]
struct GrpcRaw {
    channel: tonic::transport::Channel,
}

impl GrpcRaw {
    async fn connect(addr: &str) -> anyhow::Result<Self> {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
            .timeout(Duration::from_secs(30))
            .connect()
            .await?;
        Ok(GrpcRaw { channel })
    }

    /// Calls `path` with `request`, at `height` if given; returns the
    /// answer and the height header it carried.
    async fn call(
        &self,
        path: &str,
        request: Vec<u8>,
        height: Option<&str>,
    ) -> Result<(Vec<u8>, Option<u64>), tonic::Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let mut req = tonic::Request::new(bytes::Bytes::from(request));
        if let Some(h) = height {
            req.metadata_mut().insert(HEIGHT_HEADER, h.parse().unwrap());
        }
        let path = http::uri::PathAndQuery::try_from(path).unwrap();
        let resp = grpc.unary(req, path, deai_api::grpc::RawCodec).await?;
        let height = resp
            .metadata()
            .get(HEIGHT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok((resp.into_inner().to_vec(), height))
    }
}

/// The one browser origin the fixture's REST gateway allows.
const EXPLORER: &str = "https://explorer.example";

/// A devnet serving gRPC and REST, and clients of all three APIs.
struct Fixture {
    dev: deai_tests::DevnetProcess,
    home: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    grpc: GrpcRaw,
    http: reqwest::Client,
    rpc: HttpClient,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.dev.child.kill().ok();
        self.dev.child.wait().ok();
    }
}

impl Fixture {
    fn start() -> Self {
        let home = tempfile::tempdir().unwrap();
        let dev = deai_tests::spawn_devnet_api(
            Path::new(BIN),
            home.path(),
            "200ms",
            "127.0.0.1:0",
            &["--rest-cors-allowed-origins", EXPLORER],
        );
        // Multi-threaded, so the HTTP clients' connections keep being
        // polled between calls.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let grpc = rt.block_on(GrpcRaw::connect(&dev.grpc)).unwrap();
        let rpc = HttpClient::new(dev.rpc.as_str()).unwrap();
        Fixture {
            dev,
            home,
            rt,
            grpc,
            http: reqwest::Client::new(),
            rpc,
        }
    }

    fn dev(&self, i: usize) -> &(String, String, String) {
        &self.dev.accounts[i]
    }

    fn cli(&self) -> Cli<'_> {
        Cli {
            home: self.home.path(),
            node: self.dev.rpc.clone(),
        }
    }

    fn grpc(
        &self,
        path: &str,
        req: Vec<u8>,
        height: Option<&str>,
    ) -> Result<(Vec<u8>, Option<u64>), tonic::Status> {
        self.rt.block_on(self.grpc.call(path, req, height))
    }

    fn rest(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        height: Option<&str>,
    ) -> RestAnswer {
        let url = format!("{}{path}", self.dev.rest);
        self.rt
            .block_on(api::rest(&self.http, method, &url, body, height))
            .unwrap()
    }

    fn get(&self, path: &str) -> RestAnswer {
        self.rest(Method::GET, path, None, None)
    }

    fn abci(
        &self,
        path: &str,
        req: Vec<u8>,
        height: u64,
    ) -> tendermint_rpc::endpoint::abci_query::AbciQuery {
        let height = (height > 0).then(|| height.try_into().unwrap());
        self.rt
            .block_on(
                self.rpc
                    .abci_query(Some(path.to_string()), req, height, false),
            )
            .unwrap()
    }

    /// Dev account `i`'s key, from the mnemonic the devnet printed.
    fn key(&self, i: usize) -> Key {
        let (_, address, mnemonic) = self.dev(i);
        let key = Key::from_signing_key(deai_keys::derive_from_mnemonic(mnemonic, "").unwrap());
        assert_eq!(&key.address().to_bech32(), address);
        key
    }

    /// Signs `msgs` with dev account `i`'s key on deai-client's path (the
    /// CLI's: account from the node, simulated gas, SIGN_MODE_DIRECT) and
    /// waits for the block; the tx must succeed.
    fn send(&self, i: usize, msgs: Vec<cosmos_sdk_proto::Any>) {
        let key = self.key(i);
        let client = NodeClient::new(&self.dev.rpc).unwrap();
        let landed = self.rt.block_on(async {
            let (chain_id, _) = client.status().await.unwrap();
            let account = client
                .account(&key.address().to_bech32())
                .await
                .unwrap()
                .unwrap();
            let params = TxParams {
                chain_id,
                account_number: account.account_number,
                sequence: account.sequence,
                fee: Some(deai_types::Coin::new(20_000, "udeai")),
                gas_limit: 0,
                memo: String::new(),
            };
            let gas = Gas::Auto {
                adjustment_per_mille: 1_500,
            };
            client
                .sign_and_send(&key, msgs, params, gas, Duration::from_secs(30))
                .await
                .unwrap()
        });
        assert_eq!(landed.code, 0, "{}", landed.log);
    }

    /// Stakes on the devnet (whose own validator is a genesis one, not a
    /// staked one): dev1 and dev2 create validators with fresh ed25519
    /// keys; once they are bonded, dev0 delegates to dev1's, undelegates
    /// part (an unbonding for the unbonding time) and redelegates part to
    /// dev2's.
    fn stake(&self) -> Stake {
        let udeai = |n: u128| ProtoCoin {
            denom: "udeai".into(),
            amount: n.to_string(),
        };
        let operators = [1, 2].map(|i| self.key(i).address().to_valoper());
        for (i, valoper) in [1, 2].into_iter().zip(&operators) {
            let consensus = ed25519_consensus::SigningKey::from([i as u8 + 40; 32]);
            let pubkey = Ed25519PubKey {
                key: consensus.verification_key().as_bytes().to_vec(),
            };
            #[allow(deprecated)] // the SDK still fills delegator_address
            let create = staking::MsgCreateValidator {
                description: Some(staking::Description {
                    moniker: format!("staked {i}"),
                    website: "https://deai.example".into(),
                    ..Default::default()
                }),
                commission: Some(staking::CommissionRates {
                    rate: "100000000000000000".into(),
                    max_rate: "200000000000000000".into(),
                    max_change_rate: "10000000000000000".into(),
                }),
                min_self_delegation: "1000000".into(),
                delegator_address: self.dev(i).1.clone(),
                validator_address: valoper.clone(),
                pubkey: Some(cosmos_sdk_proto::Any {
                    type_url: deai_staking::ED25519_PUBKEY_TYPE_URL.into(),
                    value: pubkey.encode_to_vec(),
                }),
                value: Some(udeai(10_000_000)),
            };
            self.send(
                i,
                vec![any(deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL, &create)],
            );
        }
        let [a, b] = operators;
        let delegator = self.dev(0).1.clone();
        self.send(
            0,
            vec![
                any(
                    deai_staking::MSG_DELEGATE_TYPE_URL,
                    &staking::MsgDelegate {
                        delegator_address: delegator.clone(),
                        validator_address: a.clone(),
                        amount: Some(udeai(5_000_000)),
                    },
                ),
                any(
                    deai_staking::MSG_UNDELEGATE_TYPE_URL,
                    &staking::MsgUndelegate {
                        delegator_address: delegator.clone(),
                        validator_address: a.clone(),
                        amount: Some(udeai(1_000_000)),
                    },
                ),
                any(
                    deai_staking::MSG_BEGIN_REDELEGATE_TYPE_URL,
                    &staking::MsgBeginRedelegate {
                        delegator_address: delegator.clone(),
                        validator_src_address: a.clone(),
                        validator_dst_address: b.clone(),
                        amount: Some(udeai(1_000_000)),
                    },
                ),
            ],
        );
        Stake { a, b, delegator }
    }

    /// The app's last committed height. `status` reports the block store's
    /// height, which (in CometBFT too) can run ahead of the app's commit for
    /// a moment, and a query at an uncommitted height is refused.
    fn height(&self) -> u64 {
        self.rt
            .block_on(self.rpc.abci_info())
            .unwrap()
            .last_block_height
            .value()
    }
}

/// What [`Fixture::stake`] made.
struct Stake {
    /// dev1's validator, which dev0 delegates to, unbonds from and
    /// redelegates from.
    a: String,
    /// dev2's validator, which dev0 redelegates to.
    b: String,
    /// dev0.
    delegator: String,
}

/// The SDK's JSON for `bytes`, an answer of gRPC method `path`.
fn sdk_json(path: &str, bytes: &[u8]) -> Value {
    let (service, method) = path.trim_start_matches('/').split_once('/').unwrap();
    let pool = deai_proto::descriptor_pool();
    let output = pool
        .get_service_by_name(service)
        .unwrap_or_else(|| panic!("{service} is in the descriptor set"))
        .methods()
        .find(|m| m.name() == method)
        .unwrap_or_else(|| panic!("{path} is in the descriptor set"))
        .output();
    let msg = DynamicMessage::decode(output, bytes).unwrap();
    deai_proto::to_lcd_json(&msg).unwrap()
}

#[test]
fn module_queries_answer_the_same_over_grpc_rest_and_abci_query() {
    let f = Fixture::start();
    let dev0 = f.dev(0).1.clone();
    let Stake { a, b, delegator } = f.stake();
    let empty = Vec::new;
    let first = || {
        Some(PageRequest {
            limit: 1,
            ..Default::default()
        })
    };
    // (gRPC method, request, REST path)
    let mut cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "/cosmos.auth.v1beta1.Query/Account",
            QueryAccountRequest {
                address: dev0.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/auth/v1beta1/accounts/{dev0}"),
        ),
        (
            "/cosmos.bank.v1beta1.Query/Balance",
            QueryBalanceRequest {
                address: dev0.clone(),
                denom: "udeai".into(),
            }
            .encode_to_vec(),
            format!("/cosmos/bank/v1beta1/balances/{dev0}/by_denom?denom=udeai"),
        ),
        (
            "/cosmos.bank.v1beta1.Query/AllBalances",
            QueryAllBalancesRequest {
                address: dev0.clone(),
                ..Default::default()
            }
            .encode_to_vec(),
            format!("/cosmos/bank/v1beta1/balances/{dev0}"),
        ),
        (
            "/cosmos.bank.v1beta1.Query/SpendableBalances",
            QuerySpendableBalancesRequest {
                address: dev0.clone(),
                ..Default::default()
            }
            .encode_to_vec(),
            format!("/cosmos/bank/v1beta1/spendable_balances/{dev0}"),
        ),
        (
            "/cosmos.bank.v1beta1.Query/TotalSupply",
            empty(),
            "/cosmos/bank/v1beta1/supply".into(),
        ),
        (
            "/cosmos.bank.v1beta1.Query/SupplyOf",
            QuerySupplyOfRequest {
                denom: "udeai".into(),
            }
            .encode_to_vec(),
            "/cosmos/bank/v1beta1/supply/by_denom?denom=udeai".into(),
        ),
        (
            "/cosmos.auth.v1beta1.Query/Params",
            empty(),
            "/cosmos/auth/v1beta1/params".into(),
        ),
        (
            "/cosmos.auth.v1beta1.Query/Accounts",
            empty(),
            "/cosmos/auth/v1beta1/accounts".into(),
        ),
        (
            "/cosmos.auth.v1beta1.Query/AccountInfo",
            QueryAccountRequest {
                address: dev0.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/auth/v1beta1/account_info/{dev0}"),
        ),
        (
            "/cosmos.auth.v1beta1.Query/Bech32Prefix",
            empty(),
            "/cosmos/auth/v1beta1/bech32".into(),
        ),
        (
            "/cosmos.auth.v1beta1.Query/ModuleAccounts",
            empty(),
            "/cosmos/auth/v1beta1/module_accounts".into(),
        ),
        (
            "/cosmos.bank.v1beta1.Query/Params",
            empty(),
            "/cosmos/bank/v1beta1/params".into(),
        ),
        (
            "/cosmos.bank.v1beta1.Query/DenomsMetadata",
            empty(),
            "/cosmos/bank/v1beta1/denoms_metadata".into(),
        ),
        (
            "/cosmos.bank.v1beta1.Query/DenomMetadata",
            QuerySupplyOfRequest {
                denom: "udeai".into(),
            }
            .encode_to_vec(),
            "/cosmos/bank/v1beta1/denoms_metadata/udeai".into(),
        ),
        (
            "/cosmos.bank.v1beta1.Query/SpendableBalanceByDenom",
            QueryBalanceRequest {
                address: dev0.clone(),
                denom: "udeai".into(),
            }
            .encode_to_vec(),
            format!("/cosmos/bank/v1beta1/spendable_balances/{dev0}/by_denom?denom=udeai"),
        ),
        (
            "/cosmos.gov.v1.Query/Params",
            empty(),
            "/cosmos/gov/v1/params/voting".into(),
        ),
        (
            "/cosmos.gov.v1.Query/Proposals",
            empty(),
            "/cosmos/gov/v1/proposals".into(),
        ),
        (
            "/cosmos.gov.v1.Query/Constitution",
            empty(),
            "/cosmos/gov/v1/constitution".into(),
        ),
        (
            "/deai.auth.v1.Query/Params",
            empty(),
            "/deai/auth/v1/params".into(),
        ),
        (
            "/deai.bank.v1.Query/Params",
            empty(),
            "/deai/bank/v1/params".into(),
        ),
        (
            "/deai.gov.v1.Query/Params",
            empty(),
            "/deai/gov/v1/params".into(),
        ),
        (
            "/deai.gov.v1.Query/Proposals",
            empty(),
            "/deai/gov/v1/proposals".into(),
        ),
        (
            "/deai.treasury.v1.Query/Params",
            empty(),
            "/deai/treasury/v1/params".into(),
        ),
        (
            "/deai.treasury.v1.Query/Balance",
            empty(),
            "/deai/treasury/v1/balance".into(),
        ),
        (
            "/deai.treasury.v1.Query/Streams",
            empty(),
            "/deai/treasury/v1/streams".into(),
        ),
        (
            "/deai.compute.v1.Query/Params",
            empty(),
            "/deai/compute/v1/params".into(),
        ),
        (
            "/deai.compute.v1.Query/Jobs",
            empty(),
            "/deai/compute/v1/jobs".into(),
        ),
        (
            "/deai.compute.v1.Query/Providers",
            empty(),
            "/deai/compute/v1/providers".into(),
        ),
        (
            "/deai.compute.v1.Query/Models",
            empty(),
            "/deai/compute/v1/models".into(),
        ),
    ];
    // Staking: every method the module answers, on the stake made above,
    // with the query parameters the SDK's routes take.
    cases.extend([
        (
            "/cosmos.staking.v1beta1.Query/Params",
            empty(),
            "/cosmos/staking/v1beta1/params".to_string(),
        ),
        (
            "/cosmos.staking.v1beta1.Query/Pool",
            empty(),
            "/cosmos/staking/v1beta1/pool".into(),
        ),
        (
            "/cosmos.staking.v1beta1.Query/Validators",
            empty(),
            "/cosmos/staking/v1beta1/validators".into(),
        ),
        (
            "/cosmos.staking.v1beta1.Query/Validators",
            staking::QueryValidatorsRequest {
                status: "BOND_STATUS_BONDED".into(),
                pagination: first(),
            }
            .encode_to_vec(),
            "/cosmos/staking/v1beta1/validators?status=BOND_STATUS_BONDED&pagination.limit=1"
                .into(),
        ),
        (
            "/cosmos.staking.v1beta1.Query/Validator",
            staking::QueryValidatorRequest {
                validator_addr: a.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/validators/{a}"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/ValidatorDelegations",
            staking::QueryValidatorDelegationsRequest {
                validator_addr: a.clone(),
                pagination: None,
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/validators/{a}/delegations"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/ValidatorDelegations",
            staking::QueryValidatorDelegationsRequest {
                validator_addr: a.clone(),
                pagination: first(),
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/validators/{a}/delegations?pagination.limit=1"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/ValidatorUnbondingDelegations",
            staking::QueryValidatorUnbondingDelegationsRequest {
                validator_addr: a.clone(),
                pagination: None,
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/validators/{a}/unbonding_delegations"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/Delegation",
            staking::QueryDelegationRequest {
                delegator_addr: delegator.clone(),
                validator_addr: a.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/validators/{a}/delegations/{delegator}"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/UnbondingDelegation",
            staking::QueryUnbondingDelegationRequest {
                delegator_addr: delegator.clone(),
                validator_addr: a.clone(),
            }
            .encode_to_vec(),
            format!(
                "/cosmos/staking/v1beta1/validators/{a}/delegations/{delegator}/unbonding_delegation"
            ),
        ),
        (
            "/cosmos.staking.v1beta1.Query/DelegatorDelegations",
            staking::QueryDelegatorDelegationsRequest {
                delegator_addr: delegator.clone(),
                pagination: None,
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/delegations/{delegator}"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations",
            staking::QueryDelegatorUnbondingDelegationsRequest {
                delegator_addr: delegator.clone(),
                pagination: None,
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/delegators/{delegator}/unbonding_delegations"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/Redelegations",
            staking::QueryRedelegationsRequest {
                delegator_addr: delegator.clone(),
                ..Default::default()
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/delegators/{delegator}/redelegations"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/Redelegations",
            staking::QueryRedelegationsRequest {
                delegator_addr: delegator.clone(),
                src_validator_addr: a.clone(),
                dst_validator_addr: b.clone(),
                pagination: None,
            }
            .encode_to_vec(),
            format!(
                "/cosmos/staking/v1beta1/delegators/{delegator}/redelegations?src_validator_addr={a}&dst_validator_addr={b}"
            ),
        ),
        (
            "/cosmos.staking.v1beta1.Query/DelegatorValidators",
            staking::QueryDelegatorValidatorsRequest {
                delegator_addr: delegator.clone(),
                pagination: None,
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/delegators/{delegator}/validators"),
        ),
        (
            "/cosmos.staking.v1beta1.Query/DelegatorValidator",
            staking::QueryDelegatorValidatorRequest {
                delegator_addr: delegator.clone(),
                validator_addr: b.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/staking/v1beta1/delegators/{delegator}/validators/{b}"),
        ),
    ]);
    // Distribution: every method, on the same stake (the devnet pays its
    // staked validators nothing, so the amounts are empty; the shapes and
    // routes are what wallets read).
    cases.extend([
        (
            "/cosmos.distribution.v1beta1.Query/Params",
            empty(),
            "/cosmos/distribution/v1beta1/params".to_string(),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/ValidatorDistributionInfo",
            distribution::QueryValidatorDistributionInfoRequest {
                validator_address: a.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/distribution/v1beta1/validators/{a}"),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/ValidatorOutstandingRewards",
            distribution::QueryValidatorOutstandingRewardsRequest {
                validator_address: a.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/distribution/v1beta1/validators/{a}/outstanding_rewards"),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/ValidatorCommission",
            distribution::QueryValidatorCommissionRequest {
                validator_address: a.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/distribution/v1beta1/validators/{a}/commission"),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/ValidatorSlashes",
            distribution::QueryValidatorSlashesRequest {
                validator_address: a.clone(),
                starting_height: 1,
                ending_height: 1_000_000,
                pagination: None,
            }
            .encode_to_vec(),
            format!(
                "/cosmos/distribution/v1beta1/validators/{a}/slashes?starting_height=1&ending_height=1000000"
            ),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/DelegationRewards",
            distribution::QueryDelegationRewardsRequest {
                delegator_address: delegator.clone(),
                validator_address: a.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/distribution/v1beta1/delegators/{delegator}/rewards/{a}"),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/DelegationTotalRewards",
            distribution::QueryDelegationTotalRewardsRequest {
                delegator_address: delegator.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/distribution/v1beta1/delegators/{delegator}/rewards"),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/DelegatorValidators",
            distribution::QueryDelegatorValidatorsRequest {
                delegator_address: delegator.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/distribution/v1beta1/delegators/{delegator}/validators"),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/DelegatorWithdrawAddress",
            distribution::QueryDelegatorWithdrawAddressRequest {
                delegator_address: delegator.clone(),
            }
            .encode_to_vec(),
            format!("/cosmos/distribution/v1beta1/delegators/{delegator}/withdraw_address"),
        ),
        (
            "/cosmos.distribution.v1beta1.Query/CommunityPool",
            empty(),
            "/cosmos/distribution/v1beta1/community_pool".into(),
        ),
    ]);
    // Read everything at one height, so blocks made meanwhile cannot make
    // the three answers differ.
    let h = f.height();
    let hs = h.to_string();
    for (path, req, rest_path) in &cases {
        let abci = f.abci(path, req.clone(), h);
        assert_eq!(abci.code.value(), 0, "{path}: {}", abci.log);
        let (grpc, grpc_height) = f.grpc(path, req.clone(), Some(&hs)).unwrap();
        assert_eq!(grpc, abci.value, "{path}: gRPC and abci_query differ");
        assert_eq!(grpc_height, Some(h), "{path}: the answer names its height");
        let rest = f.rest(Method::GET, rest_path, None, Some(&hs));
        assert_eq!(rest.status, 200, "{rest_path}: {}", rest.json);
        assert_eq!(
            rest.json,
            sdk_json(path, &abci.value),
            "{rest_path}: REST and abci_query differ"
        );
        assert_eq!(rest.height, Some(h));
    }
    // Distribution as a wallet reads it: parameters as decimals, the
    // delegator's validators, the withdraw address (itself).
    let p = f
        .rest(
            Method::GET,
            "/cosmos/distribution/v1beta1/params",
            None,
            Some(&hs),
        )
        .json;
    assert_eq!(p["params"]["community_tax"], "0.020000000000000000", "{p}");
    assert_eq!(p["params"]["withdraw_addr_enabled"], true, "{p}");
    let w = f
        .rest(
            Method::GET,
            &format!("/cosmos/distribution/v1beta1/delegators/{delegator}/withdraw_address"),
            None,
            Some(&hs),
        )
        .json;
    assert_eq!(w["withdraw_address"], delegator.as_str(), "{w}");
    // The account is the SDK's BaseAccount, as wallets read it.
    let acc = f.get(&format!("/cosmos/auth/v1beta1/accounts/{dev0}")).json;
    assert_eq!(acc["account"]["@type"], "/cosmos.auth.v1beta1.BaseAccount");
    assert_eq!(acc["account"]["address"], dev0.as_str());
    assert!(
        acc["account"]["sequence"].is_string(),
        "64-bit integers are strings: {acc}"
    );

    // The stake as a wallet reads it. Decimals (shares, rates) are written
    // as the SDK's gateway writes them, "3000000.000000000000000000".
    let rest = |path: &str| f.rest(Method::GET, path, None, Some(&hs)).json;
    let vals = rest("/cosmos/staking/v1beta1/validators?status=BOND_STATUS_BONDED");
    let vals = vals["validators"].as_array().unwrap();
    let mut ops: Vec<&str> = vals
        .iter()
        .map(|v| v["operator_address"].as_str().unwrap())
        .collect();
    ops.sort_unstable();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort_unstable();
    assert_eq!(ops, want, "{vals:?}");
    let v = rest(&format!("/cosmos/staking/v1beta1/validators/{a}"))["validator"].clone();
    assert_eq!(
        (&v["status"], &v["tokens"], &v["delegator_shares"]),
        (
            &"BOND_STATUS_BONDED".into(),
            &"13000000".into(),
            // The SDK's gateway writes decimals as decimals.
            &"13000000.000000000000000000".into()
        ),
        "{v}"
    );
    assert_eq!(
        v["consensus_pubkey"]["@type"], "/cosmos.crypto.ed25519.PubKey",
        "{v}"
    );
    assert_eq!(
        v["commission"]["commission_rates"]["rate"], "0.100000000000000000",
        "{v}"
    );
    let d = rest(&format!(
        "/cosmos/staking/v1beta1/validators/{a}/delegations/{delegator}"
    ))["delegation_response"]
        .clone();
    assert_eq!(
        (&d["delegation"]["shares"], &d["balance"]["amount"]),
        (&"3000000.000000000000000000".into(), &"3000000".into()),
        "{d}"
    );
    let u = rest(&format!(
        "/cosmos/staking/v1beta1/delegators/{delegator}/unbonding_delegations"
    ));
    assert_eq!(
        u["unbonding_responses"][0]["entries"][0]["balance"], "1000000",
        "{u}"
    );
    let r = rest(&format!(
        "/cosmos/staking/v1beta1/delegators/{delegator}/redelegations"
    ));
    let r = &r["redelegation_responses"][0];
    assert_eq!(
        (
            &r["redelegation"]["validator_dst_address"],
            &r["entries"][0]["balance"]
        ),
        (&b.as_str().into(), &"1000000".into()),
        "{r}"
    );
    let page = rest(&format!(
        "/cosmos/staking/v1beta1/validators/{a}/delegations?pagination.limit=1"
    ));
    assert!(
        page["pagination"]["next_key"]
            .as_str()
            .is_some_and(|k| !k.is_empty()),
        "a second delegation is left for the next page: {page}"
    );

    // A height in the past reads the state of that height, on both APIs.
    let balance = |height: Option<&str>| -> (u128, u128) {
        let req = QueryBalanceRequest {
            address: dev0.clone(),
            denom: "udeai".into(),
        };
        let (bytes, _) = f
            .grpc(
                "/cosmos.bank.v1beta1.Query/Balance",
                req.encode_to_vec(),
                height,
            )
            .unwrap();
        let grpc: u128 = QueryBalanceResponse::decode(bytes.as_slice())
            .unwrap()
            .balance
            .unwrap()
            .amount
            .parse()
            .unwrap();
        let rest = f.rest(
            Method::GET,
            &format!("/cosmos/bank/v1beta1/balances/{dev0}/by_denom?denom=udeai"),
            None,
            height,
        );
        (
            grpc,
            rest.json["balance"]["amount"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        )
    };
    let before = balance(Some(&hs));
    let dev1 = f.dev(1).1.clone();
    f.cli().tx(
        &["tx", "bank", "send", &dev1, "5000udeai", "--gas", "auto"],
        "dev0",
    );
    let after = balance(None);
    assert!(
        after.0 < before.0 - 5000 && after.0 == after.1,
        "{before:?} → {after:?}"
    );
    assert_eq!(
        balance(Some(&hs)),
        before,
        "height {h} still reads the old balance"
    );
}

#[test]
fn every_cli_query_prints_the_json_the_rest_gateway_answers() {
    let f = Fixture::start();
    let cli = f.cli();
    let dev0 = f.dev(0).1.clone();
    // Something in every list: a proposal spending from the treasury, a
    // vote on it, a deposit, and a provider.
    cli.tx(&["tx", "treasury", "fund", "1000000udeai"], "dev0");
    let mut proposal: Value =
        serde_json::from_str(&common::ok(&cli.run(&["tx", "gov", "draft-proposal"]))).unwrap();
    proposal["messages"][0]["recipient"] = f.dev(2).1.clone().into();
    let file = f.home.path().join("spend.json");
    std::fs::write(&file, proposal.to_string()).unwrap();
    cli.tx(
        &["tx", "gov", "submit-proposal", file.to_str().unwrap()],
        "dev0",
    );
    cli.tx(&["tx", "gov", "vote", "1", "yes"], "dev0");
    cli.tx(
        &[
            "tx",
            "compute",
            "register-provider",
            "1000000000udeai",
            "--device",
            "a GPU",
        ],
        "dev1",
    );
    let dev1 = f.dev(1).1.clone();
    // (CLI query, REST path)
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["bank", "balances", &dev0],
            format!("/cosmos/bank/v1beta1/balances/{dev0}"),
        ),
        (vec!["bank", "total"], "/cosmos/bank/v1beta1/supply".into()),
        (
            vec!["account", &dev0],
            format!("/cosmos/auth/v1beta1/accounts/{dev0}"),
        ),
        (vec!["gov", "params"], "/deai/gov/v1/params".into()),
        (vec!["gov", "proposals"], "/deai/gov/v1/proposals".into()),
        (
            vec!["gov", "proposals", "--status", "voting_period"],
            "/deai/gov/v1/proposals?status=PROPOSAL_STATUS_VOTING_PERIOD".into(),
        ),
        (
            vec!["gov", "proposal", "1"],
            "/deai/gov/v1/proposals/1".into(),
        ),
        (
            vec!["gov", "votes", "1"],
            "/deai/gov/v1/proposals/1/votes".into(),
        ),
        (
            vec!["gov", "deposits", "1"],
            "/deai/gov/v1/proposals/1/deposits".into(),
        ),
        (
            vec!["gov", "tally", "1"],
            "/deai/gov/v1/proposals/1/tally".into(),
        ),
        (
            vec!["gov", "delegation", &dev0],
            format!("/deai/gov/v1/delegations/{dev0}"),
        ),
        (
            vec!["treasury", "params"],
            "/deai/treasury/v1/params".into(),
        ),
        (
            vec!["treasury", "balance"],
            "/deai/treasury/v1/balance".into(),
        ),
        (
            vec!["treasury", "streams"],
            "/deai/treasury/v1/streams".into(),
        ),
        (
            vec!["treasury", "spends"],
            "/deai/treasury/v1/spends".into(),
        ),
        (vec!["compute", "params"], "/deai/compute/v1/params".into()),
        (
            vec!["compute", "providers"],
            "/deai/compute/v1/providers".into(),
        ),
        (
            vec!["compute", "provider", &dev1],
            format!("/deai/compute/v1/providers/{dev1}"),
        ),
        (vec!["compute", "models"], "/deai/compute/v1/models".into()),
        (
            vec!["compute", "jobs", "--limit", "10"],
            "/deai/compute/v1/jobs?pagination.limit=10".into(),
        ),
    ];
    for (args, rest_path) in &cases {
        // The CLI reads the latest height, so a block between the two reads
        // could change an answer (the treasury's fee share, say): try again.
        let mut tries = 0;
        loop {
            let printed = cli.json(&[&["query"][..], args].concat());
            let rest = f.get(rest_path);
            assert_eq!(rest.status, 200, "{rest_path}: {}", rest.json);
            if printed == rest.json {
                break;
            }
            tries += 1;
            assert!(
                tries < 3,
                "deaid query {}: {printed}\nREST {rest_path}: {}",
                args.join(" "),
                rest.json
            );
        }
    }
    // The proposal's messages come out whole, as the SDK writes an Any.
    let p = cli.json(&["query", "gov", "proposal", "1"]);
    let m = &p["proposal"]["messages"][0];
    assert_eq!(m["@type"], "/deai.treasury.v1.MsgSpend", "{p}");
    assert_eq!(m["recipient"], f.dev(2).1.as_str(), "{p}");
}

#[test]
fn node_services_tx_lookup_and_bad_input() {
    let f = Fixture::start();
    let dev0 = f.dev(0).1.clone();

    // Node and block services, from the node's RPC.
    let (bytes, _) = f
        .grpc(
            "/cosmos.base.tendermint.v1beta1.Service/GetNodeInfo",
            vec![],
            None,
        )
        .unwrap();
    let info = GetNodeInfoResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(info.default_node_info.unwrap().network, "deai-devnet");
    assert_eq!(info.application_version.unwrap().app_name, "deaid");
    let (bytes, _) = f
        .grpc(
            "/cosmos.base.tendermint.v1beta1.Service/GetLatestBlock",
            vec![],
            None,
        )
        .unwrap();
    let latest = GetLatestBlockResponse::decode(bytes.as_slice()).unwrap();
    let header = latest.sdk_block.unwrap().header.unwrap();
    assert!(header.height >= 1);
    assert!(
        header.proposer_address.starts_with("deaivalcons1"),
        "{}",
        header.proposer_address
    );
    let (bytes, _) = f
        .grpc(
            "/cosmos.base.tendermint.v1beta1.Service/GetBlockByHeight",
            GetBlockByHeightRequest { height: 1 }.encode_to_vec(),
            None,
        )
        .unwrap();
    let block1 = GetBlockByHeightResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(block1.block.unwrap().header.unwrap().height, 1);
    let rest = f.get("/cosmos/base/tendermint/v1beta1/blocks/1");
    assert_eq!(rest.json["block"]["header"]["height"], "1");
    let (bytes, _) = f
        .grpc(
            "/cosmos.base.tendermint.v1beta1.Service/GetLatestValidatorSet",
            vec![],
            None,
        )
        .unwrap();
    let vals = GetLatestValidatorSetResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(vals.validators.len(), 1);
    assert_eq!(
        vals.validators[0].pub_key.as_ref().unwrap().type_url,
        "/cosmos.crypto.ed25519.PubKey"
    );
    let (bytes, _) = f
        .grpc("/cosmos.base.node.v1beta1.Service/Config", vec![], None)
        .unwrap();
    assert_eq!(
        ConfigResponse::decode(bytes.as_slice())
            .unwrap()
            .minimum_gas_price,
        "0.010000000000000000udeai"
    );
    let (bytes, _) = f
        .grpc("/cosmos.base.node.v1beta1.Service/Status", vec![], None)
        .unwrap();
    assert!(StatusResponse::decode(bytes.as_slice()).unwrap().height >= 1);
    // ABCIQuery is abci_query.
    let req = QueryAllBalancesRequest {
        address: dev0.clone(),
        ..Default::default()
    }
    .encode_to_vec();
    let h = f.height();
    let (bytes, _) = f
        .grpc(
            "/cosmos.base.tendermint.v1beta1.Service/ABCIQuery",
            AbciQueryRequest {
                data: req.clone(),
                path: "/cosmos.bank.v1beta1.Query/AllBalances".into(),
                height: h as i64,
                prove: false,
            }
            .encode_to_vec(),
            None,
        )
        .unwrap();
    let q = AbciQueryResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        q.value,
        f.abci("/cosmos.bank.v1beta1.Query/AllBalances", req, h)
            .value
    );
    assert!(
        QueryAllBalancesResponse::decode(q.value.as_slice())
            .unwrap()
            .balances[0]
            .amount
            .parse::<u128>()
            .unwrap()
            > 0
    );

    // A tx sent by the CLI is found by hash on both APIs, with its events.
    let dev1 = f.dev(1).1.clone();
    let out = f.cli().tx(
        &[
            "tx", "bank", "send", &dev1, "777udeai", "--gas", "auto", "--output", "json",
        ],
        "dev0",
    );
    let out: Value = serde_json::from_str(&out).unwrap();
    let hash = out["hash"].as_str().unwrap().to_string();
    let (bytes, _) = f
        .grpc(
            "/cosmos.tx.v1beta1.Service/GetTx",
            GetTxRequest { hash: hash.clone() }.encode_to_vec(),
            None,
        )
        .unwrap();
    let tx = GetTxResponse::decode(bytes.as_slice()).unwrap();
    let resp = tx.tx_response.unwrap();
    assert_eq!((resp.code, resp.txhash.as_str()), (0, hash.as_str()));
    assert!(
        resp.height > 0 && resp.gas_used > 0 && resp.timestamp.ends_with('Z'),
        "{resp:?}"
    );
    assert!(
        resp.events.iter().any(|e| e.r#type == "transfer"),
        "{:?}",
        resp.events
    );
    assert_eq!(
        tx.tx.unwrap().body.unwrap().messages[0].type_url,
        "/cosmos.bank.v1beta1.MsgSend"
    );
    let rest = f.get(&format!("/cosmos/tx/v1beta1/txs/{hash}"));
    assert_eq!(rest.status, 200, "{}", rest.json);
    assert_eq!(rest.json["tx_response"]["txhash"], hash.as_str());
    assert_eq!(
        rest.json["tx"]["body"]["messages"][0]["@type"],
        "/cosmos.bank.v1beta1.MsgSend"
    );
    assert_eq!(
        rest.json["tx"]["body"]["messages"][0]["to_address"],
        dev1.as_str()
    );
    let search = f.get(&format!(
        "/cosmos/tx/v1beta1/txs?query=tx.hash%3D%27{hash}%27"
    ));
    assert_eq!(search.json["total"], "1", "{}", search.json);

    // Bad input: clear errors, nothing changes.
    let seq = |f: &Fixture| {
        f.get(&format!("/cosmos/auth/v1beta1/accounts/{dev0}")).json["account"]["sequence"].clone()
    };
    let seq_before = seq(&f);
    let e = f
        .grpc(
            "/cosmos.bank.v1beta1.Query/Balance",
            QueryBalanceRequest {
                address: "deai1nope".into(),
                denom: "udeai".into(),
            }
            .encode_to_vec(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("address"), "{e:?}");
    let r = f.get("/cosmos/bank/v1beta1/balances/deai1nope");
    assert_eq!(
        (r.status, r.json["code"].as_i64()),
        (400, Some(3)),
        "{}",
        r.json
    );
    let e = f
        .grpc(
            "/cosmos.auth.v1beta1.Query/Account",
            QueryAccountRequest {
                address: deai_types::Address::module("nobody").to_bech32(),
            }
            .encode_to_vec(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
    let e = f
        .grpc("/cosmos.bank.v1beta1.Query/Nope", vec![], None)
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented, "{e:?}");
    let e = f
        .grpc(
            "/cosmos.bank.v1beta1.Query/Balance",
            vec![0xff, 0xff, 0xff],
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    for bad in ["abc", "-1", "99999999999"] {
        let e = f
            .grpc("/cosmos.bank.v1beta1.Query/TotalSupply", vec![], Some(bad))
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{bad}: {e:?}");
        let r = f.rest(Method::GET, "/cosmos/bank/v1beta1/supply", None, Some(bad));
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
    }
    // A huge page limit is capped, not obeyed or refused.
    let r = f.get(&format!(
        "/cosmos/bank/v1beta1/balances/{dev0}?pagination.limit=18446744073709551615"
    ));
    assert_eq!(r.status, 200, "{}", r.json);
    let req = QueryAllBalancesRequest {
        address: dev0.clone(),
        pagination: Some(PageRequest {
            limit: u64::MAX,
            ..Default::default()
        }),
        ..Default::default()
    };
    f.grpc(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        req.encode_to_vec(),
        None,
    )
    .unwrap();
    for (path, why) in [("/nope", 404), ("/cosmos/bank/v1beta1/balances", 404)] {
        assert_eq!(f.get(path).status, why, "{path}");
    }
    let r = f.get("/cosmos/bank/v1beta1/supply?nonsense=1");
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(
        r.json["message"].as_str().unwrap().contains("nonsense"),
        "{}",
        r.json
    );
    let r = f.rest(
        Method::POST,
        "/cosmos/tx/v1beta1/txs",
        Some(b"{not json".to_vec()),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.json);
    let r = f.rest(
        Method::POST,
        "/cosmos/tx/v1beta1/txs",
        Some(vec![b' '; 3 << 20]),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(
        r.json["message"].as_str().unwrap().contains("larger than"),
        "{}",
        r.json
    );
    let e = f
        .grpc(
            "/cosmos.tx.v1beta1.Service/BroadcastTx",
            vec![0; 3 << 20],
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::OutOfRange, "{e:?}");
    // Garbage tx bytes: CheckTx refuses them, with its code.
    let (bytes, _) = f
        .grpc(
            "/cosmos.tx.v1beta1.Service/BroadcastTx",
            BroadcastTxRequest {
                tx_bytes: vec![1, 2, 3],
                mode: 2,
            }
            .encode_to_vec(),
            None,
        )
        .unwrap();
    let r = BroadcastTxResponse::decode(bytes.as_slice())
        .unwrap()
        .tx_response
        .unwrap();
    assert_ne!(r.code, 0, "{r:?}");
    let e = f
        .grpc(
            "/cosmos.tx.v1beta1.Service/BroadcastTx",
            BroadcastTxRequest {
                tx_bytes: vec![1],
                mode: 1,
            }
            .encode_to_vec(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "BLOCK mode: {e:?}");
    let e = f
        .grpc(
            "/cosmos.tx.v1beta1.Service/GetTx",
            GetTxRequest {
                hash: "00".repeat(32),
            }
            .encode_to_vec(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
    let e = f
        .grpc(
            "/cosmos.base.tendermint.v1beta1.Service/GetBlockByHeight",
            GetBlockByHeightRequest { height: 1 << 40 }.encode_to_vec(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(seq(&f), seq_before, "bad input changed nothing");

    // CORS: the allowed origin is told so, in a preflight and an answer;
    // another origin is not.
    let origin_allowed = |origin: &str, preflight: bool| -> Option<String> {
        let url = format!("{}/cosmos/bank/v1beta1/supply", f.dev.rest);
        let req = if preflight {
            f.http
                .request(Method::OPTIONS, &url)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "x-cosmos-block-height")
        } else {
            f.http.get(&url)
        };
        let resp = f.rt.block_on(req.header("origin", origin).send()).unwrap();
        resp.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(origin_allowed(EXPLORER, true).as_deref(), Some(EXPLORER));
    assert_eq!(origin_allowed(EXPLORER, false).as_deref(), Some(EXPLORER));
    assert_eq!(origin_allowed("https://evil.example", true), None);
    assert_eq!(origin_allowed("https://evil.example", false), None);

    // The OpenAPI document lists every route it serves.
    let doc = f.get("/swagger/openapi.json").json;
    assert_eq!(doc["openapi"], "3.0.3");
    for p in [
        "/cosmos/auth/v1beta1/accounts/{address}",
        "/cosmos/bank/v1beta1/balances/{address}",
        "/cosmos/tx/v1beta1/simulate",
        "/cosmos/tx/v1beta1/txs/{hash}",
        "/cosmos/gov/v1/proposals",
        "/deai/compute/v1/jobs/{job_id}",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} is documented");
    }
    assert!(doc["paths"]["/cosmos/tx/v1beta1/txs"]["post"]["requestBody"].is_object());
}

#[test]
fn cosmpy_and_grpcurl_work_against_the_devnet() {
    let (Some(python), Some(grpcurl)) = (api::cosmpy_python(), api::grpcurl()) else {
        return;
    };
    let f = Fixture::start();
    let Stake { a, b, delegator } = f.stake();
    let (_, _, mnemonic) = f.dev(0).clone();
    let dev2 = f.dev(2).1.clone();
    let grpc = api::cosmpy_check(
        &python,
        &format!("grpc+http://{}", f.dev.grpc),
        "deai-devnet",
        &mnemonic,
        &dev2,
    );
    let rest = api::cosmpy_check(
        &python,
        &format!("rest+{}", f.dev.rest),
        "deai-devnet",
        &mnemonic,
        &dev2,
    );
    // dev0 staked in one tx; each run sends and delegates.
    assert_eq!(
        (grpc["sequence"].as_u64(), rest["sequence"].as_u64()),
        (Some(3), Some(5))
    );
    // cosmpy's query_validators reads both validators, bonded; its
    // delegation (to the first it lists) lands, and the positions it reads
    // page by page are the stake made above plus its own.
    for run in [&grpc, &rest] {
        let mut seen: Vec<(String, String, String)> = run["validators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                assert!(v["tokens"].as_u64().unwrap() >= 10_000_000, "{v}");
                let s = |k: &str| v[k].as_str().unwrap().to_string();
                (s("address"), s("moniker"), s("status"))
            })
            .collect();
        seen.sort();
        let mut want = vec![
            (a.clone(), "staked 1".into(), "BOND_STATUS_BONDED".into()),
            (b.clone(), "staked 2".into(), "BOND_STATUS_BONDED".into()),
        ];
        want.sort();
        assert_eq!(seen, want, "{run}");
        assert_eq!(
            run["unbonding"],
            serde_json::json!({ &a: 1_000_000 }),
            "{run}"
        );
    }
    let mut delegated =
        std::collections::BTreeMap::from([(a.clone(), 3_000_000u64), (b, 1_000_000)]);
    for run in [&grpc, &rest] {
        *delegated
            .get_mut(run["delegated_to"].as_str().unwrap())
            .unwrap() += 1_000_000;
        assert_eq!(run["delegated"], serde_json::json!(delegated), "{run}");
    }
    let ours = f
        .get(&format!("/cosmos/staking/v1beta1/delegations/{delegator}"))
        .json;
    let ours: std::collections::BTreeMap<String, u64> = ours["delegation_responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["delegation"]["validator_address"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                d["balance"]["amount"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(ours, delegated);

    let services = api::grpcurl_list(&grpcurl, &f.dev.grpc);
    for s in [
        "cosmos.auth.v1beta1.Query",
        "cosmos.bank.v1beta1.Query",
        "cosmos.tx.v1beta1.Service",
        "cosmos.base.tendermint.v1beta1.Service",
        "cosmos.base.node.v1beta1.Service",
        "cosmos.gov.v1.Query",
        "cosmos.staking.v1beta1.Query",
        "cosmos.staking.v1beta1.Msg",
        "deai.compute.v1.Query",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(
            services.iter().any(|x| x == s),
            "grpcurl list shows {s}: {services:?}"
        );
    }
    let dev0 = f.dev(0).1.clone();
    let by_grpcurl = api::grpcurl_call(
        &grpcurl,
        &f.dev.grpc,
        "cosmos.bank.v1beta1.Query/Balance",
        &format!(r#"{{"address":"{dev0}","denom":"udeai"}}"#),
    );
    let by_rest = f
        .get(&format!(
            "/cosmos/bank/v1beta1/balances/{dev0}/by_denom?denom=udeai"
        ))
        .json;
    assert_eq!(by_grpcurl["balance"], by_rest["balance"]);
    // A staking answer, its Any consensus key included, through reflection.
    let by_grpcurl = api::grpcurl_call(
        &grpcurl,
        &f.dev.grpc,
        "cosmos.staking.v1beta1.Query/Validator",
        &format!(r#"{{"validator_addr":"{a}"}}"#),
    );
    let by_rest = f
        .get(&format!("/cosmos/staking/v1beta1/validators/{a}"))
        .json;
    let (g, r) = (&by_grpcurl["validator"], &by_rest["validator"]);
    assert_eq!(g["operatorAddress"], a.as_str(), "{by_grpcurl}");
    assert_eq!(
        (&g["status"], &g["tokens"]),
        (&r["status"], &r["tokens"]),
        "{by_grpcurl}"
    );
    // gRPC carries a decimal as its 10^-18 units, as the SDK's does; the
    // REST gateway writes it as a decimal, as the SDK's does.
    let units = g["delegatorShares"].as_str().unwrap();
    let decimal = r["delegator_shares"].as_str().unwrap();
    assert_eq!(
        format!(
            "{}.{}",
            &units[..units.len() - 18],
            &units[units.len() - 18..]
        ),
        decimal,
        "{by_grpcurl}"
    );
    assert_eq!(g["consensusPubkey"], r["consensus_pubkey"], "{by_grpcurl}");
}

/// A value for path parameter `field` of a generated request, and its text
/// in the URL: validator addresses are `valoper`, other addresses `addr`,
/// denoms `udeai`, numbers 1.
fn sample(
    field: &prost_reflect::FieldDescriptor,
    addr: &str,
    valoper: &str,
) -> (String, prost_reflect::Value) {
    use prost_reflect::{Kind, Value as V};
    let name = field.name();
    match field.kind() {
        Kind::String if name == "denom" => ("udeai".into(), V::String("udeai".into())),
        Kind::String if name == "name" => ("gov".into(), V::String("gov".into())),
        Kind::String if name == "validator_addr" => (valoper.into(), V::String(valoper.into())),
        Kind::String
            if name.contains("address")
                || name.ends_with("or")
                || name == "voter"
                || name == "delegator_addr" =>
        {
            (addr.into(), V::String(addr.into()))
        }
        Kind::String => ("x".into(), V::String("x".into())),
        Kind::Uint64 => ("1".into(), V::U64(1)),
        Kind::Int64 => ("1".into(), V::I64(1)),
        Kind::Uint32 => ("1".into(), V::U32(1)),
        Kind::Bytes => {
            use base64::Engine as _;
            let bytes = vec![7u8; 20];
            (
                base64::engine::general_purpose::URL_SAFE.encode(&bytes),
                V::Bytes(bytes.into()),
            )
        }
        other => panic!("no sample for a {other:?} path parameter ({name})"),
    }
}

/// The gRPC code and HTTP status an `abci_query` error code becomes.
fn expected_error(code: u32) -> (tonic::Code, u16) {
    match code {
        7 | 18 => (tonic::Code::InvalidArgument, 400),
        22 | 38 => (tonic::Code::NotFound, 404),
        6 => (tonic::Code::Unimplemented, 501),
        _ => (tonic::Code::Unknown, 500),
    }
}

#[test]
fn every_module_rest_route_answers_as_grpc_and_abci_query_do() {
    let f = Fixture::start();
    let dev0 = f.dev(0).1.clone();
    // Staking routes answer with records, not "not found": dev0 delegates
    // to, unbonds from and redelegates from validator `a`.
    let stake = f.stake();
    assert_eq!(stake.delegator, dev0);
    let routes = deai_api::rest::routes(deai_proto::descriptor_pool()).unwrap();
    let h = f.height();
    let hs = h.to_string();
    let mut shapes = std::collections::BTreeSet::new();
    let mut compared = Vec::new();
    let mut answered = std::collections::BTreeSet::new();
    for r in routes.iter().filter(|r| r.method == http::Method::GET) {
        // Blocks, txs, node info and consensus params come from the node,
        // not from abci_query (the other tests check them).
        if ["/cosmos.base.", "/cosmos.tx.", "/cosmos.consensus."]
            .iter()
            .any(|p| r.grpc_path.starts_with(p))
        {
            continue;
        }
        // Two SDK routes share one shape (`bech32/{address_bytes}` and
        // `bech32/{address_string}`): a URL reaches the first only.
        let shape: Vec<&str> = r
            .template
            .split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect();
        if !shapes.insert(shape.join("/")) {
            continue;
        }
        let mut msg = DynamicMessage::new(r.input.clone());
        let mut url = String::new();
        for seg in r.template.trim_start_matches('/').split('/') {
            url.push('/');
            match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(var) => {
                    let name = var.split('=').next().unwrap();
                    let field = r.input.get_field_by_name(name).unwrap();
                    let (text, value) = sample(&field, &dev0, &stake.a);
                    // A list in the path (ibc-go's sequences) is one value here.
                    let value = if field.is_list() {
                        prost_reflect::Value::List(vec![value])
                    } else {
                        value
                    };
                    msg.set_field(&field, value);
                    url.push_str(&text);
                }
                None => url.push_str(seg),
            }
        }
        let req = msg.encode_to_vec();
        let abci = f.abci(&r.grpc_path, req.clone(), h);
        let grpc = f.grpc(&r.grpc_path, req, Some(&hs));
        let rest = f.rest(Method::GET, &url, None, Some(&hs));
        if abci.code.value() == 0 {
            let (bytes, _) = grpc.unwrap_or_else(|e| panic!("{}: {e:?}", r.grpc_path));
            assert_eq!(
                bytes, abci.value,
                "{}: gRPC and abci_query differ",
                r.grpc_path
            );
            assert_eq!(rest.status, 200, "{url}: {}", rest.json);
            assert_eq!(rest.json, sdk_json(&r.grpc_path, &abci.value), "{url}");
            answered.insert(r.grpc_path.clone());
        } else {
            let (code, status) = expected_error(abci.code.value());
            let e = grpc.expect_err(&r.grpc_path);
            assert_eq!(
                e.code(),
                code,
                "{}: {e:?} for abci {}",
                r.grpc_path,
                abci.log
            );
            assert_eq!(rest.status, status, "{url}: {}", rest.json);
            assert_eq!(rest.json["message"], e.message(), "{url}");
        }
        compared.push(r.grpc_path.clone());
    }
    assert!(
        compared.len() >= 65,
        "{} routes compared: {compared:?}",
        compared.len()
    );
    // Every staking, distribution and mint query has its route compared;
    // staking's and mint's answer the generated parameters (distribution's
    // name a generated validator, which does not exist: compared as errors).
    for (service, all_answer) in [
        ("cosmos.staking.v1beta1.Query", true),
        ("cosmos.distribution.v1beta1.Query", false),
        ("cosmos.mint.v1beta1.Query", true),
    ] {
        let service = deai_proto::descriptor_pool()
            .get_service_by_name(service)
            .unwrap();
        for m in service.methods() {
            let path = format!("/{}/{}", service.full_name(), m.name());
            assert!(compared.contains(&path), "{path} was not compared");
            assert!(
                !all_answer || answered.contains(&path),
                "{path} did not answer"
            );
        }
    }
    // HistoricalInfo: the header of a kept height, as the SDK writes it;
    // a height not yet made is not found.
    let (bytes, _) = f
        .grpc(
            "/cosmos.staking.v1beta1.Query/HistoricalInfo",
            staking::QueryHistoricalInfoRequest { height: 1 }.encode_to_vec(),
            None,
        )
        .unwrap();
    let header = staking::QueryHistoricalInfoResponse::decode(bytes.as_slice())
        .unwrap()
        .hist
        .unwrap()
        .header
        .unwrap();
    assert_eq!(
        (header.chain_id.as_str(), header.height),
        ("deai-devnet", 1)
    );
    let e = f
        .grpc(
            "/cosmos.staking.v1beta1.Query/HistoricalInfo",
            staking::QueryHistoricalInfoRequest { height: 1 << 40 }.encode_to_vec(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
}

#[test]
fn ibc_go_queries_answer_over_grpc_rest_and_grpcurl() {
    use ibc_proto::ibc::core::{channel::v1 as chan, client::v1 as client};
    let f = Fixture::start();
    let h = f.height();
    let hs = h.to_string();
    // "deai-devnet" has no revision suffix: revision 0.
    let at_h = Some(client::Height {
        revision_number: 0,
        revision_height: h,
    });
    let (bytes, height) = f
        .grpc(
            "/ibc.core.client.v1.Query/ClientStates",
            client::QueryClientStatesRequest { pagination: None }.encode_to_vec(),
            Some(&hs),
        )
        .unwrap();
    assert_eq!(height, Some(h));
    assert!(client::QueryClientStatesResponse::decode(bytes.as_slice())
        .unwrap()
        .client_states
        .is_empty());
    let (bytes, _) = f
        .grpc(
            "/ibc.core.channel.v1.Query/Channels",
            chan::QueryChannelsRequest { pagination: None }.encode_to_vec(),
            Some(&hs),
        )
        .unwrap();
    assert_eq!(
        chan::QueryChannelsResponse::decode(bytes.as_slice())
            .unwrap()
            .height,
        at_h
    );
    let (bytes, _) = f
        .grpc(
            "/ibc.core.client.v1.Query/ClientParams",
            client::QueryClientParamsRequest {}.encode_to_vec(),
            None,
        )
        .unwrap();
    assert_eq!(
        client::QueryClientParamsResponse::decode(bytes.as_slice())
            .unwrap()
            .params
            .unwrap()
            .allowed_clients,
        ["07-tendermint"]
    );

    // Too many sequences: InvalidArgument, saying the bound.
    let e = f
        .grpc(
            "/ibc.core.channel.v1.Query/UnreceivedPackets",
            chan::QueryUnreceivedPacketsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                packet_commitment_sequences: (1..=10_001).collect(),
            }
            .encode_to_vec(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("at most 10000"), "{e:?}");
    // A bad identifier: InvalidArgument; a channel that does not exist:
    // NotFound, over gRPC and REST alike (sequences comma-separated in the
    // path, as grpc-gateway reads them).
    let e = f
        .grpc(
            "/ibc.core.client.v1.Query/ClientState",
            client::QueryClientStateRequest {
                client_id: "../x".into(),
            }
            .encode_to_vec(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    let e = f
        .grpc(
            "/ibc.core.channel.v1.Query/UnreceivedPackets",
            chan::QueryUnreceivedPacketsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                packet_commitment_sequences: vec![1, 2, 3],
            }
            .encode_to_vec(),
            Some(&hs),
        )
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
    let rest = f.rest(
        Method::GET,
        "/ibc/core/channel/v1/channels/channel-0/ports/transfer/packet_commitments/1,2,3/unreceived_packets",
        None,
        Some(&hs),
    );
    assert_eq!(rest.status, 404, "{}", rest.json);
    assert_eq!(rest.json["message"], e.message());
    let rest = f.get("/ibc/core/client/v1/client_states");
    assert_eq!(rest.status, 200, "{}", rest.json);
    assert_eq!(rest.json["client_states"], serde_json::json!([]));
    let rest = f.get("/ibc/core/connection/v1/params");
    assert_eq!(
        rest.json["params"]["max_expected_time_per_block"],
        "30000000000"
    );

    // grpcurl finds the services and their messages through reflection.
    let Some(grpcurl) = api::grpcurl() else {
        return;
    };
    let services = api::grpcurl_list(&grpcurl, &f.dev.grpc);
    for s in [
        "ibc.core.client.v1.Query",
        "ibc.core.connection.v1.Query",
        "ibc.core.channel.v1.Query",
    ] {
        assert!(
            services.iter().any(|x| x == s),
            "grpcurl list shows {s}: {services:?}"
        );
    }
    let params = api::grpcurl_call(
        &grpcurl,
        &f.dev.grpc,
        "ibc.core.connection.v1.Query/ConnectionParams",
        "{}",
    );
    assert_eq!(
        params["params"]["maxExpectedTimePerBlock"], "30000000000",
        "{params}"
    );
    let conns = api::grpcurl_call(
        &grpcurl,
        &f.dev.grpc,
        "ibc.core.connection.v1.Query/Connections",
        r#"{"pagination":{"limit":"5"}}"#,
    );
    assert!(conns["height"].is_object(), "{conns}");
}
