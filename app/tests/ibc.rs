//! IBC through the real [`App`] on RocksDB: a relayer's signed
//! `MsgCreateClient` creates a 07-tendermint client, and `abci_query` of
//! `store/ibc/key` answers its state with the two ICS-23 proofs a
//! counterparty's client checks (the path in the IBC substore, then the
//! substore's root under `ibc` in the main tree) against the app hash of
//! that height; a path never written gets proofs of its absence. ibc-go's
//! query services answer what relayers ask over gRPC from the same state,
//! at the height asked for, with the chain id's revision.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use deai_app::App;
use deai_auth::AuthRead;
use deai_client::tx::{any, sign_tx, Key, TxParams};
use deai_types::{module::BlockTime, Coin};
use ibc::{
    clients::tendermint::types::{
        AllowUpdate, ClientState as TmClientState, ConsensusState as TmConsensusState,
        TrustThreshold,
    },
    core::{
        client::types::Height,
        commitment_types::{commitment::CommitmentRoot, specs::ProofSpecs},
        host::types::identifiers::ChainId,
    },
};
use ibc_proto::ibc::core::{
    channel::v1 as chan,
    client::v1::{self as client, MsgCreateClient},
    commitment::v1::MerklePrefix,
    connection::v1 as conn,
};
use prost::Message;
use serde_json::json;

const CHAIN: &str = "deai-1";
const NOW: i64 = 1_750_000_000;

fn create_client(signer: &str) -> MsgCreateClient {
    let client = TmClientState::new(
        ChainId::new("counterparty-1").unwrap(),
        TrustThreshold::ONE_THIRD,
        Duration::from_secs(14 * 24 * 3600),
        Duration::from_secs(21 * 24 * 3600),
        Duration::from_secs(10),
        Height::new(1, 10).unwrap(),
        ProofSpecs::cosmos(),
        vec!["upgrade".into(), "upgradedIBCState".into()],
        AllowUpdate {
            after_expiry: false,
            after_misbehaviour: false,
        },
    )
    .unwrap();
    let consensus = TmConsensusState::new(
        CommitmentRoot::from_bytes(&[1; 32]),
        tendermint::Time::from_unix_timestamp(NOW - 60, 0).unwrap(),
        tendermint::Hash::Sha256([2; 32]),
    );
    MsgCreateClient {
        client_state: Some(
            ibc::clients::tendermint::client_state::ClientState::from(client).into(),
        ),
        consensus_state: Some(
            ibc::clients::tendermint::consensus_state::ConsensusState::from(consensus).into(),
        ),
        signer: signer.into(),
    }
}

/// Runs one block of `txs` and commits it; its time is NOW plus its height.
fn block(app: &mut App, txs: Vec<Vec<u8>>) -> deai_app::BlockOutcome {
    let height = app.last_height() + 1;
    let info = deai_app::BlockInfo {
        time: BlockTime {
            seconds: NOW + i64::try_from(height).unwrap(),
            nanos: 0,
        },
        ..deai_app::BlockInfo::at(height)
    };
    let txs: Vec<bytes::Bytes> = txs.into_iter().map(bytes::Bytes::from).collect();
    let out = app.finalize_block(&info, &txs).unwrap();
    app.commit().unwrap();
    out
}

/// Signs `msgs` as `key` and runs them in a block of their own, which must
/// accept them.
fn relay(app: &mut App, key: &Key, msgs: Vec<cosmos_sdk_proto::Any>) -> deai_app::BlockOutcome {
    let acc = app
        .storage()
        .latest_snapshot()
        .account(&key.address())
        .unwrap()
        .unwrap();
    let tx = sign_tx(
        key,
        msgs,
        &TxParams {
            chain_id: CHAIN.into(),
            account_number: acc.account_number,
            sequence: acc.sequence,
            fee: Some(Coin::new(5_000, "udeai")),
            gas_limit: 500_000,
            memo: String::new(),
        },
    );
    let out = block(app, vec![tx]);
    assert_eq!(out.tx_results[0].code, 0, "{}", out.tx_results[0].log);
    out
}

/// A chain whose genesis funds `relayer`, one empty block in.
fn chain(relayer: &Key) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(dir.path()).unwrap();
    let genesis = json!({
        "bank": {"balances": [{"address": relayer.address().to_bech32(),
            "coins": [{"denom": "udeai", "amount": "1000000000"}]}]},
    });
    app.init_chain(CHAIN, 1, &serde_json::to_vec(&genesis).unwrap())
        .unwrap();
    block(&mut app, Vec::new());
    (dir, app)
}

#[test]
fn a_client_created_by_a_relayer_is_proven_to_a_counterparty_against_the_app_hash() {
    let relayer = Key::from_label("ibc-relayer");
    let (_dir, mut app) = chain(&relayer);
    let msg = create_client(&relayer.address().to_bech32());
    let out = relay(
        &mut app,
        &relayer,
        vec![any("/ibc.core.client.v1.MsgCreateClient", &msg)],
    );
    assert!(out.tx_results[0]
        .events
        .iter()
        .any(|e| e.kind == "create_client"));
    let height = app.last_height();
    let root: [u8; 32] = app.last_app_hash().unwrap().try_into().unwrap();

    // As a relayer asks: store/ibc/key with the ICS-24 path, proven.
    let path = b"clients/07-tendermint-0/clientState";
    let answer = app.querier().query("store/ibc/key", path, height, true);
    assert_eq!(answer.code, 0, "{}", answer.log);
    assert_eq!(answer.value, msg.client_state.unwrap().encode_to_vec());
    let proofs: Vec<ics23::CommitmentProof> = answer
        .proof_ops
        .iter()
        .map(|(_, _, data)| ics23::CommitmentProof::decode(data.as_slice()).unwrap())
        .collect();
    assert_eq!(proofs.len(), 2);
    assert_eq!(answer.proof_ops[1].1, b"ibc");
    assert!(deai_store::verify_ibc_membership(
        &root,
        &proofs,
        path,
        &answer.value
    ));
    assert!(!deai_store::verify_ibc_membership(
        &root,
        &proofs,
        path,
        b"another state"
    ));

    // A client never created: proven absent.
    let missing = b"clients/07-tendermint-9/clientState";
    let answer = app.querier().query("store/ibc/key", missing, height, true);
    assert_eq!(answer.code, 0, "{}", answer.log);
    assert!(answer.value.is_empty());
    let proofs: Vec<ics23::CommitmentProof> = answer
        .proof_ops
        .iter()
        .map(|(_, _, data)| ics23::CommitmentProof::decode(data.as_slice()).unwrap())
        .collect();
    assert!(deai_store::verify_ibc_non_membership(
        &root, &proofs, missing
    ));
}

/// Asks the app's query router `method` at `height`; the answer decoded,
/// or its (code, log).
fn ask<R: Message + Default>(
    app: &App,
    method: &str,
    req: &impl Message,
    height: u64,
) -> Result<R, (u32, String)> {
    let a = app
        .querier()
        .query(method, &req.encode_to_vec(), height, false);
    if a.code != 0 {
        return Err((a.code, a.log));
    }
    assert_eq!(a.height, height, "answered at the height asked");
    Ok(R::decode(a.value.as_slice()).unwrap())
}

#[test]
fn ibc_go_queries_answer_what_a_relayer_asks_at_the_height_it_asks() {
    let relayer = Key::from_label("ibc-relayer");
    let (_dir, mut app) = chain(&relayer);
    let before = app.last_height();
    let msg = create_client(&relayer.address().to_bech32());
    relay(
        &mut app,
        &relayer,
        vec![any("/ibc.core.client.v1.MsgCreateClient", &msg)],
    );
    let open_init = conn::MsgConnectionOpenInit {
        client_id: "07-tendermint-0".into(),
        counterparty: Some(conn::Counterparty {
            client_id: "07-tendermint-7".into(),
            connection_id: String::new(),
            prefix: Some(MerklePrefix {
                key_prefix: b"ibc".to_vec(),
            }),
        }),
        version: None,
        delay_period: 0,
        signer: relayer.address().to_bech32(),
    };
    relay(
        &mut app,
        &relayer,
        vec![any(
            "/ibc.core.connection.v1.MsgConnectionOpenInit",
            &open_init,
        )],
    );
    let h = app.last_height();
    // "deai-1": revision 1.
    let at_h = Some(client::Height {
        revision_number: 1,
        revision_height: h,
    });

    let cs: client::QueryClientStateResponse = ask(
        &app,
        "/ibc.core.client.v1.Query/ClientState",
        &client::QueryClientStateRequest {
            client_id: "07-tendermint-0".into(),
        },
        h,
    )
    .unwrap();
    assert_eq!(cs.client_state, msg.client_state);
    assert_eq!(cs.proof_height, at_h);
    // The bytes a relayer proves over store/ibc/key are the same.
    let stored = app.querier().query(
        "store/ibc/key",
        b"clients/07-tendermint-0/clientState",
        h,
        false,
    );
    assert_eq!(stored.value, cs.client_state.unwrap().encode_to_vec());

    let all: client::QueryClientStatesResponse = ask(
        &app,
        "/ibc.core.client.v1.Query/ClientStates",
        &client::QueryClientStatesRequest { pagination: None },
        h,
    )
    .unwrap();
    assert_eq!(all.client_states.len(), 1);
    assert_eq!(all.client_states[0].client_id, "07-tendermint-0");
    // Before the client existed: none listed, and not found.
    let earlier: client::QueryClientStatesResponse = ask(
        &app,
        "/ibc.core.client.v1.Query/ClientStates",
        &client::QueryClientStatesRequest { pagination: None },
        before,
    )
    .unwrap();
    assert!(earlier.client_states.is_empty());
    let (code, log) = ask::<client::QueryClientStateResponse>(
        &app,
        "/ibc.core.client.v1.Query/ClientState",
        &client::QueryClientStateRequest {
            client_id: "07-tendermint-0".into(),
        },
        before,
    )
    .unwrap_err();
    assert_eq!(code, 22, "{log}");

    // Its consensus state, a minute older than the blocks, is within the
    // trusting period: active at this block's time.
    let status: client::QueryClientStatusResponse = ask(
        &app,
        "/ibc.core.client.v1.Query/ClientStatus",
        &client::QueryClientStatusRequest {
            client_id: "07-tendermint-0".into(),
        },
        h,
    )
    .unwrap();
    assert_eq!(status.status, "Active");
    let latest: client::QueryConsensusStateResponse = ask(
        &app,
        "/ibc.core.client.v1.Query/ConsensusState",
        &client::QueryConsensusStateRequest {
            client_id: "07-tendermint-0".into(),
            latest_height: true,
            ..Default::default()
        },
        h,
    )
    .unwrap();
    assert_eq!(latest.consensus_state, msg.consensus_state);
    let heights: client::QueryConsensusStateHeightsResponse = ask(
        &app,
        "/ibc.core.client.v1.Query/ConsensusStateHeights",
        &client::QueryConsensusStateHeightsRequest {
            client_id: "07-tendermint-0".into(),
            pagination: None,
        },
        h,
    )
    .unwrap();
    assert_eq!(
        heights.consensus_state_heights,
        [client::Height {
            revision_number: 1,
            revision_height: 10
        }]
    );

    let conns: conn::QueryConnectionsResponse = ask(
        &app,
        "/ibc.core.connection.v1.Query/Connections",
        &conn::QueryConnectionsRequest { pagination: None },
        h,
    )
    .unwrap();
    assert_eq!(conns.connections.len(), 1);
    assert_eq!(
        (conns.connections[0].id.as_str(), conns.connections[0].state),
        ("connection-0", conn::State::Init as i32)
    );
    assert_eq!(conns.height, at_h);
    let of_client: conn::QueryClientConnectionsResponse = ask(
        &app,
        "/ibc.core.connection.v1.Query/ClientConnections",
        &conn::QueryClientConnectionsRequest {
            client_id: "07-tendermint-0".into(),
        },
        h,
    )
    .unwrap();
    assert_eq!(of_client.connection_paths, ["connection-0"]);
    let client_of: conn::QueryConnectionClientStateResponse = ask(
        &app,
        "/ibc.core.connection.v1.Query/ConnectionClientState",
        &conn::QueryConnectionClientStateRequest {
            connection_id: "connection-0".into(),
        },
        h,
    )
    .unwrap();
    assert_eq!(
        client_of.identified_client_state.unwrap().client_id,
        "07-tendermint-0"
    );

    // No channel yet (no application owns a port): empty lists, not found.
    let channels: chan::QueryChannelsResponse = ask(
        &app,
        "/ibc.core.channel.v1.Query/Channels",
        &chan::QueryChannelsRequest { pagination: None },
        h,
    )
    .unwrap();
    assert!(channels.channels.is_empty());
    assert_eq!(channels.height, at_h);
    let (code, _) = ask::<chan::QueryUnreceivedPacketsResponse>(
        &app,
        "/ibc.core.channel.v1.Query/UnreceivedPackets",
        &chan::QueryUnreceivedPacketsRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
            packet_commitment_sequences: vec![1, 2],
        },
        h,
    )
    .unwrap_err();
    assert_eq!(code, 22);
    // Too many sequences: refused as invalid, whatever the channel.
    let (code, log) = ask::<chan::QueryUnreceivedPacketsResponse>(
        &app,
        "/ibc.core.channel.v1.Query/UnreceivedPackets",
        &chan::QueryUnreceivedPacketsRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
            packet_commitment_sequences: (1..=10_001).collect(),
        },
        h,
    )
    .unwrap_err();
    assert_eq!(code, 18, "{log}");
    assert!(log.contains("at most 10000"), "{log}");
}

#[test]
fn the_node_config_a_relayer_asks_over_abci_query_is_the_chains_minimum_gas_price() {
    use cosmos_sdk_proto::cosmos::base::node::v1beta1::{ConfigRequest, ConfigResponse};
    let relayer = Key::from_label("ibc-relayer");
    let (_dir, mut app) = chain(&relayer);
    block(&mut app, Vec::new());
    let height = app.querier().query("store/ibc/key", b"", 0, false).height;
    let r: ConfigResponse = ask(
        &app,
        "/cosmos.base.node.v1beta1.Service/Config",
        &ConfigRequest {},
        height,
    )
    .unwrap();
    assert_eq!(r.minimum_gas_price, "0.010000000000000000udeai");
    let bad = app.querier().query(
        "/cosmos.base.node.v1beta1.Service/Config",
        &[0xff],
        0,
        false,
    );
    assert_ne!(bad.code, 0);
}
