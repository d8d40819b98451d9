//! ICS-20 over the bank: a transfer escrows native tokens and commits its
//! packet; a received token is minted as ibc-go's voucher denom with its
//! trace, and burned on the way back; timeouts and error acknowledgements
//! refund; every bad packet or message is refused and changes nothing.

use deai_bank::{BankRead, BankWrite};
use deai_types::{Address, Coin, MemState, ModuleMsg, StateRead, StateWrite};
use ibc::{
    core::{
        channel::types::{
            acknowledgement::Acknowledgement,
            packet::Packet,
            timeout::{TimeoutHeight, TimeoutTimestamp},
        },
        client::types::Height,
        host::types::identifiers::{ChannelId, PortId, Sequence},
        router::module::Module,
    },
    primitives::Signer,
};
use ibc_proto::{cosmos::base::v1beta1::Coin as ProtoCoin, ibc::apps::transfer::v1::MsgTransfer};

use super::{open_channel, relayer, Chain, Host};
use crate::{
    msg::{TransferMsg, TRANSFER_TYPE_URL},
    shared::SharedState,
    transfer::{bank_denom, escrow_address, TransferModule, MAX_DENOM_PATH_LEN},
};

/// Osmosis's ATOM: `transfer/channel-0/uatom` as ibc-go hashes it.
const ATOM_ON_CHANNEL_0: &str =
    "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2";

fn alice() -> Address {
    Address([0xa1; 20])
}

fn channel0() -> ChannelId {
    ChannelId::new(0)
}

/// A chain with client `07-tendermint-0`, connection `connection-0` and
/// channel `transfer/channel-0` open to the counterparty's
/// `transfer/channel-7`, and alice holding 1000udeai.
fn open_chain() -> Chain {
    let mut c = Chain::new();
    open_channel(&mut c, PortId::transfer(), 0, 7, "ics20-1");
    c.state.mint(&alice(), &[Coin::new(1000, "udeai")]).unwrap();
    c
}

fn transfer_msg(denom: &str, amount: &str) -> MsgTransfer {
    MsgTransfer {
        source_port: "transfer".into(),
        source_channel: "channel-0".into(),
        token: Some(ProtoCoin {
            denom: denom.into(),
            amount: amount.into(),
        }),
        sender: alice().to_bech32(),
        receiver: "cosmos1receiver".into(),
        timeout_height: Some(ibc_proto::ibc::core::client::v1::Height {
            revision_number: 1,
            revision_height: 1000,
        }),
        timeout_timestamp: 0,
        memo: String::new(),
    }
}

fn any(msg: &MsgTransfer) -> cosmos_sdk_proto::Any {
    cosmos_sdk_proto::Any {
        type_url: TRANSFER_TYPE_URL.into(),
        value: prost::Message::encode_to_vec(msg),
    }
}

fn send(c: &mut Chain, msg: &MsgTransfer) -> Result<Vec<deai_types::Event>, String> {
    let m = TransferMsg::decode(&any(msg)).map_err(|e| e.to_string())?;
    assert_eq!(m.signer(), alice());
    deai_types::testing::run_msg(&mut c.state, &m, (c.height, c.time), &Host)
        .map_err(|e| e.to_string())
}

/// A packet from the counterparty's `transfer/channel-7` to our `channel-0`.
fn incoming(seq: u64, data: &[u8]) -> Packet {
    Packet {
        seq_on_a: Sequence::from(seq),
        port_id_on_a: PortId::transfer(),
        chan_id_on_a: ChannelId::new(7),
        port_id_on_b: PortId::transfer(),
        chan_id_on_b: channel0(),
        data: data.to_vec(),
        timeout_height_on_b: TimeoutHeight::At(Height::new(1, 1000).unwrap()),
        timeout_timestamp_on_b: TimeoutTimestamp::Never,
    }
}

fn data(denom: &str, amount: &str, receiver: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "denom": denom, "amount": amount, "sender": "cosmos1sender", "receiver": receiver,
    }))
    .unwrap()
}

/// Runs the transfer application's receive over `state` and returns the
/// acknowledgement's JSON.
fn receive(state: &mut MemState, packet: &Packet) -> serde_json::Value {
    let mut dyn_state: &mut dyn StateWrite = state;
    let shared = SharedState::new(&mut dyn_state);
    let mut module = TransferModule::new(shared.clone(), &Host);
    let (_, ack) = module.on_recv_packet_execute(packet, &Signer::from(relayer().to_bech32()));
    assert!(shared.fault().is_none());
    let ack = ack.unwrap();
    serde_json::from_slice(ack.as_bytes())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(ack.as_bytes())))
}

fn snapshot(state: &MemState) -> Vec<(Vec<u8>, Vec<u8>)> {
    state.prefix_raw(b"", None, usize::MAX).unwrap()
}

#[test]
fn the_escrow_address_and_voucher_denom_are_ibc_gos() {
    // The Cosmos Hub's escrow account of its Osmosis channel.
    let escrow = escrow_address(&PortId::transfer(), &ChannelId::new(141));
    assert_eq!(
        hex::encode(escrow.0),
        "352bf5cc8839ecfccb763916e1ddb1faf67a9b37"
    );
    let denom = "transfer/channel-0/uatom".parse().unwrap();
    assert_eq!(bank_denom(&denom), ATOM_ON_CHANNEL_0);
    assert_eq!(bank_denom(&"udeai".parse().unwrap()), "udeai");
}

#[test]
fn a_transfer_escrows_native_tokens_and_commits_the_packet() {
    let mut c = open_chain();
    let events = send(&mut c, &transfer_msg("udeai", "300")).unwrap();
    let escrow = escrow_address(&PortId::transfer(), &channel0());
    assert_eq!(c.state.balance(&alice(), "udeai").unwrap(), 700);
    assert_eq!(c.state.balance(&escrow, "udeai").unwrap(), 300);
    assert_eq!(
        c.state.supply("udeai").unwrap(),
        1000,
        "escrow mints nothing"
    );
    assert_eq!(
        crate::transfer::escrowed_base_denom(&c.state).unwrap(),
        300,
        "governance leaves it out of the voting power"
    );
    assert!(c
        .state
        .get_raw(b"ibc/commitments/ports/transfer/channels/channel-0/sequences/1")
        .unwrap()
        .is_some());
    let sent = events.iter().find(|e| e.kind == "send_packet").unwrap();
    let packet_data = &sent
        .attributes
        .iter()
        .find(|(k, _)| k == "packet_data")
        .unwrap()
        .1;
    let packet_data: serde_json::Value = serde_json::from_str(packet_data).unwrap();
    assert_eq!(packet_data["denom"], "udeai");
    assert_eq!(packet_data["amount"], "300");
    assert!(events.iter().any(|e| e.kind == "coin_spent"), "{events:?}");
    // The next transfer gets the next sequence.
    send(&mut c, &transfer_msg("udeai", "1")).unwrap();
    assert!(c
        .state
        .get_raw(b"ibc/commitments/ports/transfer/channels/channel-0/sequences/2")
        .unwrap()
        .is_some());
}

#[test]
fn a_received_token_becomes_a_voucher_and_is_burned_on_its_way_back() {
    let mut c = open_chain();
    let bob = Address([0xb0; 20]);
    let ack = receive(
        &mut c.state,
        &incoming(1, &data("uatom", "250", &bob.to_bech32())),
    );
    assert_eq!(ack, serde_json::json!({"result": "AQ=="}));
    assert_eq!(c.state.balance(&bob, ATOM_ON_CHANNEL_0).unwrap(), 250);
    assert_eq!(c.state.supply(ATOM_ON_CHANNEL_0).unwrap(), 250);
    let hash = ATOM_ON_CHANNEL_0.strip_prefix("ibc/").unwrap();
    assert_eq!(
        crate::transfer::denom_trace(&c.state, hash)
            .unwrap()
            .as_deref(),
        Some("transfer/channel-0/uatom")
    );

    // Bob sends 100 of the voucher back: burned, and the packet names the
    // trace path, not the hash.
    c.state.mint(&alice(), &[]).unwrap();
    let mut msg = transfer_msg(ATOM_ON_CHANNEL_0, "100");
    msg.sender = bob.to_bech32();
    let m = TransferMsg::decode(&any(&msg)).unwrap();
    let events = deai_types::testing::run_msg(&mut c.state, &m, (c.height, c.time), &Host).unwrap();
    assert_eq!(c.state.balance(&bob, ATOM_ON_CHANNEL_0).unwrap(), 150);
    assert_eq!(c.state.supply(ATOM_ON_CHANNEL_0).unwrap(), 150);
    let sent = events.iter().find(|e| e.kind == "send_packet").unwrap();
    assert!(
        sent.attributes
            .iter()
            .any(|(k, v)| k == "packet_data" && v.contains("transfer/channel-0/uatom")),
        "{sent:?}"
    );
    assert!(events.iter().any(|e| e.kind == "burn"), "{events:?}");
}

#[test]
fn native_tokens_coming_back_are_released_from_escrow() {
    let mut c = open_chain();
    send(&mut c, &transfer_msg("udeai", "300")).unwrap();
    let bob = Address([0xb0; 20]);
    // The counterparty returns 120 of them: its packet names the trace its
    // side gave them.
    let ack = receive(
        &mut c.state,
        &incoming(
            1,
            &data("transfer/channel-7/udeai", "120", &bob.to_bech32()),
        ),
    );
    assert_eq!(ack, serde_json::json!({"result": "AQ=="}));
    assert_eq!(c.state.balance(&bob, "udeai").unwrap(), 120);
    let escrow = escrow_address(&PortId::transfer(), &channel0());
    assert_eq!(c.state.balance(&escrow, "udeai").unwrap(), 180);
    // More than is escrowed cannot come back.
    let before = snapshot(&c.state);
    let ack = receive(
        &mut c.state,
        &incoming(
            2,
            &data("transfer/channel-7/udeai", "181", &bob.to_bech32()),
        ),
    );
    assert!(ack.get("error").is_some(), "{ack}");
    assert_eq!(snapshot(&c.state), before);
}

#[test]
fn a_bad_packet_gets_an_error_acknowledgement_and_changes_nothing() {
    let mut c = open_chain();
    let bob = Address([0xb0; 20]).to_bech32();
    let long_denom = format!("transfer/channel-1/{}", "x".repeat(MAX_DENOM_PATH_LEN));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"\xff{".to_vec()),
        ("receiver not an address", data("uatom", "5", "cosmos1abc")),
        // ibc-rs would put this reason in its acknowledgement unescaped.
        ("receiver with a quote", data("uatom", "5", "deai1\"}")),
        (
            "receiver a module account",
            data("uatom", "5", &Address::module("distribution").to_bech32()),
        ),
        ("zero amount", data("uatom", "0", &bob)),
        (
            "amount beyond 128 bits",
            data("uatom", "340282366920938463463374607431768211456", &bob),
        ),
        ("trace too long", data(&long_denom, "5", &bob)),
        ("base denom with a space", data("u atom", "5", &bob)),
        (
            "base denom with a control character",
            data("u\u{7}atom", "5", &bob),
        ),
        (
            "a native denom the escrow never held",
            data("transfer/channel-7/unothing", "5", &bob),
        ),
    ];
    for (i, (what, bytes)) in cases.into_iter().enumerate() {
        let before = snapshot(&c.state);
        let seq = u64::try_from(i).unwrap() + 1;
        let ack = receive(&mut c.state, &incoming(seq, &bytes));
        assert_eq!(
            serde_json::to_vec(&ack).unwrap(),
            crate::transfer::ERROR_ACK,
            "{what}"
        );
        assert_eq!(snapshot(&c.state), before, "{what} changed state");
    }
}

#[test]
fn a_timeout_or_an_error_acknowledgement_refunds_the_sender() {
    let mut c = open_chain();
    let escrow = escrow_address(&PortId::transfer(), &channel0());
    send(&mut c, &transfer_msg("udeai", "300")).unwrap();
    let packet = Packet {
        seq_on_a: Sequence::from(1),
        port_id_on_a: PortId::transfer(),
        chan_id_on_a: channel0(),
        port_id_on_b: PortId::transfer(),
        chan_id_on_b: ChannelId::new(7),
        data: serde_json::to_vec(&serde_json::json!({
            "denom": "udeai", "amount": "300", "sender": alice().to_bech32(),
            "receiver": "cosmos1receiver", "memo": "",
        }))
        .unwrap(),
        timeout_height_on_b: TimeoutHeight::At(Height::new(1, 1000).unwrap()),
        timeout_timestamp_on_b: TimeoutTimestamp::Never,
    };
    let relayer = Signer::from(relayer().to_bech32());
    let ok: Acknowledgement = br#"{"result":"AQ=="}"#.to_vec().try_into().unwrap();
    let failed: Acknowledgement = br#"{"error":"no"}"#.to_vec().try_into().unwrap();
    {
        let mut s: &mut dyn StateWrite = &mut c.state;
        let mut m = TransferModule::new(SharedState::new(&mut s), &Host);
        // A success acknowledgement keeps the tokens escrowed.
        m.on_acknowledgement_packet_validate(&packet, &ok, &relayer)
            .unwrap();
        m.on_acknowledgement_packet_execute(&packet, &ok, &relayer)
            .1
            .unwrap();
    }
    assert_eq!(c.state.balance(&alice(), "udeai").unwrap(), 700);
    {
        let mut s: &mut dyn StateWrite = &mut c.state;
        let mut m = TransferModule::new(SharedState::new(&mut s), &Host);
        m.on_acknowledgement_packet_execute(&packet, &failed, &relayer)
            .1
            .unwrap();
    }
    assert_eq!(c.state.balance(&alice(), "udeai").unwrap(), 1000);
    assert_eq!(c.state.balance(&escrow, "udeai").unwrap(), 0);

    send(&mut c, &transfer_msg("udeai", "300")).unwrap();
    {
        let mut s: &mut dyn StateWrite = &mut c.state;
        let mut m = TransferModule::new(SharedState::new(&mut s), &Host);
        m.on_timeout_packet_validate(&packet, &relayer).unwrap();
        m.on_timeout_packet_execute(&packet, &relayer).1.unwrap();
    }
    assert_eq!(c.state.balance(&alice(), "udeai").unwrap(), 1000);
    assert_eq!(c.state.supply("udeai").unwrap(), 1000);
    assert_eq!(crate::transfer::escrowed_base_denom(&c.state).unwrap(), 0);
}

#[test]
fn a_bad_transfer_is_refused_and_changes_nothing() {
    let mut c = open_chain();
    let before = snapshot(&c.state);
    let mut no_timeout = transfer_msg("udeai", "5");
    no_timeout.timeout_height = None;
    let mut long_memo = transfer_msg("udeai", "5");
    long_memo.memo = "m".repeat(32_769);
    let mut long_receiver = transfer_msg("udeai", "5");
    long_receiver.receiver = "r".repeat(2049);
    let mut unknown_channel = transfer_msg("udeai", "5");
    unknown_channel.source_channel = "channel-9".into();
    let cases = [
        ("zero", transfer_msg("udeai", "0")),
        ("overdraft", transfer_msg("udeai", "1001")),
        (
            "a bare trace path",
            transfer_msg("transfer/channel-0/uatom", "5"),
        ),
        ("a voucher with no trace", transfer_msg("ibc/ABCDEF", "5")),
        ("no timeout", no_timeout),
        ("a long memo", long_memo),
        ("a long receiver", long_receiver),
        ("an unknown channel", unknown_channel),
    ];
    for (what, msg) in cases {
        let e = send(&mut c, &msg).expect_err(what);
        assert!(!e.is_empty(), "{what}");
        assert_eq!(snapshot(&c.state), before, "{what} changed state");
    }
}

/// A state whose writes fail as gas running out would.
struct OutOfGas(MemState);

impl StateRead for OutOfGas {
    fn get_raw(&self, k: &[u8]) -> Result<Option<Vec<u8>>, deai_types::StateError> {
        self.0.get_raw(k)
    }
    fn prefix_raw(
        &self,
        p: &[u8],
        s: Option<&[u8]>,
        l: usize,
    ) -> Result<deai_types::state::Entries, deai_types::StateError> {
        self.0.prefix_raw(p, s, l)
    }
}

impl StateWrite for OutOfGas {
    fn put_raw(&mut self, _: Vec<u8>, _: Vec<u8>) -> Result<(), deai_types::StateError> {
        Err(deai_types::StateError::OutOfGas {
            limit: 1,
            needed: 2,
        })
    }
    fn delete_raw(&mut self, _: Vec<u8>) -> Result<(), deai_types::StateError> {
        self.put_raw(Vec::new(), Vec::new())
    }
}

#[test]
fn running_out_of_gas_while_receiving_is_a_fault_not_an_error_acknowledgement() {
    let c = open_chain();
    let mut state = OutOfGas(c.state);
    let mut s: &mut dyn StateWrite = &mut state;
    let shared = SharedState::new(&mut s);
    let mut m = TransferModule::new(shared.clone(), &Host);
    let bob = Address([0xb0; 20]).to_bech32();
    let (_, ack) = m.on_recv_packet_execute(
        &incoming(1, &data("uatom", "5", &bob)),
        &Signer::from(relayer().to_bech32()),
    );
    // The acknowledgement is written by ibc-rs after the callback, but the
    // message fails on the recorded fault, so neither is kept.
    assert!(ack.is_some());
    assert!(matches!(
        shared.fault(),
        Some(deai_types::StateError::OutOfGas { .. })
    ));
}

fn ask<Resp: prost::Message + Default>(
    state: &MemState,
    method: &str,
    req: impl prost::Message,
) -> Result<Resp, deai_types::QueryError> {
    let bytes = crate::transfer_query::query(
        state,
        &format!("/ibc.applications.transfer.v1.Query/{method}"),
        &req.encode_to_vec(),
    )
    .expect("a transfer query")?;
    Ok(Resp::decode(bytes.as_slice()).unwrap())
}

#[test]
fn denom_traces_escrow_and_params_answer_as_ibc_go_does() {
    use ibc_proto::ibc::apps::transfer::v1 as q;
    let mut c = open_chain();
    send(&mut c, &transfer_msg("udeai", "300")).unwrap();
    let bob = Address([0xb0; 20]);
    receive(
        &mut c.state,
        &incoming(1, &data("uatom", "250", &bob.to_bech32())),
    );
    let hash = ATOM_ON_CHANNEL_0.strip_prefix("ibc/").unwrap();

    for asked in [ATOM_ON_CHANNEL_0.to_string(), hash.to_lowercase()] {
        let r: q::QueryDenomTraceResponse = ask(
            &c.state,
            "DenomTrace",
            q::QueryDenomTraceRequest { hash: asked },
        )
        .unwrap();
        let t = r.denom_trace.unwrap();
        assert_eq!(
            (t.path.as_str(), t.base_denom.as_str()),
            ("transfer/channel-0", "uatom")
        );
    }
    let r: q::QueryDenomTracesResponse = ask(
        &c.state,
        "DenomTraces",
        q::QueryDenomTracesRequest { pagination: None },
    )
    .unwrap();
    assert_eq!(r.denom_traces.len(), 1);
    let r: q::QueryDenomHashResponse = ask(
        &c.state,
        "DenomHash",
        q::QueryDenomHashRequest {
            trace: "transfer/channel-0/uatom".into(),
        },
    )
    .unwrap();
    assert_eq!(r.hash, hash);
    let r: q::QueryEscrowAddressResponse = ask(
        &c.state,
        "EscrowAddress",
        q::QueryEscrowAddressRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
        },
    )
    .unwrap();
    assert_eq!(
        r.escrow_address,
        escrow_address(&PortId::transfer(), &channel0()).to_bech32()
    );
    let r: q::QueryTotalEscrowForDenomResponse = ask(
        &c.state,
        "TotalEscrowForDenom",
        q::QueryTotalEscrowForDenomRequest {
            denom: "udeai".into(),
        },
    )
    .unwrap();
    assert_eq!(r.amount.unwrap().amount, "300");
    let r: q::QueryParamsResponse = ask(&c.state, "Params", q::QueryParamsRequest {}).unwrap();
    assert!(r.params.unwrap().receive_enabled);

    // Malformed or unknown asks are clear errors.
    for bad in ["ibc/XYZ", "", &"A".repeat(65)] {
        let e = ask::<q::QueryDenomTraceResponse>(
            &c.state,
            "DenomTrace",
            q::QueryDenomTraceRequest { hash: bad.into() },
        )
        .unwrap_err();
        assert_eq!(e.code, 18, "{bad}: {e}");
    }
    let e = ask::<q::QueryDenomTraceResponse>(
        &c.state,
        "DenomTrace",
        q::QueryDenomTraceRequest {
            hash: "0".repeat(64),
        },
    )
    .unwrap_err();
    assert_eq!(e.code, 22, "{e}");
    let e = ask::<q::QueryEscrowAddressResponse>(
        &c.state,
        "EscrowAddress",
        q::QueryEscrowAddressRequest {
            port_id: "transfer".into(),
            channel_id: "chan nel".into(),
        },
    )
    .unwrap_err();
    assert_eq!(e.code, 18, "{e}");
}
