//! What a relayer or counterparty could forge is refused and changes
//! nothing: a packet whose commitment proof does not verify against the
//! counterparty's consensus state, and a client of this chain (sent in a
//! connection handshake) with the wrong chain id, revision, proof specs or
//! a frozen height; a client update from another chain or revision, or
//! after the client expired; acknowledgements and timeouts with forged proofs (which
//! would refund a sender whose tokens were delivered), and an
//! acknowledgement of a packet never sent.

use deai_bank::{BankRead, BankWrite};
use deai_types::{Address, Coin};
use ibc::core::host::types::identifiers::ChannelId;
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
    channel::v1::{MsgAcknowledgement, MsgTimeout, Packet},
    client::v1::Height as RawHeight,
};

use super::{
    forged_recv,
    misbehaviour::{chain_trusting, update, Validator},
    open_channel, raw_height, relayer, udeai_transfer, Chain, FORGED_PROOF, NOW,
};
use crate::{
    host::{proof_specs, HostBlock, IbcHost},
    transfer::escrow_address,
};

#[test]
fn a_packet_with_a_forged_proof_is_refused_and_changes_nothing() {
    let mut c = Chain::new();
    open_channel(&mut c, PortId::transfer(), 0, 7, "ics20-1");
    let data = serde_json::to_vec(&serde_json::json!({
        "denom": "uatom", "amount": "1000000", "sender": "cosmos1thief",
        "receiver": relayer().to_bech32(),
    }))
    .unwrap();
    // Not a proof of anything under the consensus state's root.
    let e = c.refused("/ibc.core.channel.v1.MsgRecvPacket", &forged_recv(data));
    assert!(!e.is_empty());
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
/// after `NOW`, on a chain whose client trusts `validator`: the chain, the
/// packet as committed, and alice.
fn sent_transfer(validator: &Validator) -> (Chain, Packet, Address) {
    let mut c = chain_trusting(validator);
    let alice = Address([0xa1; 20]);
    c.state.mint(&alice, &[Coin::new(1000, "udeai")]).unwrap();
    let timeout = u64::try_from(NOW + 10).unwrap() * 1_000_000_000;
    let events = c.transfer(&udeai_transfer(&alice, 300, timeout)).unwrap();
    let sent = events.iter().find(|e| e.kind == "send_packet").unwrap();
    let (_, data) = sent
        .attributes
        .iter()
        .find(|(k, _)| k == "packet_data_hex")
        .unwrap();
    let packet = Packet {
        sequence: 1,
        source_port: "transfer".into(),
        source_channel: "channel-0".into(),
        destination_port: "transfer".into(),
        destination_channel: "channel-7".into(),
        data: hex::decode(data).unwrap(),
        timeout_height: Some(RawHeight::default()),
        timeout_timestamp: timeout,
    };
    (c, packet, alice)
}

/// Alice's balance and channel-0's escrow.
fn escrowed(c: &Chain, alice: &Address) -> (u128, u128) {
    let escrow = escrow_address(&PortId::transfer(), &ChannelId::new(0));
    (
        c.state.balance(alice, "udeai").unwrap(),
        c.state.balance(&escrow, "udeai").unwrap(),
    )
}

/// An error acknowledgement of `packet` (which would refund its sender),
/// "proven" by [`FORGED_PROOF`] at height 1-10.
fn error_ack(packet: Packet) -> MsgAcknowledgement {
    MsgAcknowledgement {
        packet: Some(packet),
        acknowledgement: br#"{"error":"refund me"}"#.to_vec(),
        proof_acked: FORGED_PROOF.to_vec(),
        proof_height: Some(raw_height(10)),
        signer: relayer().to_bech32(),
    }
}

#[test]
fn a_forged_error_acknowledgement_or_timeout_refunds_nothing() {
    let validator = Validator::new(1);
    let (mut c, packet, alice) = sent_transfer(&validator);
    assert_eq!(escrowed(&c, &alice), (700, 300));
    let proof_refused = |e: &str| e.to_lowercase().contains("verif") || e.contains("proof");

    // An error acknowledgement would refund alice; its proof is forged.
    let e = c.refused(
        "/ibc.core.channel.v1.MsgAcknowledgement",
        &error_ack(packet.clone()),
    );
    assert!(proof_refused(&e), "{e}");

    // The timeout has passed on the counterparty (the client learns of a
    // block after it), but the proof that the packet was not received
    // there is forged: it might have been, so nothing is refunded.
    c.time.seconds = NOW + 30;
    c.height += 1;
    c.run(
        "/ibc.core.client.v1.MsgUpdateClient",
        &update(validator.header(11, -20, 0xaa)),
    )
    .unwrap();
    let timeout = MsgTimeout {
        packet: Some(packet),
        proof_unreceived: FORGED_PROOF.to_vec(),
        proof_height: Some(raw_height(11)),
        next_sequence_recv: 1,
        signer: relayer().to_bech32(),
    };
    let e = c.refused("/ibc.core.channel.v1.MsgTimeout", &timeout);
    assert!(proof_refused(&e), "{e}");
    assert_eq!(escrowed(&c, &alice), (700, 300), "nothing refunded");
}

#[test]
fn an_acknowledgement_of_a_packet_never_sent_changes_nothing() {
    let (mut c, mut packet, alice) = sent_transfer(&Validator::new(1));
    // Sequence 2 was never sent: ibc-go and ibc-rs answer such an
    // acknowledgement (a relayer's race, or a replay) with a no-op, so a
    // batch of relayed messages is not failed by one stale entry.
    packet.sequence = 2;
    let before = c.state.clone();
    c.run(
        "/ibc.core.channel.v1.MsgAcknowledgement",
        &error_ack(packet),
    )
    .unwrap();
    assert!(c.state == before);
    assert_eq!(escrowed(&c, &alice), (700, 300), "nothing refunded");
}

#[test]
fn a_header_of_another_chain_or_revision_or_after_expiry_is_refused() {
    let validator = Validator::new(1);
    let mut c = chain_trusting(&validator);
    let other_chain = validator.header_of("impostor-1", 11, 30, 0xaa);
    // Revision 2 at revision height 11: the client follows revision 1.
    let mut other_revision = validator.header_of("counterparty-2", 11, 30, 0xaa);
    other_revision.trusted_height = Height::new(2, 10).unwrap();
    for header in [other_chain, other_revision] {
        c.refused("/ibc.core.client.v1.MsgUpdateClient", &update(header));
    }

    // The trusting period (14 days) passes with no update: the client has
    // expired, and even an honest header is refused, as is a packet.
    c.time.seconds = NOW + 15 * 24 * 3600;
    let expired = |e: &str| {
        e.to_lowercase().contains("expired") || e.contains("status") || e.contains("not active")
    };
    let e = c.refused(
        "/ibc.core.client.v1.MsgUpdateClient",
        &update(validator.header(11, 30, 0xaa)),
    );
    assert!(expired(&e), "{e}");
    let e = c.refused(
        "/ibc.core.channel.v1.MsgRecvPacket",
        &forged_recv(b"{}".to_vec()),
    );
    assert!(expired(&e), "{e}");
}
