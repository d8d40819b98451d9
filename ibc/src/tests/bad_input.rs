//! What a relayer or counterparty could forge is refused and changes
//! nothing: a packet whose commitment proof does not verify against the
//! counterparty's consensus state, and a client of this chain (sent in a
//! connection handshake) with the wrong chain id, revision, proof specs or
//! a frozen height; a client update from another chain or revision, or
//! after the client expired; acknowledgements and timeouts with forged proofs (which
//! would refund a sender whose tokens were delivered), and an
//! acknowledgement of a packet never sent.

use ibc::{
    clients::tendermint::types::{AllowUpdate, ClientState as TmClientStateType, TrustThreshold},
    core::{
        client::types::Height,
        commitment_types::specs::ProofSpecs,
        host::types::identifiers::{ChainId, PortId},
    },
};
use ibc_core_host_cosmos::ValidateSelfClientContext;
use ibc_proto::ibc::core::{
    channel::v1::{MsgRecvPacket, Packet},
    client::v1::Height as RawHeight,
};

use super::{open_channel, relayer, Chain};
use crate::host::{proof_specs, HostBlock, IbcHost};

#[test]
fn a_packet_with_a_forged_proof_is_refused_and_changes_nothing() {
    let mut c = Chain::new();
    open_channel(&mut c, PortId::transfer(), 0, 7, "ics20-1");
    let before = c.keys();
    let data = serde_json::to_vec(&serde_json::json!({
        "denom": "uatom", "amount": "1000000", "sender": "cosmos1thief",
        "receiver": relayer().to_bech32(),
    }))
    .unwrap();
    let msg = MsgRecvPacket {
        packet: Some(Packet {
            sequence: 1,
            source_port: "transfer".into(),
            source_channel: "channel-7".into(),
            destination_port: "transfer".into(),
            destination_channel: "channel-0".into(),
            data,
            timeout_height: Some(RawHeight {
                revision_number: 1,
                revision_height: 1000,
            }),
            timeout_timestamp: 0,
        }),
        // Not a proof of anything under the consensus state's root.
        proof_commitment: vec![0x0a, 0x02, 0x08, 0x01],
        proof_height: Some(RawHeight {
            revision_number: 1,
            revision_height: 10,
        }),
        signer: relayer().to_bech32(),
    };
    let e = c
        .run("/ibc.core.channel.v1.MsgRecvPacket", &msg)
        .unwrap_err()
        .to_string();
    assert!(!e.is_empty());
    assert_eq!(c.keys(), before, "nothing minted, no receipt: {e}");
}

/// A 07-tendermint client of this chain (`deai-1`, at height 5, whose
/// unbonding time is a day) as a counterparty would hold it.
fn client_of_us(chain_id: &str, height: Height, specs: ProofSpecs) -> TmClientStateType {
    client_with_unbonding(chain_id, height, specs, 86_400)
}

fn client_with_unbonding(
    chain_id: &str,
    height: Height,
    specs: ProofSpecs,
    unbonding_secs: u64,
) -> TmClientStateType {
    TmClientStateType::new(
        ChainId::new(chain_id).unwrap(),
        TrustThreshold::ONE_THIRD,
        std::time::Duration::from_secs(3600),
        std::time::Duration::from_secs(unbonding_secs),
        std::time::Duration::from_secs(10),
        height,
        specs,
        vec!["upgrade".into(), "upgradedIBCState".into()],
        AllowUpdate {
            after_expiry: false,
            after_misbehaviour: false,
        },
    )
    .unwrap()
}

#[test]
fn a_client_of_this_chain_with_the_wrong_chain_revision_specs_or_frozen_is_refused() {
    let mut state = deai_types::MemState::default();
    // Staking's unbonding time bounds the client's: a day here.
    deai_staking::StakingWrite::put_staking_params(
        &mut state,
        &deai_staking::StakingParams {
            unbonding_time_seconds: 86_400,
            ..Default::default()
        },
    )
    .unwrap();
    let block = HostBlock {
        height: 5,
        time: deai_types::module::BlockTime {
            seconds: 1_750_000_000,
            nanos: 0,
        },
        chain_id: ChainId::new("deai-1").unwrap(),
    };
    let host = IbcHost::new(&state, block);
    let ours = Height::new(1, 4).unwrap();
    let good = client_of_us("deai-1", ours, proof_specs().clone());
    host.validate_self_tendermint_client(good.clone()).unwrap();

    let wrong_chain = client_of_us("other-1", ours, proof_specs().clone());
    let wrong_revision = client_of_us("deai-2", Height::new(2, 4).unwrap(), proof_specs().clone());
    let from_the_future = client_of_us("deai-1", Height::new(1, 9).unwrap(), proof_specs().clone());
    let iavl_specs = client_of_us("deai-1", ours, ProofSpecs::cosmos());
    let frozen = good.clone().with_frozen_height(Height::new(1, 1).unwrap());
    let short_unbonding = client_with_unbonding("deai-1", ours, proof_specs().clone(), 7200);
    for (what, cs) in [
        ("another unbonding period", short_unbonding),
        ("another chain id", wrong_chain),
        ("another revision", wrong_revision),
        ("a height this chain has not reached", from_the_future),
        ("the Cosmos SDK's IAVL proof specs", iavl_specs),
        ("a frozen client", frozen),
    ] {
        assert!(
            host.validate_self_tendermint_client(cs).is_err(),
            "{what} was accepted"
        );
    }
}

/// Alice's 300udeai sent over `transfer/channel-0` with a timeout 10 s
/// after `NOW`: the chain, the packet as committed, and alice.
fn sent_transfer(
    validator: &super::misbehaviour::Validator,
) -> (
    Chain,
    ibc_proto::ibc::core::channel::v1::Packet,
    deai_types::Address,
) {
    use deai_bank::BankWrite;
    let mut c = super::misbehaviour::chain_trusting(validator);
    let alice = deai_types::Address([0xa1; 20]);
    c.state
        .mint(&alice, &[deai_types::Coin::new(1000, "udeai")])
        .unwrap();
    let transfer = ibc_proto::ibc::apps::transfer::v1::MsgTransfer {
        source_port: "transfer".into(),
        source_channel: "channel-0".into(),
        token: Some(ibc_proto::cosmos::base::v1beta1::Coin {
            denom: "udeai".into(),
            amount: "300".into(),
        }),
        sender: alice.to_bech32(),
        receiver: "cosmos1receiver".into(),
        timeout_height: None,
        timeout_timestamp: u64::try_from(super::NOW + 10).unwrap() * 1_000_000_000,
        memo: String::new(),
    };
    let msg = crate::msg::TransferMsg::decode(&cosmos_sdk_proto::Any {
        type_url: crate::msg::TRANSFER_TYPE_URL.into(),
        value: prost::Message::encode_to_vec(&transfer),
    })
    .unwrap();
    let events =
        deai_types::testing::run_msg(&mut c.state, &msg, (c.height, c.time), &super::Host).unwrap();
    let sent = events.iter().find(|e| e.kind == "send_packet").unwrap();
    let data = &sent
        .attributes
        .iter()
        .find(|(k, _)| k == "packet_data_hex")
        .unwrap()
        .1;
    let packet = ibc_proto::ibc::core::channel::v1::Packet {
        sequence: 1,
        source_port: "transfer".into(),
        source_channel: "channel-0".into(),
        destination_port: "transfer".into(),
        destination_channel: "channel-7".into(),
        data: hex::decode(data).unwrap(),
        timeout_height: Some(RawHeight::default()),
        timeout_timestamp: transfer.timeout_timestamp,
    };
    (c, packet, alice)
}

fn escrowed(c: &Chain, alice: &deai_types::Address) -> (u128, u128) {
    use deai_bank::BankRead;
    let escrow = crate::transfer::escrow_address(
        &PortId::transfer(),
        &ibc::core::host::types::identifiers::ChannelId::new(0),
    );
    (
        c.state.balance(alice, "udeai").unwrap(),
        c.state.balance(&escrow, "udeai").unwrap(),
    )
}

#[test]
fn a_forged_error_acknowledgement_or_timeout_refunds_nothing() {
    use ibc_proto::ibc::core::channel::v1::{MsgAcknowledgement, MsgTimeout};
    let validator = super::misbehaviour::Validator::new(1);
    let (mut c, packet, alice) = sent_transfer(&validator);
    assert_eq!(escrowed(&c, &alice), (700, 300));
    let before = c.state.clone();

    // An error acknowledgement would refund alice; its proof is forged.
    let ack = MsgAcknowledgement {
        packet: Some(packet.clone()),
        acknowledgement: br#"{"error":"refund me"}"#.to_vec(),
        proof_acked: vec![0x0a, 0x02, 0x08, 0x01],
        proof_height: Some(RawHeight {
            revision_number: 1,
            revision_height: 10,
        }),
        signer: super::relayer().to_bech32(),
    };
    let e = c
        .run("/ibc.core.channel.v1.MsgAcknowledgement", &ack)
        .unwrap_err()
        .to_string();
    assert!(
        e.to_lowercase().contains("verif") || e.contains("proof"),
        "{e}"
    );
    assert!(c.state == before, "{e}");

    // The timeout has passed on the counterparty (the client learns of a
    // block after it), but the proof that the packet was not received
    // there is forged: it might have been, so nothing is refunded.
    c.time.seconds = super::NOW + 30;
    c.height += 1;
    c.run(
        "/ibc.core.client.v1.MsgUpdateClient",
        &super::misbehaviour::update(validator.header(11, -20, 0xaa)),
    )
    .unwrap();
    let before = c.state.clone();
    let timeout = MsgTimeout {
        packet: Some(packet),
        proof_unreceived: vec![0x0a, 0x02, 0x08, 0x01],
        proof_height: Some(RawHeight {
            revision_number: 1,
            revision_height: 11,
        }),
        next_sequence_recv: 1,
        signer: super::relayer().to_bech32(),
    };
    let e = c
        .run("/ibc.core.channel.v1.MsgTimeout", &timeout)
        .unwrap_err()
        .to_string();
    assert!(
        e.to_lowercase().contains("verif") || e.contains("proof"),
        "{e}"
    );
    assert!(c.state == before, "{e}");
    assert_eq!(escrowed(&c, &alice), (700, 300), "nothing refunded");
}

#[test]
fn an_acknowledgement_of_a_packet_never_sent_changes_nothing() {
    use ibc_proto::ibc::core::channel::v1::MsgAcknowledgement;
    let validator = super::misbehaviour::Validator::new(1);
    let (mut c, mut packet, alice) = sent_transfer(&validator);
    // Sequence 2 was never sent: ibc-go and ibc-rs answer such an
    // acknowledgement (a relayer's race, or a replay) with a no-op, so a
    // batch of relayed messages is not failed by one stale entry.
    packet.sequence = 2;
    let before = c.state.clone();
    c.run(
        "/ibc.core.channel.v1.MsgAcknowledgement",
        &MsgAcknowledgement {
            packet: Some(packet),
            acknowledgement: br#"{"error":"refund me"}"#.to_vec(),
            proof_acked: vec![0x0a, 0x02, 0x08, 0x01],
            proof_height: Some(RawHeight {
                revision_number: 1,
                revision_height: 10,
            }),
            signer: super::relayer().to_bech32(),
        },
    )
    .unwrap();
    assert!(c.state == before);
    assert_eq!(escrowed(&c, &alice), (700, 300), "nothing refunded");
}

#[test]
fn a_header_of_another_chain_or_revision_or_after_expiry_is_refused() {
    let validator = super::misbehaviour::Validator::new(1);
    let mut c = super::misbehaviour::chain_trusting(&validator);
    let before = c.state.clone();
    let other_chain = validator.header_of("impostor-1", 11, 30, 0xaa);
    // Revision 2 at revision height 11: the client follows revision 1.
    let mut other_revision = validator.header_of("counterparty-2", 11, 30, 0xaa);
    other_revision.trusted_height = Height::new(2, 10).unwrap();
    for (what, header) in [
        ("a header of another chain", other_chain),
        ("a header of another revision", other_revision),
    ] {
        let r = c.run(
            "/ibc.core.client.v1.MsgUpdateClient",
            &super::misbehaviour::update(header),
        );
        assert!(r.is_err(), "{what} was taken");
        assert!(c.state == before, "{what} wrote something");
    }

    // The trusting period (14 days) passes with no update: the client has
    // expired, and even an honest header is refused, as is a packet.
    c.time.seconds = super::NOW + 15 * 24 * 3600;
    let e = c
        .run(
            "/ibc.core.client.v1.MsgUpdateClient",
            &super::misbehaviour::update(validator.header(11, 30, 0xaa)),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.to_lowercase().contains("expired") || e.contains("status") || e.contains("trusting"),
        "{e}"
    );
    assert!(c.state == before, "{e}");
    let e = c
        .run(
            "/ibc.core.channel.v1.MsgRecvPacket",
            &MsgRecvPacket {
                packet: Some(Packet {
                    sequence: 1,
                    source_port: "transfer".into(),
                    source_channel: "channel-7".into(),
                    destination_port: "transfer".into(),
                    destination_channel: "channel-0".into(),
                    data: b"{}".to_vec(),
                    timeout_height: Some(RawHeight {
                        revision_number: 1,
                        revision_height: 1000,
                    }),
                    timeout_timestamp: 0,
                }),
                proof_commitment: vec![0x0a, 0x02, 0x08, 0x01],
                proof_height: Some(RawHeight {
                    revision_number: 1,
                    revision_height: 10,
                }),
                signer: super::relayer().to_bech32(),
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.to_lowercase().contains("expired") || e.contains("status") || e.contains("not active"),
        "{e}"
    );
    assert!(c.state == before, "{e}");
}
