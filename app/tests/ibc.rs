//! IBC through the real [`App`] on RocksDB: a relayer's signed
//! `MsgCreateClient` creates a 07-tendermint client, and `abci_query` of
//! `store/ibc/key` answers its state with the two ICS-23 proofs a
//! counterparty's client checks (the path in the IBC substore, then the
//! substore's root under `ibc` in the main tree) against the app hash of
//! that height; a path never written gets proofs of its absence.

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
use ibc_proto::ibc::core::client::v1::MsgCreateClient;
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

#[test]
fn a_client_created_by_a_relayer_is_proven_to_a_counterparty_against_the_app_hash() {
    let relayer = Key::from_label("ibc-relayer");
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(dir.path()).unwrap();
    let genesis = json!({
        "bank": {"balances": [{"address": relayer.address().to_bech32(),
            "coins": [{"denom": "udeai", "amount": "1000000000"}]}]},
    });
    app.init_chain(CHAIN, 1, &serde_json::to_vec(&genesis).unwrap())
        .unwrap();
    let block = |app: &mut App, txs: Vec<Vec<u8>>| {
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
    };
    block(&mut app, Vec::new());
    let acc = app
        .storage()
        .latest_snapshot()
        .account(&relayer.address())
        .unwrap()
        .unwrap();
    let msg = create_client(&relayer.address().to_bech32());
    let tx = sign_tx(
        &relayer,
        vec![any("/ibc.core.client.v1.MsgCreateClient", &msg)],
        &TxParams {
            chain_id: CHAIN.into(),
            account_number: acc.account_number,
            sequence: acc.sequence,
            fee: Some(Coin::new(5_000, "udeai")),
            gas_limit: 500_000,
            memo: String::new(),
        },
    );
    let out = block(&mut app, vec![tx]);
    assert_eq!(out.tx_results[0].code, 0, "{}", out.tx_results[0].log);
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
