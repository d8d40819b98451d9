//! Compute jobs over IBC: a job packet is submitted to the market paid
//! from the sender's remote account, and acknowledged once the job is
//! final (the result on success, an error for an expired job); a job the
//! market refuses is acknowledged with its error at once and changes
//! nothing; the sending side records what comes back.

use base64::Engine;
use deai_bank::{BankRead, BankWrite};
use deai_compute_module::{ComputeGenesis, ComputeRead, ComputeWrite, JobStatus, Provider};
use deai_proto::ibccompute::v1 as pb;
use deai_types::{Address, Coin, MemState, StateRead, StateWrite};
use ibc::{
    core::{
        channel::types::{
            acknowledgement::Acknowledgement,
            packet::Packet,
            timeout::{TimeoutHeight, TimeoutTimestamp},
        },
        client::types::Height,
        host::types::identifiers::{ChainId, ChannelId, PortId, Sequence},
        router::module::Module,
    },
    primitives::Signer,
};
use prost::Message;
use sha2::Digest;

use super::{open_channel, relayer, Chain, Host};
use crate::{
    compute::{remote_account, write_due_acks, ComputeApp, JobBlock, JobOutcome},
    host::HostBlock,
    msg::{SendJobMsg, SEND_COMPUTE_JOB_TYPE_URL},
    shared::SharedState,
};

fn compute_port() -> PortId {
    PortId::new("compute".into()).unwrap()
}

/// A 1×1×1 gemm-i8 input.
fn gemm_input() -> Vec<u8> {
    let mut v = b"DGM1".to_vec();
    for d in [1u32, 1, 1] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v.extend_from_slice(&[3, 4]);
    v
}

/// A chain with channel compute/channel-1 open to the counterparty's
/// compute/channel-4, and one bonded compute provider.
fn market() -> Chain {
    let mut c = Chain::new();
    open_channel(&mut c, compute_port(), 1, 4, "deai-compute-1");
    let genesis = ComputeGenesis {
        providers: vec![Provider {
            address: Address([0x50; 20]),
            bond: 1_000_000_000,
            device: "test".into(),
            jailed_until: 0,
            open_jobs: 0,
            registered_height: 0,
            unbonding: 0,
        }],
        ..Default::default()
    };
    c.state
        .mint(
            &deai_compute_module::module_address(),
            &[Coin::new(1_000_000_000, "udeai")],
        )
        .unwrap();
    genesis.init(&mut c.state).unwrap();
    c
}

fn job_data(sender: &str, price: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "sender": sender,
        "kind": "gemm-i8",
        "input": base64::engine::general_purpose::STANDARD.encode(gemm_input()),
        "replication": 1,
        "price_per_replica": price,
        "deadline_blocks": 30,
    }))
    .unwrap()
}

fn packet(seq: u64, data: Vec<u8>) -> Packet {
    Packet {
        seq_on_a: Sequence::from(seq),
        port_id_on_a: compute_port(),
        chan_id_on_a: ChannelId::new(4),
        port_id_on_b: compute_port(),
        chan_id_on_b: ChannelId::new(1),
        data,
        timeout_height_on_b: TimeoutHeight::At(Height::new(1, 1000).unwrap()),
        timeout_timestamp_on_b: TimeoutTimestamp::Never,
    }
}

/// Runs the compute application's receive and returns its acknowledgement.
fn receive(c: &mut Chain, p: &Packet) -> Option<serde_json::Value> {
    let block = JobBlock {
        height: c.height,
        prev_app_hash: vec![9; 32],
    };
    let mut s: &mut dyn StateWrite = &mut c.state;
    let shared = SharedState::new(&mut s);
    let mut app = ComputeApp::new(shared.clone(), block);
    let (_, ack) = app.on_recv_packet_execute(p, &Signer::from(relayer().to_bech32()));
    assert!(shared.fault().is_none());
    ack.map(|a| serde_json::from_slice(a.as_bytes()).unwrap())
}

/// The IBC module's end block at `height`: the acknowledgements due.
fn acks(c: &mut Chain, height: u64) -> Result<Vec<deai_types::Event>, String> {
    let block = HostBlock {
        height,
        time: c.time,
        chain_id: ChainId::new("deai-1").unwrap(),
    };
    write_due_acks(&mut c.state, block)
}

fn snapshot(state: &MemState) -> Vec<(Vec<u8>, Vec<u8>)> {
    state.prefix_raw(b"", None, usize::MAX).unwrap()
}

#[test]
fn a_job_packet_runs_on_the_market_and_is_acknowledged_with_its_result() {
    let mut c = market();
    let sender = "cosmos1remotesender";
    let payer = remote_account("compute", "channel-1", sender);
    c.state.mint(&payer, &[Coin::new(5000, "udeai")]).unwrap();

    let ack = receive(&mut c, &packet(1, job_data(sender, "2000")));
    assert_eq!(ack, None, "the acknowledgement waits for the job");
    let job = c.state.job(1).unwrap().unwrap();
    assert_eq!(job.requester, payer);
    assert_eq!(job.deadline, Some(c.height + 30));
    assert_eq!(c.state.balance(&payer, "udeai").unwrap(), 3000, "escrowed");

    // Before the deadline nothing is written; at it, a job still running
    // is looked at again the next block.
    let deadline = c.height + 30;
    assert!(acks(&mut c, deadline - 1).unwrap().is_empty());
    acks(&mut c, deadline).unwrap();
    let ack_key = b"ibc/acks/ports/compute/channels/channel-1/sequences/1";
    assert!(c.state.get_raw(ack_key).unwrap().is_none());

    // The market settles it (as its end block would).
    let mut job = c.state.job(1).unwrap().unwrap();
    job.status = JobStatus::Finalized;
    job.result_hash = Some([7; 32]);
    job.output = vec![12, 0, 0, 0];
    c.state.put_job(&job).unwrap();
    let events = acks(&mut c, deadline + 1).unwrap();
    let written = events
        .iter()
        .find(|e| e.kind == "write_acknowledgement")
        .expect("write_acknowledgement");
    let ack_hex = &written
        .attributes
        .iter()
        .find(|(k, _)| k == "packet_ack_hex")
        .unwrap()
        .1;
    let ack_bytes = hex::decode(ack_hex).unwrap();
    // The commitment a relayer proves is ibc-go's: SHA-256 of the ack.
    assert_eq!(
        c.state.get_raw(ack_key).unwrap().unwrap(),
        sha2::Sha256::digest(&ack_bytes).to_vec()
    );
    let ack: serde_json::Value = serde_json::from_slice(&ack_bytes).unwrap();
    let outcome = base64::engine::general_purpose::STANDARD
        .decode(ack["result"].as_str().unwrap())
        .unwrap();
    let outcome: JobOutcome = serde_json::from_slice(&outcome).unwrap();
    assert_eq!(outcome.job_id, 1);
    assert_eq!(outcome.result_hash, hex::encode([7; 32]));
    assert_eq!(outcome.output, "DAAAAA==");
    // Done: the next blocks write nothing more.
    assert!(acks(&mut c, deadline + 2).unwrap().is_empty());
}

#[test]
fn an_expired_job_is_acknowledged_with_an_error() {
    let mut c = market();
    let sender = "cosmos1remotesender";
    let payer = remote_account("compute", "channel-1", sender);
    c.state.mint(&payer, &[Coin::new(5000, "udeai")]).unwrap();
    receive(&mut c, &packet(1, job_data(sender, "2000")));
    let mut job = c.state.job(1).unwrap().unwrap();
    job.status = JobStatus::Expired;
    c.state.put_job(&job).unwrap();
    let deadline = c.height + 30;
    let events = acks(&mut c, deadline).unwrap();
    let written = events
        .iter()
        .find(|e| e.kind == "write_acknowledgement")
        .unwrap();
    let ack = &written
        .attributes
        .iter()
        .find(|(k, _)| k == "packet_ack")
        .unwrap()
        .1;
    let ack: serde_json::Value = serde_json::from_str(ack).unwrap();
    assert!(ack["error"].as_str().unwrap().contains("expired"), "{ack}");
}

#[test]
fn a_job_the_market_refuses_is_acknowledged_with_its_error_and_changes_nothing() {
    let mut c = market();
    let sender = "cosmos1remotesender";
    let payer = remote_account("compute", "channel-1", sender);
    c.state.mint(&payer, &[Coin::new(1000, "udeai")]).unwrap();
    let mut unknown_field: serde_json::Value =
        serde_json::from_slice(&job_data(sender, "1000")).unwrap();
    unknown_field["extra"] = serde_json::json!(1);
    let cases = [
        ("not JSON", b"{".to_vec()),
        (
            "an unknown field",
            serde_json::to_vec(&unknown_field).unwrap(),
        ),
        (
            "more than the remote account holds",
            job_data(sender, "2000"),
        ),
        ("an unfunded sender", job_data("cosmos1nobody", "1000")),
        ("a sender with a quote", job_data("a\"b", "1000")),
    ];
    for (i, (what, data)) in cases.into_iter().enumerate() {
        let before = snapshot(&c.state);
        let ack = receive(&mut c, &packet(u64::try_from(i).unwrap() + 1, data))
            .unwrap_or_else(|| panic!("{what}: no acknowledgement"));
        assert!(ack["error"].is_string(), "{what}: {ack}");
        assert_eq!(snapshot(&c.state), before, "{what} changed state");
    }
}

#[test]
fn the_sending_chain_records_results_errors_and_timeouts() {
    let mut c = market();
    let alice = Address([0xa1; 20]);
    let msg = pb::MsgSendComputeJob {
        sender: alice.to_bech32(),
        source_channel: "channel-1".into(),
        kind: "gemm-i8".into(),
        model_id: String::new(),
        input: gemm_input(),
        replication: 1,
        price_per_replica: "200".into(),
        deadline_blocks: 30,
        timeout_revision_number: 1,
        timeout_revision_height: 1000,
        timeout_timestamp: 0,
    };
    let send = |c: &mut Chain| {
        let any = cosmos_sdk_proto::Any {
            type_url: SEND_COMPUTE_JOB_TYPE_URL.into(),
            value: msg.encode_to_vec(),
        };
        let m = SendJobMsg::decode(&any).unwrap();
        deai_types::testing::run_msg(&mut c.state, &m, (c.height, c.time), &Host).unwrap()
    };
    let events = send(&mut c);
    assert!(events.iter().any(|e| e.kind == "send_packet"), "{events:?}");
    send(&mut c);
    send(&mut c);
    let sent = |c: &Chain, seq| {
        crate::compute::sent_job(&c.state, "channel-1", seq)
            .unwrap()
            .unwrap()
    };
    assert_eq!(sent(&c, 1).status, pb::RemoteJobStatus::Pending as i32);

    // The packet as the receiving chain sees it carries the job.
    let outgoing = |seq: u64| Packet {
        seq_on_a: Sequence::from(seq),
        port_id_on_a: compute_port(),
        chan_id_on_a: ChannelId::new(1),
        port_id_on_b: compute_port(),
        chan_id_on_b: ChannelId::new(4),
        data: Vec::new(),
        timeout_height_on_b: TimeoutHeight::At(Height::new(1, 1000).unwrap()),
        timeout_timestamp_on_b: TimeoutTimestamp::Never,
    };
    let outcome = serde_json::to_vec(&JobOutcome {
        job_id: 9,
        status: "finalized".into(),
        result_hash: hex::encode([5; 32]),
        output: "DAAAAA==".into(),
        output_len: 4,
    })
    .unwrap();
    let ok: Acknowledgement = serde_json::to_vec(&serde_json::json!({
        "result": base64::engine::general_purpose::STANDARD.encode(outcome)
    }))
    .unwrap()
    .try_into()
    .unwrap();
    let failed: Acknowledgement = br#"{"error":"job 3 expired"}"#.to_vec().try_into().unwrap();
    let block = JobBlock {
        height: c.height,
        prev_app_hash: Vec::new(),
    };
    {
        let mut s: &mut dyn StateWrite = &mut c.state;
        let mut app = ComputeApp::new(SharedState::new(&mut s), block);
        let r = Signer::from(relayer().to_bech32());
        app.on_acknowledgement_packet_execute(&outgoing(1), &ok, &r)
            .1
            .unwrap();
        app.on_acknowledgement_packet_execute(&outgoing(2), &failed, &r)
            .1
            .unwrap();
        app.on_timeout_packet_execute(&outgoing(3), &r).1.unwrap();
    }
    let done = sent(&c, 1);
    assert_eq!(done.status, pb::RemoteJobStatus::Done as i32);
    assert_eq!((done.job_id, done.output.clone()), (9, vec![12, 0, 0, 0]));
    let failed = sent(&c, 2);
    assert_eq!(failed.status, pb::RemoteJobStatus::Failed as i32);
    assert!(failed.error.contains("expired"));
    assert_eq!(sent(&c, 3).status, pb::RemoteJobStatus::TimedOut as i32);
}

#[test]
fn remote_jobs_and_accounts_are_queried() {
    let mut c = market();
    let msg = pb::MsgSendComputeJob {
        sender: Address([0xa1; 20]).to_bech32(),
        source_channel: "channel-1".into(),
        kind: "gemm-i8".into(),
        model_id: String::new(),
        input: gemm_input(),
        replication: 1,
        price_per_replica: "2000".into(),
        deadline_blocks: 30,
        timeout_revision_number: 0,
        timeout_revision_height: 0,
        timeout_timestamp: 4_000_000_000_000_000_000,
    };
    let any = cosmos_sdk_proto::Any {
        type_url: SEND_COMPUTE_JOB_TYPE_URL.into(),
        value: msg.encode_to_vec(),
    };
    let m = SendJobMsg::decode(&any).unwrap();
    deai_types::testing::run_msg(&mut c.state, &m, (c.height, c.time), &Host).unwrap();
    let ask = |method: &str, req: Vec<u8>| {
        crate::compute::query(
            &c.state,
            &format!("/deai.ibccompute.v1.Query/{method}"),
            &req,
        )
        .unwrap()
    };
    let r = ask(
        "RemoteJob",
        pb::QueryRemoteJobRequest {
            channel: "channel-1".into(),
            sequence: 1,
        }
        .encode_to_vec(),
    )
    .unwrap();
    let job = pb::QueryRemoteJobResponse::decode(r.as_slice())
        .unwrap()
        .job
        .unwrap();
    assert_eq!(job.status, pb::RemoteJobStatus::Pending as i32);
    let e = ask(
        "RemoteJob",
        pb::QueryRemoteJobRequest {
            channel: "channel-1".into(),
            sequence: 2,
        }
        .encode_to_vec(),
    )
    .unwrap_err();
    assert_eq!(e.code, 22);
    let r = ask(
        "RemoteAccount",
        pb::QueryRemoteAccountRequest {
            port: "compute".into(),
            channel: "channel-1".into(),
            sender: "cosmos1remotesender".into(),
        }
        .encode_to_vec(),
    )
    .unwrap();
    let account = pb::QueryRemoteAccountResponse::decode(r.as_slice())
        .unwrap()
        .account;
    assert_eq!(
        account,
        remote_account("compute", "channel-1", "cosmos1remotesender").to_bech32()
    );
    let e = ask(
        "RemoteAccount",
        pb::QueryRemoteAccountRequest {
            port: "compute".into(),
            channel: "channel 1".into(),
            sender: "x".into(),
        }
        .encode_to_vec(),
    )
    .unwrap_err();
    assert_eq!(e.code, 18);
}

/// Runs `MsgReclaimRemoteFunds` of `amount` udeai from the remote account
/// of `sender` on channel-1 to `signer`, as a transaction would.
fn reclaim(
    c: &mut Chain,
    signer: &Address,
    sender: &str,
    amount: u128,
) -> Result<Vec<deai_types::Event>, String> {
    let any = cosmos_sdk_proto::Any {
        type_url: crate::msg::RECLAIM_REMOTE_FUNDS_TYPE_URL.into(),
        value: pb::MsgReclaimRemoteFunds {
            signer: signer.to_bech32(),
            channel: "channel-1".into(),
            sender: sender.into(),
            amount: vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
                denom: "udeai".into(),
                amount: amount.to_string(),
            }],
        }
        .encode_to_vec(),
    };
    let msg = crate::msg::ReclaimMsg::decode(&any).map_err(|e| e.to_string())?;
    deai_types::testing::run_msg(&mut c.state, &msg, (c.height, c.time), &Host)
        .map_err(|e| e.to_string())
}

#[test]
fn the_key_that_sent_jobs_reclaims_what_is_left_in_its_remote_account() {
    let mut c = market();
    // Alice's key is cosmos1… on the other chain and deai1… here: the same
    // 20 bytes.
    let alice = Address([0xa1; 20]);
    let on_hub =
        bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("cosmos").unwrap(), &alice.0).unwrap();
    let remote = remote_account("compute", "channel-1", &on_hub);
    c.state.mint(&remote, &[Coin::new(500, "udeai")]).unwrap();

    // Someone else cannot take it, whatever the sender string says, and
    // neither can a sender whose address is no 20-byte account.
    let mallory = Address([0x66; 20]);
    let before = c.state.clone();
    let e = reclaim(&mut c, &mallory, &on_hub, 500).unwrap_err();
    assert!(e.contains("only the key that sent the jobs"), "{e}");
    let contract =
        bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("osmo").unwrap(), &[0xa1; 32]).unwrap();
    assert!(reclaim(&mut c, &alice, &contract, 1).is_err());
    assert!(reclaim(&mut c, &alice, "not bech32", 1).is_err());
    // More than is left is refused and moves nothing.
    assert!(reclaim(&mut c, &alice, &on_hub, 501).is_err());
    assert!(c.state == before);

    let events = reclaim(&mut c, &alice, &on_hub, 300).unwrap();
    assert!(events.iter().any(|e| e.kind == "transfer"), "{events:?}");
    assert_eq!(c.state.balance(&remote, "udeai").unwrap(), 200);
    assert_eq!(c.state.balance(&alice, "udeai").unwrap(), 300);
    // The remote account of the same bytes on another channel is another
    // account: channel-1's funds are the only ones this reaches.
    assert_ne!(remote_account("compute", "channel-2", &on_hub), remote);
}
