//! ibc-go's core queries over state the host wrote: answers at the queried
//! height with the chain's revision, listings that page by key without
//! losing or repeating an entry, and what a caller controls (page limits,
//! sequence lists, identifiers) bounded and checked.

use std::time::Duration;

use deai_types::{module::BlockTime, MemState, QueryError, StateWrite};
use ibc::{
    clients::tendermint::{
        client_state::ClientState as TmClientState,
        consensus_state::ConsensusState as TmConsensusState,
        types::{
            AllowUpdate, ClientState as TmClientStateType, ConsensusState as TmConsensusStateType,
            TrustThreshold,
        },
    },
    core::{
        client::{context::ClientExecutionContext, types::Height},
        commitment_types::{commitment::CommitmentRoot, specs::ProofSpecs},
        host::types::{
            identifiers::{ChainId, ChannelId, ClientId, ConnectionId, PortId, Sequence},
            path::{
                AckPath, ChannelEndPath, ClientConnectionPath, ClientConsensusStatePath,
                ClientStatePath, CommitmentPath, ConnectionPath, ReceiptPath, SeqRecvPath,
                SeqSendPath,
            },
        },
    },
};
use ibc_proto::{
    cosmos::base::query::v1beta1::PageRequest,
    ibc::core::{
        channel::v1 as chan, client::v1 as client, commitment::v1::MerklePrefix,
        connection::v1 as conn,
    },
};
use prost::Message;

use crate::{
    host::{HostBlock, IbcHost},
    query::{query, At, MAX_SEQUENCES},
    state_key as key,
};

const HEIGHT: u64 = 42;
const NOW: i64 = 1_750_000_000;
const AT: At<'static> = At {
    height: HEIGHT,
    chain_id: "deai-3",
};

fn ask<Resp: Message + Default>(
    state: &MemState,
    method: &str,
    req: &impl Message,
) -> Result<Resp, QueryError> {
    let bytes = query(state, method, &req.encode_to_vec(), AT).expect("a method served here")?;
    Ok(Resp::decode(bytes.as_slice()).unwrap())
}

fn at_height() -> Option<client::Height> {
    Some(client::Height {
        revision_number: 3,
        revision_height: HEIGHT,
    })
}

fn put(state: &mut MemState, path: &impl std::fmt::Display, value: Vec<u8>) {
    state.put_raw(key::provable(path), value).unwrap();
}

fn host(state: &mut MemState) -> IbcHost<&mut MemState> {
    IbcHost::new(
        state,
        HostBlock {
            height: HEIGHT,
            time: BlockTime {
                seconds: NOW,
                nanos: 0,
            },
            chain_id: ChainId::new("deai-3").unwrap(),
        },
    )
}

/// A client of `counterparty-1` at latest height 1-`latest`, frozen or not,
/// with consensus states at 1-`h` for each of `heights`, the newest at
/// time `newest`.
fn add_client(state: &mut MemState, id: &str, latest: u64, heights: &[u64], frozen: bool) {
    let mut cs = TmClientStateType::new(
        ChainId::new("counterparty-1").unwrap(),
        TrustThreshold::ONE_THIRD,
        Duration::from_secs(14 * 24 * 3600),
        Duration::from_secs(21 * 24 * 3600),
        Duration::from_secs(10),
        Height::new(1, latest).unwrap(),
        ProofSpecs::cosmos(),
        vec!["upgrade".into(), "upgradedIBCState".into()],
        AllowUpdate {
            after_expiry: false,
            after_misbehaviour: false,
        },
    )
    .unwrap();
    if frozen {
        cs = cs.with_frozen_height(Height::new(1, 1).unwrap());
    }
    let id: ClientId = id.parse().unwrap();
    let mut h = host(state);
    h.store_client_state(ClientStatePath::new(id.clone()), TmClientState::from(cs))
        .unwrap();
    for &height in heights {
        let time = tendermint::Time::from_unix_timestamp(NOW - 60, 0).unwrap();
        let consensus = TmConsensusStateType::new(
            CommitmentRoot::from_bytes(&[height as u8; 32]),
            time,
            tendermint::Hash::Sha256([2; 32]),
        );
        h.store_consensus_state(
            ClientConsensusStatePath::new(id.clone(), 1, height),
            TmConsensusState::from(consensus),
        )
        .unwrap();
    }
}

fn add_connection(state: &mut MemState, id: &str, client_id: &str) {
    let end = conn::ConnectionEnd {
        client_id: client_id.into(),
        versions: vec![conn::Version {
            identifier: "1".into(),
            features: vec!["ORDER_ORDERED".into(), "ORDER_UNORDERED".into()],
        }],
        state: conn::State::Open as i32,
        counterparty: Some(conn::Counterparty {
            client_id: "07-tendermint-7".into(),
            connection_id: "connection-9".into(),
            prefix: Some(MerklePrefix {
                key_prefix: b"ibc".to_vec(),
            }),
        }),
        delay_period: 0,
    };
    let id: ConnectionId = id.parse().unwrap();
    put(state, &ConnectionPath::new(&id), end.encode_to_vec());
    let client_id: ClientId = client_id.parse().unwrap();
    let path = ClientConnectionPath::new(client_id);
    let mut paths = state
        .0
        .get(&key::provable(&path))
        .map(|b| conn::ClientPaths::decode(b.as_slice()).unwrap())
        .unwrap_or_default();
    paths.paths.push(id.to_string());
    put(state, &path, paths.encode_to_vec());
}

fn add_channel(state: &mut MemState, port: &str, ch: &str, connection: &str, ordered: bool) {
    let c = chan::Channel {
        state: chan::State::Open as i32,
        ordering: if ordered {
            chan::Order::Ordered
        } else {
            chan::Order::Unordered
        } as i32,
        counterparty: Some(chan::Counterparty {
            port_id: port.into(),
            channel_id: "channel-5".into(),
        }),
        connection_hops: vec![connection.into()],
        version: "ics20-1".into(),
        upgrade_sequence: 0,
    };
    let (port, ch) = ids(port, ch);
    put(state, &ChannelEndPath::new(&port, &ch), c.encode_to_vec());
    put(
        state,
        &SeqSendPath::new(&port, &ch),
        7u64.to_be_bytes().to_vec(),
    );
    put(
        state,
        &SeqRecvPath::new(&port, &ch),
        5u64.to_be_bytes().to_vec(),
    );
}

fn ids(port: &str, ch: &str) -> (PortId, ChannelId) {
    (port.parse().unwrap(), ch.parse().unwrap())
}

fn commit(state: &mut MemState, port: &str, ch: &str, seq: u64) {
    let (port, ch) = ids(port, ch);
    put(
        state,
        &CommitmentPath::new(&port, &ch, Sequence::from(seq)),
        vec![seq as u8; 32],
    );
}

fn page(key: &[u8], limit: u64) -> Option<PageRequest> {
    Some(PageRequest {
        key: key.to_vec(),
        limit,
        ..Default::default()
    })
}

fn assert_invalid(r: Result<impl std::fmt::Debug, QueryError>, words: &str) {
    let e = r.unwrap_err();
    assert_eq!((e.codespace, e.code), ("sdk", 18), "{e:?}");
    assert!(e.log.contains(words), "{e:?} should say {words:?}");
}

fn assert_not_found(r: Result<impl std::fmt::Debug, QueryError>) {
    let e = r.unwrap_err();
    assert_eq!((e.codespace, e.code), ("sdk", 22), "{e:?}");
}

#[test]
fn too_many_sequences_in_one_request_are_refused_before_any_is_read() {
    let mut s = MemState::default();
    add_channel(&mut s, "transfer", "channel-0", "connection-0", false);
    let too_many: Vec<u64> = (1..=MAX_SEQUENCES as u64 + 1).collect();
    let just_enough: Vec<u64> = (1..=MAX_SEQUENCES as u64).collect();
    let unreceived = |seqs: &[u64]| {
        ask::<chan::QueryUnreceivedPacketsResponse>(
            &s,
            "/ibc.core.channel.v1.Query/UnreceivedPackets",
            &chan::QueryUnreceivedPacketsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                packet_commitment_sequences: seqs.to_vec(),
            },
        )
    };
    assert_invalid(unreceived(&too_many), "at most 10000");
    assert_eq!(unreceived(&just_enough).unwrap().sequences, just_enough);
    assert_invalid(
        ask::<chan::QueryUnreceivedAcksResponse>(
            &s,
            "/ibc.core.channel.v1.Query/UnreceivedAcks",
            &chan::QueryUnreceivedAcksRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                packet_ack_sequences: too_many.clone(),
            },
        ),
        "at most 10000",
    );
    assert_invalid(
        ask::<chan::QueryPacketAcknowledgementsResponse>(
            &s,
            "/ibc.core.channel.v1.Query/PacketAcknowledgements",
            &chan::QueryPacketAcknowledgementsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                pagination: None,
                packet_commitment_sequences: too_many,
            },
        ),
        "at most 10000",
    );
}

#[test]
fn a_page_limit_past_the_maximum_is_capped_and_the_rest_follows_by_key() {
    let mut s = MemState::default();
    add_channel(&mut s, "transfer", "channel-0", "connection-0", false);
    for seq in 1..=1_005 {
        commit(&mut s, "transfer", "channel-0", seq);
    }
    let commitments = |key: &[u8], limit: u64| {
        ask::<chan::QueryPacketCommitmentsResponse>(
            &s,
            "/ibc.core.channel.v1.Query/PacketCommitments",
            &chan::QueryPacketCommitmentsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                pagination: page(key, limit),
            },
        )
        .unwrap()
    };
    // Hermes asks for u32::MAX entries at once.
    let first = commitments(b"", u64::from(u32::MAX));
    assert_eq!(first.commitments.len(), 1_000);
    assert_eq!(first.height, at_height());
    let next = first.pagination.unwrap().next_key;
    assert!(!next.is_empty());
    let rest = commitments(&next, u64::from(u32::MAX));
    assert_eq!(rest.commitments.len(), 5);
    assert!(rest.pagination.unwrap().next_key.is_empty());
    let mut all: Vec<u64> = first
        .commitments
        .iter()
        .chain(&rest.commitments)
        .map(|c| c.sequence)
        .collect();
    // Each page comes sorted by sequence.
    assert!(first
        .commitments
        .windows(2)
        .all(|w| w[0].sequence < w[1].sequence));
    all.sort_unstable();
    assert_eq!(all, (1..=1_005).collect::<Vec<_>>());
    assert_eq!(
        rest.commitments[0].data,
        vec![rest.commitments[0].sequence as u8; 32]
    );
    // No limit: the default page of 100.
    assert_eq!(commitments(b"", 0).commitments.len(), 100);
    // Offsets are not supported.
    assert_invalid(
        ask::<chan::QueryPacketCommitmentsResponse>(
            &s,
            "/ibc.core.channel.v1.Query/PacketCommitments",
            &chan::QueryPacketCommitmentsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                pagination: Some(PageRequest {
                    offset: 3,
                    ..Default::default()
                }),
            },
        ),
        "offset",
    );
}

#[test]
fn malformed_identifiers_are_refused_before_any_key_is_built() {
    let s = MemState::default();
    let long = "a".repeat(100_000);
    for (id, words) in [
        ("", "blank"),
        ("x", "client_id"),
        ("07-tendermint-0/../x", "client_id"),
        (long.as_str(), "100000 bytes"),
    ] {
        assert_invalid(
            ask::<client::QueryClientStateResponse>(
                &s,
                "/ibc.core.client.v1.Query/ClientState",
                &client::QueryClientStateRequest {
                    client_id: id.into(),
                },
            ),
            words,
        );
    }
    assert!(
        ask::<client::QueryClientStateResponse>(
            &s,
            "/ibc.core.client.v1.Query/ClientState",
            &client::QueryClientStateRequest {
                client_id: long.clone(),
            },
        )
        .unwrap_err()
        .log
        .len()
            < 200,
        "an error does not echo a long identifier"
    );
    for (port, ch) in [
        ("trans/fer", "channel-0"),
        ("transfer", "chan nel"),
        ("transfer", ""),
    ] {
        assert_invalid(
            ask::<chan::QueryChannelResponse>(
                &s,
                "/ibc.core.channel.v1.Query/Channel",
                &chan::QueryChannelRequest {
                    port_id: port.into(),
                    channel_id: ch.into(),
                },
            ),
            "_id",
        );
    }
    assert_invalid(
        ask::<conn::QueryConnectionResponse>(
            &s,
            "/ibc.core.connection.v1.Query/Connection",
            &conn::QueryConnectionRequest {
                connection_id: "connection-x/y".into(),
            },
        ),
        "connection_id",
    );
    assert_invalid(
        ask::<chan::QueryPacketCommitmentResponse>(
            &s,
            "/ibc.core.channel.v1.Query/PacketCommitment",
            &chan::QueryPacketCommitmentRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                sequence: 0,
            },
        ),
        "cannot be 0",
    );
    // A request that does not decode.
    let e = query(
        &s,
        "/ibc.core.client.v1.Query/ClientState",
        &[0xff, 0xff],
        AT,
    )
    .unwrap()
    .unwrap_err();
    assert_eq!(e.code, 18);
}

#[test]
fn clients_list_in_id_order_page_by_page_with_their_consensus_states_by_height() {
    let mut s = MemState::default();
    // Ids sort as text: -0, -1, -10, -2.
    for (id, heights) in [
        ("07-tendermint-0", vec![10, 2, 30]),
        ("07-tendermint-1", vec![5]),
        ("07-tendermint-10", vec![7]),
        ("07-tendermint-2", vec![9]),
    ] {
        add_client(&mut s, id, *heights.iter().max().unwrap(), &heights, false);
    }
    add_connection(&mut s, "connection-0", "07-tendermint-0");
    let list = |key: &[u8], limit: u64| {
        ask::<client::QueryClientStatesResponse>(
            &s,
            "/ibc.core.client.v1.Query/ClientStates",
            &client::QueryClientStatesRequest {
                pagination: page(key, limit),
            },
        )
        .unwrap()
    };
    let all = list(b"", 0);
    let ids: Vec<&str> = all
        .client_states
        .iter()
        .map(|c| c.client_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "07-tendermint-0",
            "07-tendermint-1",
            "07-tendermint-10",
            "07-tendermint-2"
        ]
    );
    assert!(all.pagination.unwrap().next_key.is_empty());
    assert_eq!(
        all.client_states[0].client_state.as_ref().unwrap().type_url,
        "/ibc.lightclients.tendermint.v1.ClientState"
    );
    // One at a time, by the key each page hands out.
    let mut key = Vec::new();
    let mut paged = Vec::new();
    loop {
        let p = list(&key, 1);
        paged.extend(p.client_states.into_iter().map(|c| c.client_id));
        key = p.pagination.unwrap().next_key;
        if key.is_empty() {
            break;
        }
    }
    assert_eq!(paged, ids);

    let one: client::QueryClientStateResponse = ask(
        &s,
        "/ibc.core.client.v1.Query/ClientState",
        &client::QueryClientStateRequest {
            client_id: "07-tendermint-10".into(),
        },
    )
    .unwrap();
    assert_eq!(one.client_state, all.client_states[2].client_state);
    assert_eq!(one.proof_height, at_height());

    // Heights ascending, numerically, across pages.
    let heights = |key: &[u8]| {
        ask::<client::QueryConsensusStateHeightsResponse>(
            &s,
            "/ibc.core.client.v1.Query/ConsensusStateHeights",
            &client::QueryConsensusStateHeightsRequest {
                client_id: "07-tendermint-0".into(),
                pagination: page(key, 2),
            },
        )
        .unwrap()
    };
    let first = heights(b"");
    let rest = heights(&first.pagination.unwrap().next_key);
    let hs: Vec<u64> = first
        .consensus_state_heights
        .iter()
        .chain(&rest.consensus_state_heights)
        .map(|h| h.revision_height)
        .collect();
    assert_eq!(hs, [2, 10, 30]);
    let states: client::QueryConsensusStatesResponse = ask(
        &s,
        "/ibc.core.client.v1.Query/ConsensusStates",
        &client::QueryConsensusStatesRequest {
            client_id: "07-tendermint-0".into(),
            pagination: None,
        },
    )
    .unwrap();
    assert_eq!(states.consensus_states.len(), 3);
    assert_eq!(
        states.consensus_states[2].height,
        Some(client::Height {
            revision_number: 1,
            revision_height: 30
        })
    );
    assert_invalid(
        ask::<client::QueryConsensusStatesResponse>(
            &s,
            "/ibc.core.client.v1.Query/ConsensusStates",
            &client::QueryConsensusStatesRequest {
                client_id: "07-tendermint-0".into(),
                pagination: page(b"short", 2),
            },
        ),
        "pagination.key",
    );

    // The latest consensus state is the client's latest height's.
    let latest: client::QueryConsensusStateResponse = ask(
        &s,
        "/ibc.core.client.v1.Query/ConsensusState",
        &client::QueryConsensusStateRequest {
            client_id: "07-tendermint-0".into(),
            latest_height: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        latest.consensus_state,
        states.consensus_states[2].consensus_state
    );
    assert_eq!(latest.proof_height, at_height());
    let at_10: client::QueryConsensusStateResponse = ask(
        &s,
        "/ibc.core.client.v1.Query/ConsensusState",
        &client::QueryConsensusStateRequest {
            client_id: "07-tendermint-0".into(),
            revision_number: 1,
            revision_height: 10,
            latest_height: false,
        },
    )
    .unwrap();
    assert_eq!(
        at_10.consensus_state,
        states.consensus_states[1].consensus_state
    );
    assert_not_found(ask::<client::QueryConsensusStateResponse>(
        &s,
        "/ibc.core.client.v1.Query/ConsensusState",
        &client::QueryConsensusStateRequest {
            client_id: "07-tendermint-0".into(),
            revision_number: 1,
            revision_height: 11,
            latest_height: false,
        },
    ));
    assert_not_found(ask::<client::QueryClientStateResponse>(
        &s,
        "/ibc.core.client.v1.Query/ClientState",
        &client::QueryClientStateRequest {
            client_id: "07-tendermint-99".into(),
        },
    ));
    let params: client::QueryClientParamsResponse = ask(
        &s,
        "/ibc.core.client.v1.Query/ClientParams",
        &client::QueryClientParamsRequest {},
    )
    .unwrap();
    assert_eq!(params.params.unwrap().allowed_clients, ["07-tendermint"]);
    assert_not_found(ask::<client::QueryUpgradedClientStateResponse>(
        &s,
        "/ibc.core.client.v1.Query/UpgradedClientState",
        &client::QueryUpgradedClientStateRequest {},
    ));
}

/// Staking's historical header of [`HEIGHT`], with block time `seconds`
/// (what the status query reads the time from).
fn block_time_at_height(state: &mut MemState, seconds: i64) {
    use deai_staking::historical::{HEADERS, SETS};
    let header = tendermint_proto::types::Header {
        chain_id: "deai-3".into(),
        height: HEIGHT as i64,
        time: Some(tendermint_proto::google::protobuf::Timestamp { seconds, nanos: 0 }),
        ..Default::default()
    };
    let mut record = HEIGHT.to_be_bytes().to_vec();
    record.extend(header.encode_to_vec());
    state
        .put_raw([HEADERS, &HEIGHT.to_be_bytes()].concat(), record)
        .unwrap();
    state
        .put_raw([SETS, &HEIGHT.to_be_bytes()].concat(), Vec::new())
        .unwrap();
}

#[test]
fn a_client_is_active_until_its_trusting_period_runs_out_and_frozen_once_frozen() {
    let mut s = MemState::default();
    add_client(&mut s, "07-tendermint-0", 10, &[10], false);
    add_client(&mut s, "07-tendermint-1", 10, &[10], true);
    let status = |s: &MemState, id: &str| {
        ask::<client::QueryClientStatusResponse>(
            s,
            "/ibc.core.client.v1.Query/ClientStatus",
            &client::QueryClientStatusRequest {
                client_id: id.into(),
            },
        )
        .map(|r| r.status)
    };
    // Without the block's time kept, the status cannot be told.
    assert_eq!(status(&s, "07-tendermint-0").unwrap(), "Unknown");
    block_time_at_height(&mut s, NOW);
    assert_eq!(status(&s, "07-tendermint-0").unwrap(), "Active");
    assert_eq!(status(&s, "07-tendermint-1").unwrap(), "Frozen");
    // The consensus state is a minute older than NOW; 14 days trust it.
    block_time_at_height(&mut s, NOW + 14 * 24 * 3600);
    assert_eq!(status(&s, "07-tendermint-0").unwrap(), "Expired");
    assert_not_found(status(&s, "07-tendermint-5"));
}

#[test]
fn connections_channels_and_their_clients_are_read_as_ibc_go_answers() {
    let mut s = MemState::default();
    add_client(&mut s, "07-tendermint-0", 10, &[10], false);
    add_client(&mut s, "07-tendermint-1", 12, &[12], false);
    add_connection(&mut s, "connection-0", "07-tendermint-0");
    add_connection(&mut s, "connection-1", "07-tendermint-1");
    add_connection(&mut s, "connection-2", "07-tendermint-0");
    add_channel(&mut s, "transfer", "channel-0", "connection-0", false);
    add_channel(&mut s, "transfer", "channel-1", "connection-1", false);
    add_channel(&mut s, "oracle", "channel-2", "connection-0", true);

    let conns: conn::QueryConnectionsResponse = ask(
        &s,
        "/ibc.core.connection.v1.Query/Connections",
        &conn::QueryConnectionsRequest { pagination: None },
    )
    .unwrap();
    let ids: Vec<(&str, &str)> = conns
        .connections
        .iter()
        .map(|c| (c.id.as_str(), c.client_id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("connection-0", "07-tendermint-0"),
            ("connection-1", "07-tendermint-1"),
            ("connection-2", "07-tendermint-0")
        ]
    );
    assert_eq!(conns.height, at_height());
    let one: conn::QueryConnectionResponse = ask(
        &s,
        "/ibc.core.connection.v1.Query/Connection",
        &conn::QueryConnectionRequest {
            connection_id: "connection-1".into(),
        },
    )
    .unwrap();
    assert_eq!(one.connection.unwrap().client_id, "07-tendermint-1");
    assert_eq!(one.proof_height, at_height());
    let of_client: conn::QueryClientConnectionsResponse = ask(
        &s,
        "/ibc.core.connection.v1.Query/ClientConnections",
        &conn::QueryClientConnectionsRequest {
            client_id: "07-tendermint-0".into(),
        },
    )
    .unwrap();
    assert_eq!(of_client.connection_paths, ["connection-0", "connection-2"]);
    let cs: conn::QueryConnectionClientStateResponse = ask(
        &s,
        "/ibc.core.connection.v1.Query/ConnectionClientState",
        &conn::QueryConnectionClientStateRequest {
            connection_id: "connection-1".into(),
        },
    )
    .unwrap();
    assert_eq!(
        cs.identified_client_state.unwrap().client_id,
        "07-tendermint-1"
    );
    let cons: conn::QueryConnectionConsensusStateResponse = ask(
        &s,
        "/ibc.core.connection.v1.Query/ConnectionConsensusState",
        &conn::QueryConnectionConsensusStateRequest {
            connection_id: "connection-1".into(),
            revision_number: 1,
            revision_height: 12,
        },
    )
    .unwrap();
    assert_eq!(cons.client_id, "07-tendermint-1");
    assert!(cons.consensus_state.is_some());
    let params: conn::QueryConnectionParamsResponse = ask(
        &s,
        "/ibc.core.connection.v1.Query/ConnectionParams",
        &conn::QueryConnectionParamsRequest {},
    )
    .unwrap();
    assert_eq!(
        params.params.unwrap().max_expected_time_per_block,
        30_000_000_000
    );
    assert_not_found(ask::<conn::QueryConnectionResponse>(
        &s,
        "/ibc.core.connection.v1.Query/Connection",
        &conn::QueryConnectionRequest {
            connection_id: "connection-7".into(),
        },
    ));

    let channels: chan::QueryChannelsResponse = ask(
        &s,
        "/ibc.core.channel.v1.Query/Channels",
        &chan::QueryChannelsRequest { pagination: None },
    )
    .unwrap();
    let names: Vec<(&str, &str)> = channels
        .channels
        .iter()
        .map(|c| (c.port_id.as_str(), c.channel_id.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("oracle", "channel-2"),
            ("transfer", "channel-0"),
            ("transfer", "channel-1")
        ]
    );
    assert_eq!(channels.channels[0].ordering, chan::Order::Ordered as i32);
    assert_eq!(channels.height, at_height());

    // connection-0's channels, one per page: a page can come back short of
    // its limit only at the end.
    let mut key = Vec::new();
    let mut on_0 = Vec::new();
    loop {
        let p: chan::QueryConnectionChannelsResponse = ask(
            &s,
            "/ibc.core.channel.v1.Query/ConnectionChannels",
            &chan::QueryConnectionChannelsRequest {
                connection: "connection-0".into(),
                pagination: page(&key, 1),
            },
        )
        .unwrap();
        on_0.extend(p.channels.into_iter().map(|c| c.channel_id));
        key = p.pagination.unwrap().next_key;
        if key.is_empty() {
            break;
        }
    }
    assert_eq!(on_0, ["channel-2", "channel-0"]);

    let cs: chan::QueryChannelClientStateResponse = ask(
        &s,
        "/ibc.core.channel.v1.Query/ChannelClientState",
        &chan::QueryChannelClientStateRequest {
            port_id: "transfer".into(),
            channel_id: "channel-1".into(),
        },
    )
    .unwrap();
    assert_eq!(
        cs.identified_client_state.unwrap().client_id,
        "07-tendermint-1"
    );
    assert_eq!(cs.proof_height, at_height());
    let cons: chan::QueryChannelConsensusStateResponse = ask(
        &s,
        "/ibc.core.channel.v1.Query/ChannelConsensusState",
        &chan::QueryChannelConsensusStateRequest {
            port_id: "oracle".into(),
            channel_id: "channel-2".into(),
            revision_number: 1,
            revision_height: 10,
        },
    )
    .unwrap();
    assert_eq!(cons.client_id, "07-tendermint-0");
    let next: chan::QueryNextSequenceSendResponse = ask(
        &s,
        "/ibc.core.channel.v1.Query/NextSequenceSend",
        &chan::QueryNextSequenceSendRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
        },
    )
    .unwrap();
    assert_eq!(
        (next.next_sequence_send, next.proof_height),
        (7, at_height())
    );
    let next: chan::QueryNextSequenceReceiveResponse = ask(
        &s,
        "/ibc.core.channel.v1.Query/NextSequenceReceive",
        &chan::QueryNextSequenceReceiveRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
        },
    )
    .unwrap();
    assert_eq!(next.next_sequence_receive, 5);
    assert_not_found(ask::<chan::QueryChannelResponse>(
        &s,
        "/ibc.core.channel.v1.Query/Channel",
        &chan::QueryChannelRequest {
            port_id: "transfer".into(),
            channel_id: "channel-9".into(),
        },
    ));
}

#[test]
fn packets_unreceived_and_acks_unrelayed_are_told_apart() {
    let mut s = MemState::default();
    add_channel(&mut s, "transfer", "channel-0", "connection-0", false);
    add_channel(&mut s, "oracle", "channel-1", "connection-0", true);
    let (port, ch) = ids("transfer", "channel-0");
    // Received here: 2 and 3; acknowledged here: 3 (an ack written).
    for seq in [2u64, 3] {
        put(
            &mut s,
            &ReceiptPath::new(&port, &ch, Sequence::from(seq)),
            vec![1],
        );
    }
    put(
        &mut s,
        &AckPath::new(&port, &ch, Sequence::from(3)),
        vec![9; 32],
    );
    // Sent from here and not yet acknowledged: 4 and 6.
    commit(&mut s, "transfer", "channel-0", 4);
    commit(&mut s, "transfer", "channel-0", 6);

    let unreceived = |port: &str, ch: &str| {
        ask::<chan::QueryUnreceivedPacketsResponse>(
            &s,
            "/ibc.core.channel.v1.Query/UnreceivedPackets",
            &chan::QueryUnreceivedPacketsRequest {
                port_id: port.into(),
                channel_id: ch.into(),
                packet_commitment_sequences: vec![1, 2, 3, 4, 5, 6],
            },
        )
    };
    let r = unreceived("transfer", "channel-0").unwrap();
    assert_eq!((r.sequences, r.height), (vec![1, 4, 5, 6], at_height()));
    // Ordered: everything from the next sequence to receive (5) on.
    assert_eq!(unreceived("oracle", "channel-1").unwrap().sequences, [5, 6]);
    assert_not_found(unreceived("transfer", "channel-7"));

    let acks: chan::QueryUnreceivedAcksResponse = ask(
        &s,
        "/ibc.core.channel.v1.Query/UnreceivedAcks",
        &chan::QueryUnreceivedAcksRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
            packet_ack_sequences: vec![3, 4, 5, 6],
        },
    )
    .unwrap();
    assert_eq!(acks.sequences, [4, 6]);

    let receipt = |seq| {
        ask::<chan::QueryPacketReceiptResponse>(
            &s,
            "/ibc.core.channel.v1.Query/PacketReceipt",
            &chan::QueryPacketReceiptRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                sequence: seq,
            },
        )
        .unwrap()
    };
    assert!(receipt(2).received);
    assert!(!receipt(4).received);
    assert_eq!(receipt(4).proof_height, at_height());

    let c: chan::QueryPacketCommitmentResponse = ask(
        &s,
        "/ibc.core.channel.v1.Query/PacketCommitment",
        &chan::QueryPacketCommitmentRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
            sequence: 6,
        },
    )
    .unwrap();
    assert_eq!(c.commitment, vec![6; 32]);
    assert_not_found(ask::<chan::QueryPacketCommitmentResponse>(
        &s,
        "/ibc.core.channel.v1.Query/PacketCommitment",
        &chan::QueryPacketCommitmentRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
            sequence: 5,
        },
    ));
    let a: chan::QueryPacketAcknowledgementResponse = ask(
        &s,
        "/ibc.core.channel.v1.Query/PacketAcknowledgement",
        &chan::QueryPacketAcknowledgementRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
            sequence: 3,
        },
    )
    .unwrap();
    assert_eq!(a.acknowledgement, vec![9; 32]);
    let acks = |seqs: Vec<u64>| {
        ask::<chan::QueryPacketAcknowledgementsResponse>(
            &s,
            "/ibc.core.channel.v1.Query/PacketAcknowledgements",
            &chan::QueryPacketAcknowledgementsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                pagination: None,
                packet_commitment_sequences: seqs,
            },
        )
        .unwrap()
    };
    let all = acks(vec![]);
    assert_eq!(
        all.acknowledgements
            .iter()
            .map(|a| a.sequence)
            .collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(all.height, at_height());
    // Filtered by the sequences named: only those with an ack.
    assert_eq!(acks(vec![1, 3, 4]).acknowledgements.len(), 1);
    assert!(acks(vec![1, 4]).acknowledgements.is_empty());
}

#[test]
fn methods_of_other_services_are_left_to_other_routers() {
    let s = MemState::default();
    for method in [
        "/cosmos.bank.v1beta1.Query/Balance",
        "/ibc.core.client.v1.Query/NoSuchMethod",
        "/ibc.applications.transfer.v1.Query/DenomTraces",
    ] {
        assert!(query(&s, method, &[], AT).is_none(), "{method}");
    }
}
