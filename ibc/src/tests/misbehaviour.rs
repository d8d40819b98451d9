//! Misbehaviour: two conflicting headers, each signed by the counterparty's
//! trusted validators, freeze its client; a frozen client takes no update,
//! no packet and no transfer. A submission that proves nothing (one header
//! twice, or a second header no trusted validator signed) is refused and
//! freezes nothing, since anyone may send one. (Two conflicting headers
//! the trusted validators signed freeze the client whatever their times, as
//! in ibc-go: the signatures are the evidence.)

use deai_bank::BankWrite;
use deai_types::{Address, Coin, StateRead};
use ed25519_consensus::SigningKey;
use ibc::{
    clients::tendermint::types::{Header as TmHeader, Misbehaviour},
    core::{
        client::types::Height,
        host::types::identifiers::{ClientId, PortId},
    },
};
use ibc_proto::{
    google::protobuf::Any,
    ibc::{
        core::client::v1::{Height as RawHeight, MsgSubmitMisbehaviour, MsgUpdateClient},
        lightclients::tendermint::v1::ClientState as RawClientState,
    },
};
use prost::Message;
use tendermint::{
    account,
    block::{self, header::Version, parts, Commit, CommitSig, Round},
    validator, vote, AppHash, Hash, PublicKey, Signature, Time,
};

use super::{
    create_client_trusting, forged_recv, open_channel, relayer, udeai_transfer, Chain, NOW,
};

const COUNTERPARTY: &str = "counterparty-1";
const CLIENT_STATE: &[u8] = b"ibc/clients/07-tendermint-0/clientState";

/// One of the counterparty's validators, with all the voting power.
pub(super) struct Validator {
    key: SigningKey,
    set: validator::Set,
}

impl Validator {
    pub(super) fn new(seed: u8) -> Self {
        let key = SigningKey::from([seed; 32]);
        let public = PublicKey::from_raw_ed25519(key.verification_key().as_bytes()).unwrap();
        let set = validator::Set::new(
            vec![validator::Info::new(public, vote::Power::from(10u32))],
            None,
        );
        Validator { key, set }
    }

    fn address(&self) -> account::Id {
        self.set.validators()[0].address
    }

    /// The counterparty's block at revision height `height`, `age` seconds
    /// old, committing to `app_hash`, with `self`'s precommit for it, as a
    /// relayer sends it trusting the consensus state at height 1-10.
    pub(super) fn header(&self, height: u64, age: i64, app_hash: u8) -> TmHeader {
        self.header_of(COUNTERPARTY, height, age, app_hash)
    }

    /// [`Validator::header`] of a block of chain `chain_id`.
    pub(super) fn header_of(
        &self,
        chain_id: &str,
        height: u64,
        age: i64,
        app_hash: u8,
    ) -> TmHeader {
        let time = Time::from_unix_timestamp(NOW - age, 0).unwrap();
        let header = block::Header {
            version: Version { block: 11, app: 0 },
            chain_id: chain_id.try_into().unwrap(),
            height: height.try_into().unwrap(),
            time,
            last_block_id: Some(block::Id {
                hash: Hash::Sha256([3; 32]),
                part_set_header: parts::Header::new(1, Hash::Sha256([4; 32])).unwrap(),
            }),
            last_commit_hash: Some(Hash::Sha256([5; 32])),
            data_hash: Some(Hash::Sha256([6; 32])),
            validators_hash: self.set.hash(),
            next_validators_hash: self.set.hash(),
            consensus_hash: Hash::Sha256([7; 32]),
            app_hash: AppHash::try_from(vec![app_hash; 32]).unwrap(),
            last_results_hash: Some(Hash::Sha256([8; 32])),
            evidence_hash: Some(Hash::Sha256([9; 32])),
            proposer_address: self.address(),
        };
        let block_id = block::Id {
            hash: header.hash(),
            part_set_header: parts::Header::new(1, Hash::Sha256([10; 32])).unwrap(),
        };
        let precommit = vote::Vote {
            vote_type: vote::Type::Precommit,
            height: header.height,
            round: Round::default(),
            block_id: Some(block_id),
            timestamp: Some(time),
            validator_address: self.address(),
            validator_index: vote::ValidatorIndex::try_from(0u32).unwrap(),
            signature: None,
            extension: vec![],
            extension_signature: None,
        };
        let sign_bytes = precommit.into_signable_vec(header.chain_id.clone());
        let signature = self.key.sign(&sign_bytes).to_bytes();
        let commit = Commit {
            height: header.height,
            round: Round::default(),
            block_id,
            signatures: vec![CommitSig::BlockIdFlagCommit {
                validator_address: self.address(),
                timestamp: time,
                signature: Some(Signature::try_from(signature.as_slice()).unwrap()),
            }],
        };
        TmHeader {
            signed_header: block::signed_header::SignedHeader::new(header, commit).unwrap(),
            validator_set: self.set.clone(),
            trusted_height: Height::new(1, 10).unwrap(),
            trusted_next_validator_set: self.set.clone(),
        }
    }
}

fn client_id() -> ClientId {
    ClientId::new("07-tendermint", 0).unwrap()
}

/// A chain with a client of the counterparty that trusts `trusted` from
/// height 1-10 on, and channel `transfer/channel-0` open on it.
pub(super) fn chain_trusting(trusted: &Validator) -> Chain {
    let mut c = Chain::new();
    c.run(
        "/ibc.core.client.v1.MsgCreateClient",
        &create_client_trusting(60, trusted.set.hash()),
    )
    .unwrap();
    open_channel(&mut c, PortId::transfer(), 0, 7, "ics20-1");
    c
}

pub(super) fn update(header: TmHeader) -> MsgUpdateClient {
    MsgUpdateClient {
        client_id: client_id().to_string(),
        client_message: Some(Any::from(header)),
        signer: relayer().to_bech32(),
    }
}

fn misbehaviour(header1: TmHeader, header2: TmHeader) -> MsgSubmitMisbehaviour {
    #[allow(deprecated)]
    MsgSubmitMisbehaviour {
        client_id: client_id().to_string(),
        misbehaviour: Some(Any::from(Misbehaviour::new(client_id(), header1, header2))),
        signer: relayer().to_bech32(),
    }
}

fn frozen_height(c: &Chain) -> Option<RawHeight> {
    let stored = c.state.get_raw(CLIENT_STATE).unwrap().unwrap();
    let any = Any::decode(stored.as_slice()).unwrap();
    RawClientState::decode(any.value.as_slice())
        .unwrap()
        .frozen_height
        .filter(|h| *h != RawHeight::default())
}

#[test]
fn conflicting_signed_headers_freeze_the_client_which_then_takes_no_update_packet_or_transfer() {
    let validator = Validator::new(1);
    let mut c = chain_trusting(&validator);
    let honest = validator.header(11, 30, 0xaa);
    let forked = validator.header(11, 30, 0xbb);

    // Each header alone is one the client would take: the headers are
    // well formed and signed, so what follows is the freeze at work.
    let mut control = chain_trusting(&validator);
    control
        .run(
            "/ibc.core.client.v1.MsgUpdateClient",
            &update(honest.clone()),
        )
        .unwrap();
    assert!(control
        .state
        .get_raw(b"ibc/clients/07-tendermint-0/consensusStates/1-11")
        .unwrap()
        .is_some());

    // Sent the old way (MsgSubmitMisbehaviour) and the new way (the
    // misbehaviour as MsgUpdateClient's message), both freeze.
    let mut new_way = chain_trusting(&validator);
    new_way
        .run(
            "/ibc.core.client.v1.MsgUpdateClient",
            &MsgUpdateClient {
                client_id: client_id().to_string(),
                client_message: Some(Any::from(Misbehaviour::new(
                    client_id(),
                    honest.clone(),
                    forked.clone(),
                ))),
                signer: relayer().to_bech32(),
            },
        )
        .unwrap();
    assert!(frozen_height(&new_way).is_some());

    assert_eq!(frozen_height(&c), None);
    let events = c
        .run(
            "/ibc.core.client.v1.MsgSubmitMisbehaviour",
            &misbehaviour(honest.clone(), forked),
        )
        .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "client_misbehaviour"),
        "{events:?}"
    );
    assert!(frozen_height(&c).is_some(), "the client is frozen");

    // A frozen client takes no update, even an honest one.
    let frozen = |e: &str| {
        e.to_lowercase().contains("frozen") || e.contains("status") || e.contains("not active")
    };
    let e = c.refused("/ibc.core.client.v1.MsgUpdateClient", &update(honest));
    assert!(frozen(&e), "{e}");

    // No packet is received over it: whatever its proof, the client that
    // would check it is frozen.
    let data = serde_json::to_vec(&serde_json::json!({
        "denom": "uatom", "amount": "1000", "sender": "cosmos1sender",
        "receiver": relayer().to_bech32(),
    }))
    .unwrap();
    let e = c.refused("/ibc.core.channel.v1.MsgRecvPacket", &forged_recv(data));
    assert!(frozen(&e), "{e}");

    // And nothing is sent over it: a transfer would escrow tokens into a
    // channel that can never time out or be acknowledged.
    let alice = Address([0xa1; 20]);
    c.state.mint(&alice, &[Coin::new(1000, "udeai")]).unwrap();
    let before = c.state.clone();
    let e = c
        .transfer(&udeai_transfer(&alice, 300, 0))
        .unwrap_err()
        .to_string();
    assert!(frozen(&e), "{e}");
    assert!(c.state == before, "nothing escrowed");
}

#[test]
fn a_misbehaviour_that_proves_nothing_is_refused_and_freezes_nothing() {
    let validator = Validator::new(1);
    let stranger = Validator::new(2);
    let mut c = chain_trusting(&validator);
    let before = c.state.clone();
    let honest = validator.header(11, 30, 0xaa);
    for (what, header2) in [
        // The same header twice is evidence of nothing.
        ("the same header twice", honest.clone()),
        // A fork signed by a key the client never trusted.
        (
            "a header no trusted validator signed",
            stranger.header(11, 30, 0xbb),
        ),
        // A fork whose signature is not over its own block.
        ("a header with a forged signature", {
            let mut forged = validator.header(11, 30, 0xbb);
            let honest_sig = honest.signed_header.commit.signatures.clone();
            let mut commit = forged.signed_header.commit.clone();
            commit.signatures = honest_sig;
            forged.signed_header = block::signed_header::SignedHeader::new(
                forged.signed_header.header.clone(),
                commit,
            )
            .unwrap();
            forged
        }),
        // A fork said to follow a height the client never trusted.
        ("a header trusted from an unknown height", {
            let mut unknown = validator.header(11, 30, 0xbb);
            unknown.trusted_height = Height::new(1, 9).unwrap();
            unknown
        }),
        // A fork whose "trusted" validators are not the ones the client
        // trusts, signed by them.
        ("a header claiming other trusted validators", {
            let mut other = stranger.header(11, 30, 0xbb);
            other.trusted_next_validator_set = stranger.set.clone();
            other
        }),
    ] {
        let e = c.run(
            "/ibc.core.client.v1.MsgSubmitMisbehaviour",
            &misbehaviour(honest.clone(), header2),
        );
        assert!(e.is_err(), "{what} was taken as misbehaviour");
        assert_eq!(frozen_height(&c), None, "{what} froze the client");
        assert!(c.state == before, "{what} wrote something");
    }
}

#[test]
fn a_header_pays_gas_for_each_signature_the_client_will_check() {
    fn decode(type_url: &str, msg: &impl Message) -> crate::msg::IbcMsg {
        crate::msg::IbcMsg::decode(&cosmos_sdk_proto::Any {
            type_url: type_url.into(),
            value: msg.encode_to_vec(),
        })
        .unwrap()
    }
    use deai_types::{GasConfig, ModuleMsg};
    let gas = GasConfig::default();
    let validator = Validator::new(1);
    let header = validator.header(11, 30, 0xaa);
    let per_signature = 2 * gas.sig_verify_ed25519;
    let update_msg = decode(
        "/ibc.core.client.v1.MsgUpdateClient",
        &update(header.clone()),
    );
    assert_eq!(update_msg.execution_gas(&gas), per_signature);
    let both = decode(
        "/ibc.core.client.v1.MsgSubmitMisbehaviour",
        &misbehaviour(header, validator.header(11, 30, 0xbb)),
    );
    assert_eq!(both.execution_gas(&gas), 2 * per_signature);
    // A hundred validators' signatures cost a hundred times one.
    let mut many = validator.header(11, 30, 0xaa);
    let one = many.signed_header.commit.signatures[0].clone();
    let mut commit = many.signed_header.commit.clone();
    commit.signatures = vec![one; 100];
    many.signed_header =
        block::signed_header::SignedHeader::new(many.signed_header.header.clone(), commit).unwrap();
    let many = decode("/ibc.core.client.v1.MsgUpdateClient", &update(many));
    assert_eq!(many.execution_gas(&gas), 100 * per_signature);
    // Other messages pay for their bytes and store work only.
    let create = decode(
        "/ibc.core.client.v1.MsgCreateClient",
        &create_client_trusting(60, validator.set.hash()),
    );
    assert_eq!(create.execution_gas(&gas), 0);
}
