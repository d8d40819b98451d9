//! What a relayer or counterparty could forge is refused and changes
//! nothing: a packet whose commitment proof does not verify against the
//! counterparty's consensus state, and a client of this chain (sent in a
//! connection handshake) with the wrong chain id, revision, proof specs or
//! a frozen height.

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
