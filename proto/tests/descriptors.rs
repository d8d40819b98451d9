//! The exported descriptor set against the types the chain actually encodes:
//! values built with cosmos-sdk-proto and tendermint-proto must decode by
//! the same full name with nothing unknown and re-encode to the same bytes;
//! every service method must carry a REST route; and JSON must come out as
//! the Cosmos SDK's LCD writes it. The staking package is checked whole:
//! every message of its files is built from cosmos-sdk-proto with every
//! field set.

// The wire still carries fields the SDK marks deprecated, so the tests set them.
#![allow(deprecated)]

use std::collections::BTreeSet;

use cosmos_sdk_proto::{
    cosmos::{
        auth::v1beta1::{BaseAccount, QueryAccountResponse},
        bank::v1beta1::{MsgSend, QueryAllBalancesResponse, QueryBalanceResponse},
        base::{
            abci::v1beta1::{
                AbciMessageLog, Attribute, GasInfo, Result as AbciResult, StringEvent, TxResponse,
            },
            query::v1beta1::{PageRequest, PageResponse},
            tendermint::v1beta1::{
                Block as SdkBlock, GetLatestBlockResponse, GetNodeInfoResponse,
                Header as SdkHeader, Module, VersionInfo,
            },
            v1beta1::Coin,
        },
        crypto::secp256k1::PubKey,
        gov::v1::{Proposal, ProposalStatus, QueryProposalsResponse, TallyResult},
        staking::v1beta1 as staking,
        tx::{
            signing::v1beta1::SignMode,
            v1beta1::{
                mode_info, AuthInfo, BroadcastMode, BroadcastTxRequest, Fee, GetTxResponse,
                ModeInfo, SignerInfo, SimulateRequest, SimulateResponse, Tx, TxBody,
            },
        },
    },
    Any, Timestamp,
};
use deai_proto::descriptor_pool;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};
use tendermint_proto::{
    abci::{Event, EventAttribute, ValidatorUpdate},
    crypto::{public_key, PublicKey},
    google::protobuf::Duration,
    p2p::{DefaultNodeInfo, DefaultNodeInfoOther, ProtocolVersion},
    types::{
        Block, BlockId, BlockIdFlag, Commit, CommitSig, Data, EvidenceList, Header, PartSetHeader,
    },
    version::Consensus,
};

fn message(full_name: &str) -> MessageDescriptor {
    descriptor_pool()
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("{full_name} is in the descriptor pool"))
}

fn any<M: Message + prost::Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

/// Fails on any unknown field in `msg` or anything nested in it, opening
/// `Any`s by their type URL.
fn assert_all_known(msg: &DynamicMessage, path: &str) {
    let unknown: Vec<u32> = msg.unknown_fields().map(|f| f.number()).collect();
    assert!(
        unknown.is_empty(),
        "{path} ({}) has unknown fields {unknown:?}",
        msg.descriptor().full_name()
    );
    if msg.descriptor().full_name() == "google.protobuf.Any" {
        let url = msg
            .get_field_by_name("type_url")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let value = msg
            .get_field_by_name("value")
            .and_then(|v| v.as_bytes().cloned())
            .unwrap_or_default();
        let name = url.trim_start_matches('/');
        let inner = DynamicMessage::decode(message(name), value.as_ref())
            .unwrap_or_else(|e| panic!("{path}: Any of {url} decodes: {e}"));
        assert_eq!(
            inner.encode_to_vec(),
            value.as_ref(),
            "{path}: Any of {url} re-encodes"
        );
        assert_all_known(&inner, &format!("{path}<{name}>"));
        return;
    }
    for (field, value) in msg.fields() {
        let path = format!("{path}.{}", field.name());
        match value {
            Value::Message(m) => assert_all_known(m, &path),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(m) = item {
                        assert_all_known(m, &format!("{path}[{i}]"));
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    if let Value::Message(m) = v {
                        assert_all_known(m, &format!("{path}[{k:?}]"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Encodes `value` with prost, decodes it from the pool as `full_name`, and
/// checks that nothing is unknown and that it re-encodes to the same bytes.
fn round_trip(full_name: &str, value: &impl Message) -> DynamicMessage {
    round_trip_bytes(full_name, value.encode_to_vec())
}

/// [`round_trip`] of a value's encoding.
fn round_trip_bytes(full_name: &str, bytes: Vec<u8>) -> DynamicMessage {
    let dynamic = DynamicMessage::decode(message(full_name), bytes.as_slice())
        .unwrap_or_else(|e| panic!("{full_name} decodes: {e}"));
    assert_all_known(&dynamic, full_name);
    assert_eq!(
        dynamic.encode_to_vec(),
        bytes,
        "{full_name} re-encodes to the bytes prost wrote"
    );
    dynamic
}

/// Fails unless every field of `msg`'s type is set (so the comparison
/// covers each number and type).
fn assert_every_field_set(msg: &DynamicMessage) {
    for field in msg.descriptor().fields() {
        assert!(
            msg.has_field(&field),
            "{}.{} is left at its default, so the test does not cover it",
            msg.descriptor().full_name(),
            field.name()
        );
    }
}

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 7 })
}

fn coin(amount: &str) -> Coin {
    Coin {
        denom: "udeai".into(),
        amount: amount.into(),
    }
}

fn base_account(with_key: bool) -> BaseAccount {
    BaseAccount {
        address: "deai1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu".into(),
        pub_key: with_key.then(|| any(&PubKey { key: vec![2; 33] })),
        account_number: 5,
        sequence: 0,
    }
}

fn event() -> Event {
    Event {
        r#type: "transfer".into(),
        attributes: vec![EventAttribute {
            key: "amount".into(),
            value: "10udeai".into(),
            index: true,
        }],
    }
}

fn block_id(byte: u8) -> BlockId {
    BlockId {
        hash: vec![byte; 32],
        part_set_header: Some(PartSetHeader {
            total: 1,
            hash: vec![byte + 1; 32],
        }),
    }
}

fn header() -> Header {
    Header {
        version: Some(Consensus { block: 11, app: 1 }),
        chain_id: "deai-1".into(),
        height: 42,
        time: ts(1_700_000_000),
        last_block_id: Some(block_id(1)),
        last_commit_hash: vec![3; 32],
        data_hash: vec![4; 32],
        validators_hash: vec![5; 32],
        next_validators_hash: vec![6; 32],
        consensus_hash: vec![7; 32],
        app_hash: vec![8; 32],
        last_results_hash: vec![9; 32],
        evidence_hash: vec![10; 32],
        proposer_address: vec![11; 20],
    }
}

fn commit() -> Commit {
    Commit {
        height: 41,
        round: 1,
        block_id: Some(block_id(1)),
        signatures: vec![
            CommitSig {
                block_id_flag: BlockIdFlag::Commit as i32,
                validator_address: vec![11; 20],
                timestamp: ts(1_699_999_999),
                signature: vec![12; 64],
            },
            CommitSig {
                block_id_flag: BlockIdFlag::Absent as i32,
                validator_address: vec![],
                timestamp: None,
                signature: vec![],
            },
        ],
    }
}

fn signed_tx() -> Tx {
    let send = MsgSend {
        from_address: "deai1from".into(),
        to_address: "deai1to".into(),
        amount: vec![coin("10")],
    };
    Tx {
        body: Some(TxBody {
            messages: vec![any(&send)],
            memo: "rent".into(),
            timeout_height: 100,
            extension_options: vec![],
            non_critical_extension_options: vec![],
        }),
        auth_info: Some(AuthInfo {
            signer_infos: vec![SignerInfo {
                public_key: Some(any(&PubKey { key: vec![2; 33] })),
                mode_info: Some(ModeInfo {
                    sum: Some(mode_info::Sum::Single(mode_info::Single {
                        mode: SignMode::Direct as i32,
                    })),
                }),
                sequence: 3,
            }],
            fee: Some(Fee {
                amount: vec![coin("5000")],
                gas_limit: 200_000,
                payer: "deai1payer".into(),
                granter: "deai1granter".into(),
            }),
            tip: None,
        }),
        signatures: vec![vec![13; 64]],
    }
}

fn tx_response() -> TxResponse {
    TxResponse {
        height: 42,
        txhash: "AB".repeat(32),
        codespace: "sdk".into(),
        code: 5,
        data: "0A00".into(),
        raw_log: "insufficient funds".into(),
        logs: vec![AbciMessageLog {
            msg_index: 1,
            log: "ok".into(),
            events: vec![StringEvent {
                r#type: "message".into(),
                attributes: vec![Attribute {
                    key: "action".into(),
                    value: "/cosmos.bank.v1beta1.MsgSend".into(),
                }],
            }],
        }],
        info: "info".into(),
        gas_wanted: 200_000,
        gas_used: 51_234,
        tx: Some(any(&signed_tx())),
        timestamp: "2024-01-01T00:00:00Z".into(),
        events: vec![event()],
    }
}

fn proposal(id: u64) -> Proposal {
    Proposal {
        id,
        messages: vec![any(&MsgSend {
            from_address: "deai1gov".into(),
            to_address: "deai1to".into(),
            amount: vec![coin("1")],
        })],
        status: ProposalStatus::VotingPeriod as i32,
        final_tally_result: Some(TallyResult {
            yes_count: "1".into(),
            abstain_count: "2".into(),
            no_count: "3".into(),
            no_with_veto_count: "4".into(),
        }),
        submit_time: ts(1),
        deposit_end_time: ts(2),
        total_deposit: vec![coin("1000")],
        voting_start_time: ts(3),
        voting_end_time: ts(4),
        metadata: "ipfs://meta".into(),
        title: "Raise the cap".into(),
        summary: "Because.".into(),
        proposer: "deai1proposer".into(),
        expedited: true,
        failed_reason: "none yet".into(),
    }
}

#[test]
fn an_account_query_answer_decodes_with_the_base_account_inside_its_any() {
    let account = base_account(true);
    round_trip("cosmos.auth.v1beta1.BaseAccount", &account);
    let answer = QueryAccountResponse {
        account: Some(any(&account)),
    };
    round_trip("cosmos.auth.v1beta1.QueryAccountResponse", &answer);
}

#[test]
fn balance_answers_decode_with_their_pagination() {
    round_trip(
        "cosmos.bank.v1beta1.QueryBalanceResponse",
        &QueryBalanceResponse {
            balance: Some(coin("12")),
        },
    );
    let all = QueryAllBalancesResponse {
        balances: vec![coin("12"), coin("34")],
        pagination: Some(PageResponse {
            next_key: b"next".to_vec(),
            total: 2,
        }),
    };
    let dynamic = round_trip("cosmos.bank.v1beta1.QueryAllBalancesResponse", &all);
    assert_every_field_set(&dynamic);
}

#[test]
fn a_signed_transaction_decodes_down_to_its_msg_send() {
    let tx = signed_tx();
    let dynamic = round_trip("cosmos.tx.v1beta1.Tx", &tx);
    assert_every_field_set(&dynamic);
    round_trip(
        "cosmos.tx.v1beta1.SimulateRequest",
        &SimulateRequest {
            tx: None,
            tx_bytes: tx.encode_to_vec(),
        },
    );
    let response = SimulateResponse {
        gas_info: Some(GasInfo {
            gas_wanted: 200_000,
            gas_used: 51_234,
        }),
        result: Some(AbciResult {
            data: vec![1, 2],
            log: "log".into(),
            events: vec![event()],
            msg_responses: vec![any(&MsgSend::default())],
        }),
    };
    let dynamic = round_trip("cosmos.tx.v1beta1.SimulateResponse", &response);
    assert_every_field_set(&dynamic);
    round_trip(
        "cosmos.tx.v1beta1.BroadcastTxRequest",
        &BroadcastTxRequest {
            tx_bytes: tx.encode_to_vec(),
            mode: BroadcastMode::Sync as i32,
        },
    );
}

#[test]
fn a_transaction_lookup_decodes_with_its_response_and_events() {
    let response = tx_response();
    let dynamic = round_trip("cosmos.base.abci.v1beta1.TxResponse", &response);
    assert_every_field_set(&dynamic);
    round_trip(
        "cosmos.tx.v1beta1.GetTxResponse",
        &GetTxResponse {
            tx: Some(signed_tx()),
            tx_response: Some(response),
        },
    );
}

#[test]
fn the_latest_block_decodes_with_its_header_and_commit() {
    let block = Block {
        header: Some(header()),
        data: Some(Data {
            txs: vec![signed_tx().encode_to_vec()],
        }),
        evidence: Some(EvidenceList { evidence: vec![] }),
        last_commit: Some(commit()),
    };
    let sdk_header = SdkHeader {
        version: Some(Consensus { block: 11, app: 1 }),
        chain_id: "deai-1".into(),
        height: 42,
        time: ts(1_700_000_000),
        last_block_id: Some(block_id(1)),
        last_commit_hash: vec![3; 32],
        data_hash: vec![4; 32],
        validators_hash: vec![5; 32],
        next_validators_hash: vec![6; 32],
        consensus_hash: vec![7; 32],
        app_hash: vec![8; 32],
        last_results_hash: vec![9; 32],
        evidence_hash: vec![10; 32],
        proposer_address: "deaivalcons1proposer".into(),
    };
    let answer = GetLatestBlockResponse {
        block_id: Some(block_id(2)),
        block: Some(block.clone()),
        sdk_block: Some(SdkBlock {
            header: Some(sdk_header),
            data: block.data.clone(),
            evidence: block.evidence.clone(),
            last_commit: block.last_commit.clone(),
        }),
    };
    let dynamic = round_trip(
        "cosmos.base.tendermint.v1beta1.GetLatestBlockResponse",
        &answer,
    );
    assert_every_field_set(&dynamic);
    let header = round_trip("tendermint.types.Header", &header());
    assert_every_field_set(&header);
    let sdk_block = dynamic
        .get_field_by_name("sdk_block")
        .and_then(|v| v.as_message().cloned())
        .expect("sdk_block is set");
    let sdk_header = sdk_block
        .get_field_by_name("header")
        .and_then(|v| v.as_message().cloned())
        .expect("the sdk header is set");
    assert_every_field_set(&sdk_header);
}

#[test]
fn node_info_decodes_with_the_app_version() {
    let answer = GetNodeInfoResponse {
        default_node_info: Some(DefaultNodeInfo {
            protocol_version: Some(ProtocolVersion {
                p2p: 8,
                block: 11,
                app: 1,
            }),
            default_node_id: "ab".repeat(20),
            listen_addr: "tcp://0.0.0.0:26656".into(),
            network: "deai-1".into(),
            version: "0.38.17".into(),
            channels: vec![0x40, 0x20],
            moniker: "node0".into(),
            other: Some(DefaultNodeInfoOther {
                tx_index: "on".into(),
                rpc_address: "tcp://0.0.0.0:26657".into(),
            }),
        }),
        application_version: Some(VersionInfo {
            name: "deai".into(),
            app_name: "deaid".into(),
            version: "0.1.0".into(),
            git_commit: "abc".into(),
            build_tags: "".into(),
            go_version: "rust 1.85".into(),
            build_deps: vec![Module {
                path: "tendermint".into(),
                version: "0.40".into(),
                sum: "h1:".into(),
            }],
            cosmos_sdk_version: "v0.50".into(),
        }),
    };
    round_trip(
        "cosmos.base.tendermint.v1beta1.GetNodeInfoResponse",
        &answer,
    );
}

#[test]
fn a_gov_proposal_decodes_with_every_field_set() {
    let dynamic = round_trip("cosmos.gov.v1.Proposal", &proposal(7));
    assert_every_field_set(&dynamic);
    let answer = QueryProposalsResponse {
        proposals: vec![proposal(7), proposal(8)],
        pagination: Some(PageResponse {
            next_key: vec![9],
            total: 2,
        }),
    };
    let dynamic = round_trip("cosmos.gov.v1.QueryProposalsResponse", &answer);
    assert_every_field_set(&dynamic);
}

#[test]
fn a_wrong_field_number_is_caught() {
    // The checks above must be able to fail: a BaseAccount's bytes read as
    // a Coin leave its account number (field 3) unknown; its sequence, 0,
    // is not on the wire.
    let bytes = base_account(true).encode_to_vec();
    let as_coin = DynamicMessage::decode(message("cosmos.base.v1beta1.Coin"), bytes.as_slice())
        .expect("any bytes of valid wire types decode");
    let unknown: Vec<u32> = as_coin.unknown_fields().map(|f| f.number()).collect();
    assert_eq!(unknown, vec![3]);
}

#[test]
fn every_query_method_has_a_rest_route() {
    // Msg services are reached by broadcasting a transaction, not by REST.
    let pool = descriptor_pool();
    let http = pool
        .get_extension_by_name("google.api.http")
        .expect("google.api.http is declared");
    let mut queries = 0;
    for service in pool.services().filter(|s| s.name() != "Msg") {
        for method in service.methods() {
            queries += 1;
            assert!(
                method.options().has_extension(&http),
                "{} has no google.api.http rule",
                method.full_name()
            );
        }
    }
    assert!(queries > 60, "only {queries} query methods in the pool");
}

#[test]
fn the_cosmos_rest_routes_wallets_use_are_declared() {
    let pool = descriptor_pool();
    let routes = rest_routes(pool.services());
    for (verb, path) in [
        ("get", "/cosmos/auth/v1beta1/accounts/{address}"),
        ("get", "/cosmos/bank/v1beta1/balances/{address}"),
        ("post", "/cosmos/tx/v1beta1/simulate"),
        ("post", "/cosmos/tx/v1beta1/txs"),
        ("get", "/cosmos/tx/v1beta1/txs"),
        ("get", "/cosmos/tx/v1beta1/txs/{hash}"),
        ("get", "/cosmos/base/tendermint/v1beta1/node_info"),
        ("get", "/cosmos/base/tendermint/v1beta1/blocks/latest"),
        ("get", "/cosmos/gov/v1/proposals"),
        ("get", "/deai/gov/v1/proposals/{proposal_id}"),
        ("get", "/deai/compute/v1/jobs"),
        ("get", "/deai/treasury/v1/streams"),
        ("get", "/deai/rounds/v1/rounds/{round_id}"),
        ("get", "/deai/rounds/v1/versions/{version}/lineage"),
    ] {
        assert!(
            routes.contains(&(verb.to_owned(), path.to_owned())),
            "no {verb} {path} among {routes:?}"
        );
    }
}

#[test]
fn the_query_paths_the_chain_answers_are_service_methods() {
    let pool = descriptor_pool();
    for path in [
        "/deai.auth.v1.Query/Params",
        "/deai.bank.v1.Query/Params",
        "/deai.gov.v1.Query/Params",
        "/deai.gov.v1.Query/Proposal",
        "/deai.gov.v1.Query/Proposals",
        "/deai.gov.v1.Query/Votes",
        "/deai.gov.v1.Query/Deposits",
        "/deai.gov.v1.Query/Tally",
        "/deai.gov.v1.Query/Delegation",
        "/deai.treasury.v1.Query/Params",
        "/deai.treasury.v1.Query/Balance",
        "/deai.treasury.v1.Query/Streams",
        "/deai.treasury.v1.Query/Spends",
        "/deai.compute.v1.Query/Jobs",
        "/deai.compute.v1.Query/Job",
        "/deai.compute.v1.Query/Result",
        "/deai.compute.v1.Query/Providers",
        "/deai.compute.v1.Query/Provider",
        "/deai.compute.v1.Query/Models",
        "/deai.compute.v1.Query/Params",
        "/deai.rounds.v1.Query/Round",
        "/deai.rounds.v1.Query/Rounds",
        "/deai.rounds.v1.Query/Lineage",
        "/cosmos.auth.v1beta1.Query/Account",
        "/cosmos.bank.v1beta1.Query/Balance",
        "/cosmos.bank.v1beta1.Query/AllBalances",
        "/cosmos.bank.v1beta1.Query/TotalSupply",
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        "/cosmos.staking.v1beta1.Query/Params",
        "/cosmos.staking.v1beta1.Query/Pool",
        "/cosmos.staking.v1beta1.Query/Validator",
        "/cosmos.staking.v1beta1.Query/Validators",
        "/cosmos.staking.v1beta1.Query/ValidatorDelegations",
        "/cosmos.staking.v1beta1.Query/ValidatorUnbondingDelegations",
        "/cosmos.staking.v1beta1.Query/Delegation",
        "/cosmos.staking.v1beta1.Query/UnbondingDelegation",
        "/cosmos.staking.v1beta1.Query/DelegatorDelegations",
        "/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations",
        "/cosmos.staking.v1beta1.Query/Redelegations",
        "/cosmos.staking.v1beta1.Query/DelegatorValidators",
        "/cosmos.staking.v1beta1.Query/DelegatorValidator",
        "/cosmos.slashing.v1beta1.Query/Params",
        "/cosmos.slashing.v1beta1.Query/SigningInfo",
        "/cosmos.slashing.v1beta1.Query/SigningInfos",
    ] {
        let (service, method) = path[1..]
            .split_once('/')
            .expect("a path is /service/method");
        let service = pool
            .get_service_by_name(service)
            .unwrap_or_else(|| panic!("{service} is in the pool"));
        assert!(
            service.methods().any(|m| m.name() == method),
            "{path} is not a method of {}",
            service.full_name()
        );
    }
}

#[test]
fn ibc_go_core_queries_are_served_with_ibc_gos_rest_routes() {
    let pool = descriptor_pool();
    for (service, methods) in [
        (
            "ibc.core.client.v1.Query",
            &[
                "ClientState",
                "ClientStates",
                "ConsensusState",
                "ConsensusStates",
                "ConsensusStateHeights",
                "ClientStatus",
                "ClientParams",
                "UpgradedClientState",
                "UpgradedConsensusState",
            ][..],
        ),
        (
            "ibc.core.connection.v1.Query",
            &[
                "Connection",
                "Connections",
                "ClientConnections",
                "ConnectionClientState",
                "ConnectionConsensusState",
                "ConnectionParams",
            ][..],
        ),
        (
            "ibc.core.channel.v1.Query",
            &[
                "Channel",
                "Channels",
                "ConnectionChannels",
                "ChannelClientState",
                "ChannelConsensusState",
                "PacketCommitment",
                "PacketCommitments",
                "PacketReceipt",
                "PacketAcknowledgement",
                "PacketAcknowledgements",
                "UnreceivedPackets",
                "UnreceivedAcks",
                "NextSequenceReceive",
                "NextSequenceSend",
            ][..],
        ),
    ] {
        let s = pool
            .get_service_by_name(service)
            .unwrap_or_else(|| panic!("{service} is in the pool"));
        for m in methods {
            assert!(s.methods().any(|x| x.name() == *m), "{service}/{m}");
        }
    }
    let routes = rest_routes(pool.services());
    for path in [
        "/ibc/core/client/v1/client_states",
        "/ibc/core/client/v1/client_states/{client_id}",
        "/ibc/core/client/v1/client_status/{client_id}",
        "/ibc/core/connection/v1/connections",
        "/ibc/core/channel/v1/channels",
        "/ibc/core/channel/v1/channels/{channel_id}/ports/{port_id}/packet_commitments/{packet_commitment_sequences}/unreceived_packets",
    ] {
        assert!(
            routes.contains(&("get".to_owned(), path.to_owned())),
            "no GET {path}"
        );
    }
    // ibc-go's messages decode values built with ibc-proto by the same name.
    let resp = ibc_proto::ibc::core::channel::v1::QueryUnreceivedPacketsResponse {
        sequences: vec![1, 5],
        height: Some(ibc_proto::ibc::core::client::v1::Height {
            revision_number: 1,
            revision_height: 9,
        }),
    };
    let msg = round_trip("ibc.core.channel.v1.QueryUnreceivedPacketsResponse", &resp);
    assert_every_field_set(&msg);
    // One file per name: reflection serves each once.
    let names: Vec<String> = pool.files().map(|f| f.name().to_owned()).collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(names.len(), unique.len());
}

/// The REST routes (verb, path) of the methods of `services`, bindings
/// included, read through the `google.api.http` extension.
fn rest_routes(
    services: impl Iterator<Item = prost_reflect::ServiceDescriptor>,
) -> BTreeSet<(String, String)> {
    let http = descriptor_pool()
        .get_extension_by_name("google.api.http")
        .expect("google.api.http is declared");
    let mut routes = BTreeSet::new();
    for service in services {
        for method in service.methods() {
            let options = method.options();
            let rule = options.get_extension(&http);
            let Some(rule) = rule.as_message() else {
                continue;
            };
            let mut rules = vec![rule.clone()];
            if let Some(Value::List(more)) =
                rule.get_field_by_name("additional_bindings").as_deref()
            {
                rules.extend(more.iter().filter_map(|v| v.as_message().cloned()));
            }
            for r in rules {
                for verb in ["get", "put", "post", "delete", "patch"] {
                    if let Some(path) = r
                        .has_field_by_name(verb)
                        .then(|| r.get_field_by_name(verb))
                        .flatten()
                        .and_then(|v| v.as_str().map(str::to_owned))
                    {
                        routes.insert((verb.to_owned(), path));
                    }
                }
            }
        }
    }
    routes
}

#[test]
fn an_account_serialises_as_the_sdk_lcd_writes_it() {
    let to_json = |account: BaseAccount| {
        let answer = QueryAccountResponse {
            account: Some(any(&account)),
        };
        let dynamic = round_trip("cosmos.auth.v1beta1.QueryAccountResponse", &answer);
        deai_proto::to_lcd_json(&dynamic).expect("the answer serialises")
    };
    assert_eq!(
        to_json(base_account(false)),
        serde_json::json!({
            "account": {
                "@type": "/cosmos.auth.v1beta1.BaseAccount",
                "address": "deai1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu",
                "pub_key": null,
                "account_number": "5",
                "sequence": "0"
            }
        })
    );
    assert_eq!(
        to_json(base_account(true)),
        serde_json::json!({
            "account": {
                "@type": "/cosmos.auth.v1beta1.BaseAccount",
                "address": "deai1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu",
                "pub_key": {
                    "@type": "/cosmos.crypto.secp256k1.PubKey",
                    "key": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC"
                },
                "account_number": "5",
                "sequence": "0"
            }
        })
    );
}

/// Like [`assert_every_field_set`], down through every nested message (each
/// item of a list, the message inside an `Any`; one member of each oneof),
/// adding the full name of each message it checks to `seen`.
fn assert_every_field_set_deep(msg: &DynamicMessage, path: &str, seen: &mut BTreeSet<String>) {
    let desc = msg.descriptor();
    seen.insert(desc.full_name().to_owned());
    if desc.full_name() == "google.protobuf.Any" {
        let url = msg
            .get_field_by_name("type_url")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let value = msg
            .get_field_by_name("value")
            .and_then(|v| v.as_bytes().cloned())
            .unwrap_or_default();
        let inner = DynamicMessage::decode(message(url.trim_start_matches('/')), value)
            .unwrap_or_else(|e| panic!("{path}: Any of {url} decodes: {e}"));
        assert_every_field_set_deep(&inner, &format!("{path}<{url}>"), seen);
        return;
    }
    for oneof in desc.oneofs() {
        assert!(
            oneof.fields().any(|f| msg.has_field(&f)),
            "{path}: no member of oneof {} is set, so the test does not cover it",
            oneof.name()
        );
    }
    for field in desc.fields() {
        let path = format!("{path}.{}", field.name());
        if field.containing_oneof().is_some() {
            if let Some(Value::Message(m)) = msg
                .has_field(&field)
                .then(|| msg.get_field(&field))
                .as_deref()
            {
                assert_every_field_set_deep(m, &path, seen);
            }
            continue;
        }
        assert!(
            msg.has_field(&field),
            "{path} is left at its default, so the test does not cover it"
        );
        match msg.get_field(&field).as_ref() {
            Value::Message(m) => assert_every_field_set_deep(m, &path, seen),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(m) = item {
                        assert_every_field_set_deep(m, &format!("{path}[{i}]"), seen);
                    }
                }
            }
            _ => {}
        }
    }
}

fn page_request() -> Option<PageRequest> {
    Some(PageRequest {
        key: b"after".to_vec(),
        offset: 2,
        limit: 10,
        count_total: true,
        reverse: true,
    })
}

fn page_response() -> Option<PageResponse> {
    Some(PageResponse {
        next_key: b"next".to_vec(),
        total: 3,
    })
}

const VALOPER: &str = "deaivaloper1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5a3kq2x";
const DELEGATOR: &str = "deai1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu";

fn ed25519_any() -> Any {
    any(&cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey { key: vec![9; 32] })
}

fn description() -> staking::Description {
    staking::Description {
        moniker: "node0".into(),
        identity: "ABCD1234".into(),
        website: "https://deai.example".into(),
        security_contact: "ops@deai.example".into(),
        details: "A validator.".into(),
    }
}

/// Rates as the wire carries a LegacyDec: 10⁻¹⁸ units (0.1, 0.2, 0.01).
fn commission_rates() -> staking::CommissionRates {
    staking::CommissionRates {
        rate: "100000000000000000".into(),
        max_rate: "200000000000000000".into(),
        max_change_rate: "10000000000000000".into(),
    }
}

/// Every field set; the signed integers negative and the unsigned ones
/// above the signed range, so the JSON shows a sign mistake in the .proto.
fn validator() -> staking::Validator {
    staking::Validator {
        operator_address: VALOPER.into(),
        consensus_pubkey: Some(ed25519_any()),
        jailed: true,
        status: staking::BondStatus::Bonded as i32,
        tokens: "1000000".into(),
        delegator_shares: "1000000000000000000000000".into(),
        description: Some(description()),
        unbonding_height: -5,
        unbonding_time: ts(1_700_000_000),
        commission: Some(staking::Commission {
            commission_rates: Some(commission_rates()),
            update_time: ts(1_700_000_001),
        }),
        min_self_delegation: "1".into(),
        unbonding_on_hold_ref_count: -2,
        unbonding_ids: vec![u64::MAX - 1, 3],
    }
}

fn delegation() -> staking::Delegation {
    staking::Delegation {
        delegator_address: DELEGATOR.into(),
        validator_address: VALOPER.into(),
        shares: "500000000000000000000000".into(),
    }
}

fn delegation_response() -> staking::DelegationResponse {
    staking::DelegationResponse {
        delegation: Some(delegation()),
        balance: Some(coin("500000")),
    }
}

fn unbonding() -> staking::UnbondingDelegation {
    staking::UnbondingDelegation {
        delegator_address: DELEGATOR.into(),
        validator_address: VALOPER.into(),
        entries: vec![staking::UnbondingDelegationEntry {
            creation_height: -3,
            completion_time: ts(1_700_100_000),
            initial_balance: "700".into(),
            balance: "600".into(),
            unbonding_id: u64::MAX - 7,
            unbonding_on_hold_ref_count: -1,
        }],
    }
}

fn redelegation_entry() -> staking::RedelegationEntry {
    staking::RedelegationEntry {
        creation_height: -4,
        completion_time: ts(1_700_200_000),
        initial_balance: "800".into(),
        shares_dst: "800000000000000000000".into(),
        unbonding_id: u64::MAX - 8,
        unbonding_on_hold_ref_count: -6,
    }
}

fn redelegation() -> staking::Redelegation {
    staking::Redelegation {
        delegator_address: DELEGATOR.into(),
        validator_src_address: VALOPER.into(),
        validator_dst_address: "deaivaloper1other".into(),
        entries: vec![redelegation_entry()],
    }
}

fn staking_params() -> staking::Params {
    staking::Params {
        unbonding_time: Some(Duration {
            seconds: 1_814_400,
            nanos: 5,
        }),
        max_validators: u32::MAX - 1,
        max_entries: 7,
        historical_entries: 10_000,
        bond_denom: "udeai".into(),
        min_commission_rate: "50000000000000000".into(),
    }
}

/// One value of every message of the staking files, each with every field
/// set, by full name.
fn staking_messages() -> Vec<(&'static str, Vec<u8>)> {
    use staking::*;
    let v = validator;
    vec![
        (
            "HistoricalInfo",
            HistoricalInfo {
                header: Some(header()),
                valset: vec![v()],
            }
            .encode_to_vec(),
        ),
        ("CommissionRates", commission_rates().encode_to_vec()),
        ("Description", description().encode_to_vec()),
        ("Validator", v().encode_to_vec()),
        (
            "ValAddresses",
            ValAddresses {
                addresses: vec![VALOPER.into()],
            }
            .encode_to_vec(),
        ),
        (
            "DVPairs",
            DvPairs {
                pairs: vec![DvPair {
                    delegator_address: DELEGATOR.into(),
                    validator_address: VALOPER.into(),
                }],
            }
            .encode_to_vec(),
        ),
        (
            "DVVTriplets",
            DvvTriplets {
                triplets: vec![DvvTriplet {
                    delegator_address: DELEGATOR.into(),
                    validator_src_address: VALOPER.into(),
                    validator_dst_address: "deaivaloper1other".into(),
                }],
            }
            .encode_to_vec(),
        ),
        ("Delegation", delegation().encode_to_vec()),
        ("UnbondingDelegation", unbonding().encode_to_vec()),
        ("Redelegation", redelegation().encode_to_vec()),
        ("Params", staking_params().encode_to_vec()),
        ("DelegationResponse", delegation_response().encode_to_vec()),
        (
            "RedelegationResponse",
            RedelegationResponse {
                redelegation: Some(redelegation()),
                entries: vec![RedelegationEntryResponse {
                    redelegation_entry: Some(redelegation_entry()),
                    balance: "800".into(),
                }],
            }
            .encode_to_vec(),
        ),
        (
            "Pool",
            Pool {
                not_bonded_tokens: "1".into(),
                bonded_tokens: "2".into(),
            }
            .encode_to_vec(),
        ),
        (
            "ValidatorUpdates",
            ValidatorUpdates {
                updates: vec![ValidatorUpdate {
                    pub_key: Some(PublicKey {
                        sum: Some(public_key::Sum::Ed25519(vec![9; 32])),
                    }),
                    power: -10,
                }],
            }
            .encode_to_vec(),
        ),
        (
            "QueryValidatorsRequest",
            QueryValidatorsRequest {
                status: "BOND_STATUS_BONDED".into(),
                pagination: page_request(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryValidatorsResponse",
            QueryValidatorsResponse {
                validators: vec![v(), v()],
                pagination: page_response(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryValidatorRequest",
            QueryValidatorRequest {
                validator_addr: VALOPER.into(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryValidatorResponse",
            QueryValidatorResponse {
                validator: Some(v()),
            }
            .encode_to_vec(),
        ),
        (
            "QueryValidatorDelegationsRequest",
            QueryValidatorDelegationsRequest {
                validator_addr: VALOPER.into(),
                pagination: page_request(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryValidatorDelegationsResponse",
            QueryValidatorDelegationsResponse {
                delegation_responses: vec![delegation_response()],
                pagination: page_response(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryValidatorUnbondingDelegationsRequest",
            QueryValidatorUnbondingDelegationsRequest {
                validator_addr: VALOPER.into(),
                pagination: page_request(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryValidatorUnbondingDelegationsResponse",
            QueryValidatorUnbondingDelegationsResponse {
                unbonding_responses: vec![unbonding()],
                pagination: page_response(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegationRequest",
            QueryDelegationRequest {
                delegator_addr: DELEGATOR.into(),
                validator_addr: VALOPER.into(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegationResponse",
            QueryDelegationResponse {
                delegation_response: Some(delegation_response()),
            }
            .encode_to_vec(),
        ),
        (
            "QueryUnbondingDelegationRequest",
            QueryUnbondingDelegationRequest {
                delegator_addr: DELEGATOR.into(),
                validator_addr: VALOPER.into(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryUnbondingDelegationResponse",
            QueryUnbondingDelegationResponse {
                unbond: Some(unbonding()),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegatorDelegationsRequest",
            QueryDelegatorDelegationsRequest {
                delegator_addr: DELEGATOR.into(),
                pagination: page_request(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegatorDelegationsResponse",
            QueryDelegatorDelegationsResponse {
                delegation_responses: vec![delegation_response()],
                pagination: page_response(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegatorUnbondingDelegationsRequest",
            QueryDelegatorUnbondingDelegationsRequest {
                delegator_addr: DELEGATOR.into(),
                pagination: page_request(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegatorUnbondingDelegationsResponse",
            QueryDelegatorUnbondingDelegationsResponse {
                unbonding_responses: vec![unbonding()],
                pagination: page_response(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryRedelegationsRequest",
            QueryRedelegationsRequest {
                delegator_addr: DELEGATOR.into(),
                src_validator_addr: VALOPER.into(),
                dst_validator_addr: "deaivaloper1other".into(),
                pagination: page_request(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryRedelegationsResponse",
            QueryRedelegationsResponse {
                redelegation_responses: vec![RedelegationResponse {
                    redelegation: Some(redelegation()),
                    entries: vec![RedelegationEntryResponse {
                        redelegation_entry: Some(redelegation_entry()),
                        balance: "800".into(),
                    }],
                }],
                pagination: page_response(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegatorValidatorsRequest",
            QueryDelegatorValidatorsRequest {
                delegator_addr: DELEGATOR.into(),
                pagination: page_request(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegatorValidatorsResponse",
            QueryDelegatorValidatorsResponse {
                validators: vec![v()],
                pagination: page_response(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegatorValidatorRequest",
            QueryDelegatorValidatorRequest {
                delegator_addr: DELEGATOR.into(),
                validator_addr: VALOPER.into(),
            }
            .encode_to_vec(),
        ),
        (
            "QueryDelegatorValidatorResponse",
            QueryDelegatorValidatorResponse {
                validator: Some(v()),
            }
            .encode_to_vec(),
        ),
        (
            "QueryHistoricalInfoRequest",
            QueryHistoricalInfoRequest { height: -9 }.encode_to_vec(),
        ),
        (
            "QueryHistoricalInfoResponse",
            QueryHistoricalInfoResponse {
                hist: Some(HistoricalInfo {
                    header: Some(header()),
                    valset: vec![v()],
                }),
            }
            .encode_to_vec(),
        ),
        ("QueryPoolRequest", QueryPoolRequest {}.encode_to_vec()),
        (
            "QueryPoolResponse",
            QueryPoolResponse {
                pool: Some(Pool {
                    not_bonded_tokens: "1".into(),
                    bonded_tokens: "2".into(),
                }),
            }
            .encode_to_vec(),
        ),
        ("QueryParamsRequest", QueryParamsRequest {}.encode_to_vec()),
        (
            "QueryParamsResponse",
            QueryParamsResponse {
                params: Some(staking_params()),
            }
            .encode_to_vec(),
        ),
        (
            "MsgCreateValidatorResponse",
            MsgCreateValidatorResponse {}.encode_to_vec(),
        ),
        (
            "MsgEditValidatorResponse",
            MsgEditValidatorResponse {}.encode_to_vec(),
        ),
        (
            "MsgDelegateResponse",
            MsgDelegateResponse {}.encode_to_vec(),
        ),
        (
            "MsgBeginRedelegateResponse",
            MsgBeginRedelegateResponse {
                completion_time: ts(1_700_300_000),
            }
            .encode_to_vec(),
        ),
        (
            "MsgUndelegateResponse",
            MsgUndelegateResponse {
                completion_time: ts(1_700_300_000),
                amount: Some(coin("9")),
            }
            .encode_to_vec(),
        ),
        (
            "MsgCancelUnbondingDelegationResponse",
            MsgCancelUnbondingDelegationResponse {}.encode_to_vec(),
        ),
        (
            "MsgUpdateParamsResponse",
            MsgUpdateParamsResponse {}.encode_to_vec(),
        ),
    ]
}

/// Every `cosmos.staking.v1beta1.Msg` message with every field set, packed
/// as a tx carries them.
fn staking_msgs() -> Vec<Any> {
    use staking::*;
    vec![
        any(&MsgCreateValidator {
            description: Some(description()),
            commission: Some(commission_rates()),
            min_self_delegation: "1".into(),
            delegator_address: DELEGATOR.into(),
            validator_address: VALOPER.into(),
            pubkey: Some(ed25519_any()),
            value: Some(coin("1000000")),
        }),
        any(&MsgEditValidator {
            description: Some(description()),
            validator_address: VALOPER.into(),
            commission_rate: "150000000000000000".into(),
            min_self_delegation: "2".into(),
        }),
        any(&MsgDelegate {
            delegator_address: DELEGATOR.into(),
            validator_address: VALOPER.into(),
            amount: Some(coin("5")),
        }),
        any(&MsgBeginRedelegate {
            delegator_address: DELEGATOR.into(),
            validator_src_address: VALOPER.into(),
            validator_dst_address: "deaivaloper1other".into(),
            amount: Some(coin("6")),
        }),
        any(&MsgUndelegate {
            delegator_address: DELEGATOR.into(),
            validator_address: VALOPER.into(),
            amount: Some(coin("7")),
        }),
        any(&MsgCancelUnbondingDelegation {
            delegator_address: DELEGATOR.into(),
            validator_address: VALOPER.into(),
            amount: Some(coin("8")),
            creation_height: -12,
        }),
        any(&MsgUpdateParams {
            authority: "deai1gov".into(),
            params: Some(staking_params()),
        }),
    ]
}

#[test]
fn every_staking_message_decodes_with_every_field_set() {
    let mut seen = BTreeSet::new();
    for (name, bytes) in staking_messages() {
        let full_name = format!("cosmos.staking.v1beta1.{name}");
        let dynamic = round_trip_bytes(&full_name, bytes);
        assert_every_field_set_deep(&dynamic, &full_name, &mut seen);
    }
    // The messages, in a tx as a wallet signs them.
    let mut tx = signed_tx();
    tx.body.as_mut().expect("the tx has a body").messages = staking_msgs();
    let dynamic = round_trip("cosmos.tx.v1beta1.Tx", &tx);
    let body = dynamic
        .get_field_by_name("body")
        .and_then(|v| v.as_message().cloned())
        .expect("the body is set");
    let messages = body
        .get_field_by_name("messages")
        .and_then(|v| v.as_list().map(<[Value]>::to_vec))
        .expect("the body has messages");
    for (i, m) in messages.iter().enumerate() {
        let m = m.as_message().expect("a message is an Any");
        assert_every_field_set_deep(m, &format!("tx.body.messages[{i}]"), &mut seen);
    }

    // Nothing in the staking files escapes the checks above.
    let pool = descriptor_pool();
    let mut declared = BTreeSet::new();
    for file in pool.files() {
        if file.package_name() == "cosmos.staking.v1beta1" {
            declared.extend(file.messages().map(|m| m.full_name().to_owned()));
        }
    }
    assert!(declared.len() > 50, "only {declared:?} declared");
    let missed: Vec<&String> = declared.difference(&seen).collect();
    assert!(missed.is_empty(), "not checked: {missed:?}");
}

#[test]
fn staking_records_serialise_as_the_sdk_lcd_writes_them() {
    // Decimals travel as 10⁻¹⁸ units and are written as the SDK's gateway
    // writes them ("0.100000000000000000"), by their cosmos.Dec option.
    let answer = staking::QueryValidatorResponse {
        validator: Some(validator()),
    };
    let dynamic = round_trip("cosmos.staking.v1beta1.QueryValidatorResponse", &answer);
    assert_eq!(
        deai_proto::to_lcd_json(&dynamic).expect("the answer serialises"),
        serde_json::json!({
            "validator": {
                "operator_address": VALOPER,
                "consensus_pubkey": {
                    "@type": "/cosmos.crypto.ed25519.PubKey",
                    "key": "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="
                },
                "jailed": true,
                "status": "BOND_STATUS_BONDED",
                "tokens": "1000000",
                "delegator_shares": "1000000.000000000000000000",
                "description": {
                    "moniker": "node0",
                    "identity": "ABCD1234",
                    "website": "https://deai.example",
                    "security_contact": "ops@deai.example",
                    "details": "A validator."
                },
                "unbonding_height": "-5",
                "unbonding_time": "2023-11-14T22:13:20.000000007Z",
                "commission": {
                    "commission_rates": {
                        "rate": "0.100000000000000000",
                        "max_rate": "0.200000000000000000",
                        "max_change_rate": "0.010000000000000000"
                    },
                    "update_time": "2023-11-14T22:13:21.000000007Z"
                },
                "min_self_delegation": "1",
                "unbonding_on_hold_ref_count": "-2",
                "unbonding_ids": ["18446744073709551614", "3"]
            }
        })
    );
    let answer = staking::QueryDelegatorUnbondingDelegationsResponse {
        unbonding_responses: vec![unbonding()],
        pagination: page_response(),
    };
    let dynamic = round_trip(
        "cosmos.staking.v1beta1.QueryDelegatorUnbondingDelegationsResponse",
        &answer,
    );
    assert_eq!(
        deai_proto::to_lcd_json(&dynamic).expect("the answer serialises"),
        serde_json::json!({
            "unbonding_responses": [{
                "delegator_address": DELEGATOR,
                "validator_address": VALOPER,
                "entries": [{
                    "creation_height": "-3",
                    "completion_time": "2023-11-16T02:00:00.000000007Z",
                    "initial_balance": "700",
                    "balance": "600",
                    "unbonding_id": "18446744073709551608",
                    "unbonding_on_hold_ref_count": "-1"
                }]
            }],
            "pagination": {"next_key": "bmV4dA==", "total": "3"}
        })
    );
    let answer = staking::QueryParamsResponse {
        params: Some(staking_params()),
    };
    let dynamic = round_trip("cosmos.staking.v1beta1.QueryParamsResponse", &answer);
    assert_eq!(
        deai_proto::to_lcd_json(&dynamic).expect("the answer serialises"),
        serde_json::json!({
            "params": {
                "unbonding_time": "1814400.000000005s",
                "max_validators": 4294967294u32,
                "max_entries": 7,
                "historical_entries": 10000,
                "bond_denom": "udeai",
                "min_commission_rate": "0.050000000000000000"
            }
        })
    );
}

#[test]
fn the_staking_rest_routes_are_the_sdks() {
    let pool = descriptor_pool();
    let service = pool
        .get_service_by_name("cosmos.staking.v1beta1.Query")
        .expect("the staking Query service is declared");
    let routes = rest_routes(std::iter::once(service));
    let want: BTreeSet<(String, String)> = [
        "/cosmos/staking/v1beta1/validators",
        "/cosmos/staking/v1beta1/validators/{validator_addr}",
        "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations",
        "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations/{delegator_addr}",
        "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations/{delegator_addr}/unbonding_delegation",
        "/cosmos/staking/v1beta1/validators/{validator_addr}/unbonding_delegations",
        "/cosmos/staking/v1beta1/delegations/{delegator_addr}",
        "/cosmos/staking/v1beta1/delegators/{delegator_addr}/redelegations",
        "/cosmos/staking/v1beta1/delegators/{delegator_addr}/unbonding_delegations",
        "/cosmos/staking/v1beta1/delegators/{delegator_addr}/validators",
        "/cosmos/staking/v1beta1/delegators/{delegator_addr}/validators/{validator_addr}",
        "/cosmos/staking/v1beta1/historical_info/{height}",
        "/cosmos/staking/v1beta1/pool",
        "/cosmos/staking/v1beta1/params",
    ]
    .into_iter()
    .map(|p| ("get".to_owned(), p.to_owned()))
    .collect();
    assert_eq!(routes, want);
    let msg = pool
        .get_service_by_name("cosmos.staking.v1beta1.Msg")
        .expect("the staking Msg service is declared");
    let methods: Vec<String> = msg.methods().map(|m| m.name().to_owned()).collect();
    assert_eq!(
        methods,
        [
            "CreateValidator",
            "EditValidator",
            "Delegate",
            "BeginRedelegate",
            "Undelegate",
            "CancelUnbondingDelegation",
            "UpdateParams"
        ]
    );
}

#[test]
fn slashing_messages_decode_with_every_field_set() {
    use cosmos_sdk_proto::cosmos::slashing::v1beta1 as slashing;
    let params = slashing::Params {
        signed_blocks_window: 100,
        min_signed_per_window: b"500000000000000000".to_vec(),
        downtime_jail_duration: Some(tendermint_proto::google::protobuf::Duration {
            seconds: 600,
            nanos: 1,
        }),
        slash_fraction_double_sign: b"50000000000000000".to_vec(),
        slash_fraction_downtime: b"10000000000000000".to_vec(),
    };
    let info = slashing::ValidatorSigningInfo {
        address: "deaivalcons1xyz".into(),
        start_height: 3,
        index_offset: 4,
        jailed_until: ts(1_700_000_000),
        tombstoned: true,
        missed_blocks_counter: 5,
    };
    for (name, msg) in [
        (
            "cosmos.slashing.v1beta1.QueryParamsResponse",
            round_trip(
                "cosmos.slashing.v1beta1.QueryParamsResponse",
                &slashing::QueryParamsResponse {
                    params: Some(params.clone()),
                },
            ),
        ),
        (
            "cosmos.slashing.v1beta1.QuerySigningInfoResponse",
            round_trip(
                "cosmos.slashing.v1beta1.QuerySigningInfoResponse",
                &slashing::QuerySigningInfoResponse {
                    val_signing_info: Some(info.clone()),
                },
            ),
        ),
        (
            "cosmos.slashing.v1beta1.MsgUpdateParams",
            round_trip(
                "cosmos.slashing.v1beta1.MsgUpdateParams",
                &slashing::MsgUpdateParams {
                    authority: "deai1gov".into(),
                    params: Some(params.clone()),
                },
            ),
        ),
        (
            "cosmos.slashing.v1beta1.MsgUnjail",
            round_trip(
                "cosmos.slashing.v1beta1.MsgUnjail",
                &slashing::MsgUnjail {
                    validator_addr: "deaivaloper1xyz".into(),
                },
            ),
        ),
    ] {
        assert_every_field_set(&msg);
        assert_eq!(msg.descriptor().full_name(), name);
    }
}

#[test]
fn slashing_params_decimals_are_written_as_the_sdk_gateway_writes_them() {
    use cosmos_sdk_proto::cosmos::slashing::v1beta1 as slashing;
    let msg = round_trip(
        "cosmos.slashing.v1beta1.QueryParamsResponse",
        &slashing::QueryParamsResponse {
            params: Some(slashing::Params {
                signed_blocks_window: 100,
                min_signed_per_window: b"500000000000000000".to_vec(),
                downtime_jail_duration: Some(tendermint_proto::google::protobuf::Duration {
                    seconds: 600,
                    nanos: 0,
                }),
                slash_fraction_double_sign: b"50000000000000000".to_vec(),
                slash_fraction_downtime: b"10000000000000000".to_vec(),
            }),
        },
    );
    let json = deai_proto::to_lcd_json(&msg).unwrap();
    assert_eq!(
        json["params"]["min_signed_per_window"],
        "0.500000000000000000"
    );
    assert_eq!(
        json["params"]["slash_fraction_double_sign"],
        "0.050000000000000000"
    );
    assert_eq!(json["params"]["signed_blocks_window"], "100");
}

#[test]
fn decimals_read_back_from_the_sdk_json_to_their_wire_form() {
    use cosmos_sdk_proto::cosmos::staking::v1beta1 as staking;
    let desc = message("cosmos.staking.v1beta1.CommissionRates");
    let rates = staking::CommissionRates {
        rate: "100000000000000000".into(),
        max_rate: "1000000000000000000".into(),
        max_change_rate: "1".into(),
    };
    let msg = round_trip("cosmos.staking.v1beta1.CommissionRates", &rates);
    let json = deai_proto::to_lcd_json(&msg).unwrap();
    assert_eq!(json["rate"], "0.100000000000000000");
    assert_eq!(json["max_rate"], "1.000000000000000000");
    assert_eq!(json["max_change_rate"], "0.000000000000000001");
    let back = deai_proto::from_lcd_json(desc.clone(), &json).unwrap();
    assert_eq!(back.encode_to_vec(), rates.encode_to_vec());
    // As people write them.
    let typed = serde_json::json!({"rate": "0.1", "max_rate": "1", "max_change_rate": "0.000000000000000001"});
    let back = deai_proto::from_lcd_json(desc.clone(), &typed).unwrap();
    assert_eq!(back.encode_to_vec(), rates.encode_to_vec());
    // Too many decimals or not a number: left for the chain to refuse.
    let odd = serde_json::json!({"rate": "0.1234567890123456789", "max_rate": "x", "max_change_rate": "1e5"});
    let back = deai_proto::from_lcd_json(desc, &odd).unwrap();
    let r = staking::CommissionRates::decode(back.encode_to_vec().as_slice()).unwrap();
    assert_eq!(r.rate, "0.1234567890123456789");
    assert_eq!(r.max_rate, "x");
}
