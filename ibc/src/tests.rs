//! The module over in-memory state, driven by the messages a relayer
//! sends: a 07-tendermint client of a counterparty is created and stored
//! as ibc-go stores it, a connection handshake begins on it, and what
//! ibc-rs refuses (an expired consensus state, an unknown client, a port no
//! application owns) changes nothing.

use std::time::Duration;

use cosmos_sdk_proto::Any;
use deai_types::{
    module::BlockTime, Address, Coin, Event, MemState, ModuleMsg, MsgError, MsgHost, StateRead,
    StateWrite,
};
use ibc::core::{
    channel::types::{
        channel::{ChannelEnd, Counterparty as ChanCounterparty, Order, State as ChanState},
        Version as ChanVersion,
    },
    commitment_types::commitment::CommitmentPrefix,
    connection::types::{
        version::Version as ConnVersion, ConnectionEnd, Counterparty as ConnCounterparty,
        State as ConnState,
    },
    host::{
        types::{
            identifiers::{ChannelId, ClientId, ConnectionId, PortId, Sequence},
            path::{ChannelEndPath, ConnectionPath, SeqAckPath, SeqRecvPath, SeqSendPath},
        },
        ExecutionContext,
    },
};
use ibc::{
    clients::tendermint::types::{
        AllowUpdate, ClientState as TmClientStateType, ConsensusState as TmConsensusStateType,
        TrustThreshold,
    },
    core::{
        client::types::Height,
        commitment_types::{commitment::CommitmentRoot, specs::ProofSpecs},
        host::types::identifiers::ChainId,
    },
};
use ibc_proto::{
    cosmos::base::v1beta1::Coin as ProtoCoin,
    ibc::{
        apps::transfer::v1::MsgTransfer,
        core::{
            channel::v1::{MsgRecvPacket, Packet as RawPacket},
            client::v1::{Height as RawHeight, MsgCreateClient},
            connection::v1::MsgConnectionOpenInit,
        },
    },
};
use prost::Message;

use crate::{
    host::{HostBlock, IbcHost},
    msg::IbcMsg,
    state_key as key,
};

mod bad_input;
mod compute;
mod misbehaviour;
mod transfer;

struct Host;

impl MsgHost for Host {
    fn gov_authority(&self) -> Address {
        Address::module("gov")
    }
    fn is_genesis_validator_key(&self, _: &dyn StateRead, _: &[u8; 32]) -> Result<bool, MsgError> {
        Ok(false)
    }
    fn ensure_account(&self, _: &mut dyn StateWrite, _: &Address) -> Result<(), MsgError> {
        Ok(())
    }
    fn is_module_account(&self, addr: &Address) -> bool {
        *addr == Address::module("distribution")
    }
    fn chain_id(&self, _: &dyn StateRead) -> Result<String, MsgError> {
        Ok("deai-1".into())
    }
    fn record_treasury_spend(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &Address,
        _: &[Coin],
        _: &str,
        _: u64,
    ) -> Result<Event, MsgError> {
        unreachable!()
    }
}

const NOW: i64 = 1_750_000_000;

fn relayer() -> Address {
    Address([7; 20])
}

/// Bytes that prove nothing under any consensus state's root.
const FORGED_PROOF: [u8; 4] = [0x0a, 0x02, 0x08, 0x01];

/// The counterparty's revision-1 height `revision_height`, as messages carry it.
fn raw_height(revision_height: u64) -> RawHeight {
    RawHeight {
        revision_number: 1,
        revision_height,
    }
}

/// A `MsgRecvPacket` of `data` (sequence 1) from the counterparty's
/// `transfer/channel-7` to our `transfer/channel-0`, "proven" by
/// [`FORGED_PROOF`] at height 1-10.
fn forged_recv(data: Vec<u8>) -> MsgRecvPacket {
    MsgRecvPacket {
        packet: Some(RawPacket {
            sequence: 1,
            source_port: "transfer".into(),
            source_channel: "channel-7".into(),
            destination_port: "transfer".into(),
            destination_channel: "channel-0".into(),
            data,
            timeout_height: Some(raw_height(1000)),
            timeout_timestamp: 0,
        }),
        proof_commitment: FORGED_PROOF.to_vec(),
        proof_height: Some(raw_height(10)),
        signer: relayer().to_bech32(),
    }
}

/// `sender`'s ICS-20 transfer of `amount` udeai over `transfer/channel-0`,
/// timing out at the counterparty's height 1-1000, or at
/// `timeout_timestamp` (ns since 1970) when that is not 0.
fn udeai_transfer(sender: &Address, amount: u128, timeout_timestamp: u64) -> MsgTransfer {
    MsgTransfer {
        source_port: "transfer".into(),
        source_channel: "channel-0".into(),
        token: Some(ProtoCoin {
            denom: "udeai".into(),
            amount: amount.to_string(),
        }),
        sender: sender.to_bech32(),
        receiver: "cosmos1receiver".into(),
        timeout_height: (timeout_timestamp == 0).then(|| raw_height(1000)),
        timeout_timestamp,
        memo: String::new(),
    }
}

struct Chain {
    state: MemState,
    height: u64,
    time: BlockTime,
}

impl Chain {
    fn new() -> Self {
        Chain {
            state: MemState::default(),
            height: 5,
            time: BlockTime {
                seconds: NOW,
                nanos: 0,
            },
        }
    }

    /// Runs `msg` (type URL, raw protobuf) as a transaction would: kept only
    /// if it succeeds.
    fn run(&mut self, type_url: &str, msg: &impl Message) -> Result<Vec<Event>, MsgError> {
        let any = Any {
            type_url: type_url.into(),
            value: msg.encode_to_vec(),
        };
        let msg = IbcMsg::decode(&any)?;
        assert_eq!(msg.signer(), relayer());
        deai_types::testing::run_msg(&mut self.state, &msg, (self.height, self.time), &Host)
    }

    /// Runs `msg`, which must be refused and write nothing; returns why.
    fn refused(&mut self, type_url: &str, msg: &impl Message) -> String {
        let before = self.state.clone();
        let e = self
            .run(type_url, msg)
            .expect_err("the message was taken")
            .to_string();
        assert!(
            self.state == before,
            "a refused {type_url} wrote something: {e}"
        );
        e
    }

    /// Runs the ICS-20 transfer `msg` as a transaction would.
    fn transfer(&mut self, msg: &MsgTransfer) -> Result<Vec<Event>, MsgError> {
        let msg = crate::msg::TransferMsg::decode(&Any {
            type_url: crate::msg::TRANSFER_TYPE_URL.into(),
            value: msg.encode_to_vec(),
        })?;
        deai_types::testing::run_msg(&mut self.state, &msg, (self.height, self.time), &Host)
    }

    fn keys(&self) -> Vec<Vec<u8>> {
        self.state
            .prefix_raw(b"", None, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }
}

/// A counterparty chain's client: its state at height 1-10, and a
/// consensus state `age` seconds old.
fn create_client(age: u64) -> MsgCreateClient {
    create_client_trusting(age, tendermint::Hash::Sha256([2; 32]))
}

/// [`create_client`] whose consensus state trusts the validator set with
/// hash `next_validators` to sign the counterparty's next block.
fn create_client_trusting(age: u64, next_validators: tendermint::Hash) -> MsgCreateClient {
    let client = TmClientStateType::new(
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
    let time = tendermint::Time::from_unix_timestamp(NOW - i64::try_from(age).unwrap(), 0).unwrap();
    let consensus =
        TmConsensusStateType::new(CommitmentRoot::from_bytes(&[1; 32]), time, next_validators);
    MsgCreateClient {
        client_state: Some(
            ibc::clients::tendermint::client_state::ClientState::from(client).into(),
        ),
        consensus_state: Some(
            ibc::clients::tendermint::consensus_state::ConsensusState::from(consensus).into(),
        ),
        signer: relayer().to_bech32(),
    }
}

#[test]
fn a_tendermint_client_is_created_and_stored_as_ibc_go_stores_it() {
    let mut c = Chain::new();
    let msg = create_client(60);
    let events = c.run("/ibc.core.client.v1.MsgCreateClient", &msg).unwrap();
    assert!(
        events.iter().any(|e| e.kind == "create_client"
            && e.attributes
                .contains(&("client_id".into(), "07-tendermint-0".into()))),
        "{events:?}"
    );
    // The client and consensus states are the relayer's `Any`s, byte for
    // byte, under the ICS-24 paths of the provable store.
    let stored = c
        .state
        .get_raw(b"ibc/clients/07-tendermint-0/clientState")
        .unwrap()
        .unwrap();
    assert_eq!(stored, msg.client_state.unwrap().encode_to_vec());
    let stored = c
        .state
        .get_raw(b"ibc/clients/07-tendermint-0/consensusStates/1-10")
        .unwrap()
        .unwrap();
    assert_eq!(stored, msg.consensus_state.unwrap().encode_to_vec());
    assert_eq!(
        c.state.get_raw(&key::counter("clients")).unwrap(),
        Some(1u64.to_be_bytes().to_vec())
    );
    // A second client gets the next id.
    c.run("/ibc.core.client.v1.MsgCreateClient", &create_client(60))
        .unwrap();
    assert!(c
        .state
        .get_raw(b"ibc/clients/07-tendermint-1/clientState")
        .unwrap()
        .is_some());
}

#[test]
fn a_connection_handshake_begins_on_an_existing_client_only() {
    let mut c = Chain::new();
    c.run("/ibc.core.client.v1.MsgCreateClient", &create_client(60))
        .unwrap();
    let init = |client: &str| MsgConnectionOpenInit {
        client_id: client.into(),
        counterparty: Some(ibc_proto::ibc::core::connection::v1::Counterparty {
            client_id: "07-tendermint-7".into(),
            connection_id: String::new(),
            prefix: Some(ibc_proto::ibc::core::commitment::v1::MerklePrefix {
                key_prefix: b"ibc".to_vec(),
            }),
        }),
        version: None,
        delay_period: 0,
        signer: relayer().to_bech32(),
    };
    let before = c.keys();
    let e = c
        .run(
            "/ibc.core.connection.v1.MsgConnectionOpenInit",
            &init("07-tendermint-9"),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("07-tendermint-9"), "{e}");
    assert_eq!(c.keys(), before, "a refused message writes nothing");

    let events = c
        .run(
            "/ibc.core.connection.v1.MsgConnectionOpenInit",
            &init("07-tendermint-0"),
        )
        .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "connection_open_init"),
        "{events:?}"
    );
    let end = c
        .state
        .get_raw(b"ibc/connections/connection-0")
        .unwrap()
        .unwrap();
    let end = ibc_proto::ibc::core::connection::v1::ConnectionEnd::decode(end.as_slice()).unwrap();
    assert_eq!(end.client_id, "07-tendermint-0");
    assert_eq!(end.state, 1, "INIT");
    let paths = c
        .state
        .get_raw(b"ibc/clients/07-tendermint-0/connections")
        .unwrap()
        .unwrap();
    let paths =
        ibc_proto::ibc::core::connection::v1::ClientPaths::decode(paths.as_slice()).unwrap();
    assert_eq!(paths.paths, ["connection-0"]);
}

#[test]
fn what_ibc_rs_refuses_changes_nothing_and_says_why() {
    let mut c = Chain::new();
    // A consensus state older than the trusting period: the client would
    // be expired at birth.
    let e = c
        .run(
            "/ibc.core.client.v1.MsgCreateClient",
            &create_client(15 * 24 * 3600),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.to_lowercase().contains("expired") || e.contains("status"),
        "{e}"
    );
    assert!(c.keys().is_empty());
    // A message with no signer, or a signer that is no account, is refused
    // before it runs.
    let mut bad = create_client(60);
    bad.signer = "cosmos1notours".into();
    let any = Any {
        type_url: "/ibc.core.client.v1.MsgCreateClient".into(),
        value: bad.encode_to_vec(),
    };
    assert!(IbcMsg::decode(&any).is_err());
    let any = Any {
        type_url: "/ibc.core.client.v1.MsgCreateClient".into(),
        value: vec![0xff, 0xff],
    };
    assert!(IbcMsg::decode(&any).is_err());
}

/// Opens channel `port`/`channel-<ch>` to the counterparty's
/// `port`/`channel-<counterparty>` (unordered, `version`) on connection
/// `connection-0` of client `07-tendermint-0`, creating both if needed.
fn open_channel(c: &mut Chain, port: PortId, ch: u64, counterparty: u64, version: &str) {
    if c.state
        .get_raw(b"ibc/clients/07-tendermint-0/clientState")
        .unwrap()
        .is_none()
    {
        c.run("/ibc.core.client.v1.MsgCreateClient", &create_client(60))
            .unwrap();
    }
    let block = HostBlock {
        height: c.height,
        time: c.time,
        chain_id: ChainId::new("deai-1").unwrap(),
    };
    let mut host = IbcHost::new(&mut c.state, block);
    let conn = ConnectionEnd::new(
        ConnState::Open,
        ClientId::new("07-tendermint", 0).unwrap(),
        ConnCounterparty::new(
            ClientId::new("07-tendermint", 3).unwrap(),
            Some(ConnectionId::new(3)),
            CommitmentPrefix::from_bytes(b"ibc"),
        ),
        vec![ConnVersion::compatibles().remove(0)],
        Duration::ZERO,
    )
    .unwrap();
    host.store_connection(&ConnectionPath::new(&ConnectionId::new(0)), conn)
        .unwrap();
    let chan = ChannelEnd::new(
        ChanState::Open,
        Order::Unordered,
        ChanCounterparty::new(port.clone(), Some(ChannelId::new(counterparty))),
        vec![ConnectionId::new(0)],
        ChanVersion::new(version.into()),
    )
    .unwrap();
    let ch = ChannelId::new(ch);
    host.store_channel(&ChannelEndPath::new(&port, &ch), chan)
        .unwrap();
    host.store_next_sequence_send(&SeqSendPath::new(&port, &ch), Sequence::from(1))
        .unwrap();
    host.store_next_sequence_recv(&SeqRecvPath::new(&port, &ch), Sequence::from(1))
        .unwrap();
    host.store_next_sequence_ack(&SeqAckPath::new(&port, &ch), Sequence::from(1))
        .unwrap();
}

/// The test host, but with a chain id genesis accepts and IBC does not.
struct SlashChainId;

impl deai_types::BlockHost for SlashChainId {
    fn history(&self, h: u64) -> Result<Box<dyn StateRead + '_>, String> {
        deai_types::testing::TestHost.history(h)
    }
    fn non_voting(&self) -> deai_types::module::NonVoting {
        deai_types::module::NonVoting::default()
    }
    fn has_fixed_validators(&self) -> bool {
        false
    }
    fn chain_id(&self) -> String {
        "deai/1".into()
    }
    fn execute_as_governance(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &[Any],
    ) -> Result<Vec<Event>, String> {
        Err("no proposals here".into())
    }
}

#[test]
fn a_chain_id_ibc_refuses_does_not_halt_the_end_block() {
    use deai_types::BlockHooks;
    let mut state = MemState::default();
    let info = deai_types::BlockInfo::at(7);
    let fees = std::collections::BTreeMap::new();
    let ctx = deai_types::BlockCtx {
        info: &info,
        prev_app_hash: &[],
        fees: &fees,
        host: &SlashChainId,
    };
    let events = crate::IbcModule.end_block(&mut state, &ctx).unwrap();
    assert!(events.is_empty());
    assert!(state.0.is_empty(), "nothing written");
}
