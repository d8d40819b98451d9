//! Every event the chain emits is a typed proto message. Representative
//! blocks run through the real [`App`] (bank sends, treasury funding and
//! governance spends and streams, proposals with deposits, weighted votes,
//! cancellations and every module's params update, and compute providers
//! bonding, a job run to settlement and one a provider misses), and every
//! event of every tx and block must be the ABCI form of a
//! `deai.*.v1.Event*` message of the descriptor set: of the kind its name
//! gives, with the message's fields as attribute keys in field order. An
//! event built by hand fails here. A few kinds are also read back into their
//! generated Rust types.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use cosmos_sdk_proto::{
    cosmos::{
        bank::v1beta1::{Input, MsgMultiSend, Output},
        base::v1beta1::Coin as ProtoCoin,
        gov::v1 as sdk_gov,
    },
    Any,
};
use deai_app::{App, BlockOutcome, TxOutcome};
use deai_client::tx::{any, msg_send, msg_vote, sign_tx, Key, TxParams};
use deai_compute_module::record::{commitment, sha3, Hash};
use deai_proto::{
    app::v1::{EventMessage, EventTx},
    bank::v1::EventTransfer,
    compute::v1::{self as cpb, EventComputeJobAssigned},
    events,
    gov::v1::{self as gpb, EventProposalVote},
    treasury::v1 as tpb,
};
use deai_types::{Address, Coin, Event};
use serde_json::json;

const CHAIN: &str = "deai-events-test";
/// Opening balance of every account.
const START: u128 = 100_000_000;
/// Gas limit of every tx; its minimum fee is 1% of this.
const GAS: u64 = 2_000_000;
/// Fee of every tx.
const FEE: u128 = 30_000;
/// Each provider's bond.
const BOND: u128 = 10_000_000;

/// The attribute keys of `e`, the kind first.
fn shape(e: &Event) -> Vec<&str> {
    std::iter::once(e.kind.as_str())
        .chain(e.attributes.iter().map(|(k, _)| k.as_str()))
        .collect()
}

/// Fails unless `e` is the ABCI form of a `deai.*.v1.Event*` message:
/// reading it into the message of its kind and writing that back gives the
/// same kind, keys, order and values.
fn assert_typed(e: &Event) {
    let msg = events::from_attributes(&e.kind, &e.attributes)
        .unwrap_or_else(|err| panic!("{:?} is no typed event: {err}", shape(e)));
    let (kind, attributes) = events::to_attributes(&msg).unwrap();
    assert_eq!(
        (&kind, &attributes),
        (&e.kind, &e.attributes),
        "{:?} does not round-trip through its message",
        shape(e)
    );
}

/// A chain of one app: a requester, three providers, all voting members.
struct Chain {
    app: App,
    requester: Key,
    providers: Vec<Key>,
    /// Every event of every block so far, tx events first, in order.
    seen: Vec<Event>,
    _dir: tempfile::TempDir,
}

fn udeai(n: u128) -> Vec<ProtoCoin> {
    vec![ProtoCoin {
        denom: "udeai".into(),
        amount: n.to_string(),
    }]
}

fn ok(r: &TxOutcome) {
    assert_eq!(r.code, 0, "tx failed: {}", r.log);
}

/// The values of `key` in the events of `kind`.
fn attr(events: &[Event], kind: &str, key: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .flat_map(|e| &e.attributes)
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

impl Chain {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(dir.path()).unwrap();
        let requester = Key::from_label("events-requester");
        let providers: Vec<Key> = (0..3)
            .map(|i| Key::from_label(&format!("events-provider-{i}")))
            .collect();
        let balances: Vec<_> = std::iter::once(&requester)
            .chain(&providers)
            .map(|k| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": START.to_string()}]}))
            .chain(std::iter::once(json!({"address": deai_treasury::address().to_bech32(), "coins": [{"denom": "udeai", "amount": "1000000"}]})))
            .collect();
        let mut gov = serde_json::to_value(deai_gov::GovParams::default()).unwrap();
        gov["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
        gov["max_deposit_period_blocks"] = json!(10);
        gov["voting_period_blocks"] = json!(3);
        gov["expedited_voting_period_blocks"] = json!(2);
        let genesis = json!({
            "bank": {"balances": balances},
            "gov": {"params": gov},
            "compute": {"params": compute_params()},
        });
        app.init_chain(CHAIN, 1, &serde_json::to_vec(&genesis).unwrap())
            .unwrap();
        let mut chain = Chain {
            app,
            requester,
            providers,
            seen: Vec::new(),
            _dir: dir,
        };
        chain.block(&[]);
        chain
    }

    /// Every key, requester first.
    fn keys(&self) -> Vec<Key> {
        std::iter::once(&self.requester)
            .chain(&self.providers)
            .cloned()
            .collect()
    }

    /// One block as CometBFT runs it; every event it emits is checked.
    fn block(&mut self, txs: &[Vec<u8>]) -> BlockOutcome {
        let txs: Vec<bytes::Bytes> = txs.iter().cloned().map(bytes::Bytes::from).collect();
        let chosen = self.app.prepare_proposal(&txs, 4 * 1024 * 1024);
        assert_eq!(chosen.len(), txs.len(), "PrepareProposal dropped a tx");
        assert!(self.app.process_proposal(&chosen));
        let height = self.app.last_height() + 1;
        let out = self
            .app
            .finalize_block(&deai_app::BlockInfo::at(height), &chosen)
            .unwrap();
        self.app.commit().unwrap();
        for e in out
            .tx_results
            .iter()
            .flat_map(|r| &r.events)
            .chain(&out.events)
        {
            assert_typed(e);
            self.seen.push(e.clone());
        }
        out
    }

    /// Empty blocks until one emits an event of `kind`; returns its events.
    fn until(&mut self, kind: &str) -> Vec<Event> {
        for _ in 0..20 {
            let out = self.block(&[]);
            if out.events.iter().any(|e| e.kind == kind) {
                return out.events;
            }
        }
        panic!("no {kind} event in 20 blocks");
    }

    /// `msgs` signed by `key` at its committed sequence.
    fn tx(&self, key: &Key, msgs: Vec<Any>) -> Vec<u8> {
        let acc =
            deai_auth::AuthRead::account(&self.app.storage().latest_snapshot(), &key.address())
                .unwrap()
                .unwrap();
        sign_tx(
            key,
            msgs,
            &TxParams {
                chain_id: CHAIN.into(),
                account_number: acc.account_number,
                sequence: acc.sequence,
                fee: Some(Coin::new(FEE, "udeai")),
                gas_limit: GAS,
                memo: String::new(),
            },
        )
    }

    /// A proposal of `messages` by the requester with `deposit`; its id.
    fn propose(&mut self, messages: Vec<Any>, deposit: u128) -> u64 {
        let proposer = self.requester.clone();
        let submit = any(
            deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
            &sdk_gov::MsgSubmitProposal {
                messages,
                initial_deposit: udeai(deposit),
                proposer: proposer.address().to_bech32(),
                metadata: String::new(),
                title: "A proposal".into(),
                summary: "For the test.".into(),
                expedited: false,
            },
        );
        let r = self.block(&[self.tx(&proposer, vec![submit])]);
        ok(&r.tx_results[0]);
        attr(&r.tx_results[0].events, "submit_proposal", "proposal_id")[0]
            .parse()
            .unwrap()
    }
}

fn compute_params() -> serde_json::Value {
    let mut p = serde_json::to_value(deai_compute_module::ComputeParams::default()).unwrap();
    p["min_provider_bond"] = json!("1000000");
    p["commit_window"] = json!(2);
    p["reveal_window"] = json!(2);
    p["min_phase_window"] = json!(1);
    p["jail_period"] = json!(2);
    p["unbonding_period"] = json!(2);
    p["reward_per_work_unit"] = json!("1000");
    p
}

/// A valid gemm-i8 input: a 2×2×2 product whose matrices depend on `tag`.
fn gemm(tag: u8) -> Vec<u8> {
    let mut v = deai_compute_module::input::GEMM_I8_MAGIC_V1.to_vec();
    for d in [2u32, 2, 2] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v.extend((0..8u8).map(|i| tag.wrapping_add(i)));
    v
}

fn gov() -> String {
    deai_gov::authority().to_bech32()
}

#[test]
fn every_event_the_chain_emits_is_a_typed_proto_message() {
    let mut chain = Chain::new();
    let requester = chain.requester.clone();
    let providers = chain.providers.clone();
    let [p0, p1, p2] = [0, 1, 2].map(|i| providers[i].address());

    // Bank, treasury funding, compute registration and vote delegation.
    let mut txs = vec![chain.tx(
        &requester,
        vec![
            msg_send(&requester.address(), &p0, &[Coin::new(7, "udeai")]),
            any(
                deai_bank::MSG_MULTI_SEND_TYPE_URL,
                &MsgMultiSend {
                    inputs: vec![Input {
                        address: requester.address().to_bech32(),
                        coins: udeai(3),
                    }],
                    outputs: vec![
                        Output {
                            address: p1.to_bech32(),
                            coins: udeai(1),
                        },
                        Output {
                            address: p2.to_bech32(),
                            coins: udeai(2),
                        },
                    ],
                },
            ),
            any(
                deai_treasury::MSG_FUND_TYPE_URL,
                &tpb::MsgFund {
                    funder: requester.address().to_bech32(),
                    amount: udeai(50_000),
                },
            ),
        ],
    )];
    for (i, k) in providers.iter().enumerate() {
        let mut msgs = vec![any(
            deai_compute_module::MSG_REGISTER_PROVIDER_TYPE_URL,
            &cpb::MsgRegisterProvider {
                provider: k.address().to_bech32(),
                bond: BOND.to_string(),
                device: format!("test device {i}"),
            },
        )];
        if i == 1 {
            msgs.push(any(
                deai_gov::MSG_DELEGATE_TYPE_URL,
                &gpb::MsgDelegateVotingPower {
                    delegator: p1.to_bech32(),
                    delegate: p2.to_bech32(),
                },
            ));
        }
        if i == 2 {
            msgs.push(any(
                deai_gov::MSG_SET_DELEGATION_POLICY_TYPE_URL,
                &gpb::MsgSetDelegationPolicy {
                    delegate: p2.to_bech32(),
                    accept: true,
                },
            ));
        }
        txs.push(chain.tx(k, msgs));
    }
    chain.block(&txs).tx_results.iter().for_each(ok);

    // (c) Read back as typed messages.
    let first = chain.seen.clone();
    let transfer: EventTransfer = first
        .iter()
        .find(|e| e.kind == "transfer")
        .unwrap()
        .to_typed()
        .unwrap();
    assert_eq!(
        (transfer.sender, transfer.recipient, transfer.amount),
        (
            requester.address().to_bech32(),
            p0.to_bech32(),
            "7udeai".into()
        )
    );
    let fee: EventTx = first
        .iter()
        .find(|e| e.kind == "tx")
        .unwrap()
        .to_typed()
        .unwrap();
    assert_eq!(fee.fee.as_deref(), Some("30000udeai"));
    assert_eq!(fee.acc_seq, None);
    let message: EventMessage = first
        .iter()
        .find(|e| e.kind == "message")
        .unwrap()
        .to_typed()
        .unwrap();
    assert_eq!(message.action, deai_bank::MSG_SEND_TYPE_URL);
    assert_eq!(message.module, "bank");

    // A failing message still pays its fee: the ante's events stay.
    let overdraft = chain.tx(
        &requester,
        vec![msg_send(
            &requester.address(),
            &p0,
            &[Coin::new(START * 2, "udeai")],
        )],
    );
    assert_ne!(chain.block(&[overdraft]).tx_results[0].code, 0);

    // Compute: more bond, an unbonding, and a job all three run.
    let job_tx = |chain: &Chain, tag: u8| {
        let input = gemm(tag);
        chain.tx(
            &requester,
            vec![any(
                deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
                &cpb::MsgSubmitJob {
                    requester: requester.address().to_bech32(),
                    kind: "gemm-i8".into(),
                    model_id: String::new(),
                    input_hash: sha3(&[&input]).to_vec(),
                    input,
                    replication: 3,
                    price_per_replica: "40000".into(),
                    deadline: 0,
                },
            )],
        )
    };
    let txs = vec![
        job_tx(&chain, 1),
        chain.tx(
            &providers[0],
            vec![any(
                deai_compute_module::MSG_BOND_TYPE_URL,
                &cpb::MsgBond {
                    provider: p0.to_bech32(),
                    amount: "1000".into(),
                },
            )],
        ),
        chain.tx(
            &providers[1],
            vec![any(
                deai_compute_module::MSG_UNBOND_TYPE_URL,
                &cpb::MsgUnbond {
                    provider: p1.to_bech32(),
                    amount: "1000".into(),
                },
            )],
        ),
    ];
    let r = chain.block(&txs);
    r.tx_results.iter().for_each(ok);
    let job: u64 = attr(&r.tx_results[0].events, "compute_job_submitted", "job_id")[0]
        .parse()
        .unwrap();
    let run = |chain: &mut Chain, job: u64, who: &[usize]| {
        let result: Hash = sha3(&[b"the result"]);
        let salt = |i: usize| vec![i as u8 + 1; 16];
        let commits: Vec<_> = who
            .iter()
            .map(|&i| {
                let k = &chain.providers[i];
                chain.tx(
                    k,
                    vec![any(
                        deai_compute_module::MSG_COMMIT_RESULT_TYPE_URL,
                        &cpb::MsgCommitResult {
                            provider: k.address().to_bech32(),
                            job_id: job,
                            commitment: commitment(&result, &k.address(), &salt(i)).to_vec(),
                        },
                    )],
                )
            })
            .collect();
        chain.block(&commits).tx_results.iter().for_each(ok);
        // Reveals open once all have committed or the commit window closed.
        let assigned: EventComputeJobAssigned = chain
            .seen
            .iter()
            .find(|e| e.kind == "compute_job_assigned" && e.attributes[0].1 == job.to_string())
            .unwrap()
            .to_typed()
            .unwrap();
        if who.len() < assigned.provider.len() {
            let commit_deadline: u64 = assigned.commit_deadline.parse().unwrap();
            while chain.app.last_height() < commit_deadline {
                chain.block(&[]);
            }
        }
        let reveals: Vec<_> = who
            .iter()
            .map(|&i| {
                let k = &chain.providers[i];
                chain.tx(
                    k,
                    vec![any(
                        deai_compute_module::MSG_REVEAL_RESULT_TYPE_URL,
                        &cpb::MsgRevealResult {
                            provider: k.address().to_bech32(),
                            job_id: job,
                            result_hash: result.to_vec(),
                            salt: salt(i),
                            output: Vec::new(),
                        },
                    )],
                )
            })
            .collect();
        chain.block(&reveals).tx_results.iter().for_each(ok);
        chain.until("compute_job_settled")
    };
    run(&mut chain, job, &[0, 1, 2]);
    let assigned = chain
        .seen
        .iter()
        .find(|e| e.kind == "compute_job_assigned")
        .unwrap()
        .to_typed::<EventComputeJobAssigned>()
        .unwrap();
    assert_eq!(assigned.job_id, job.to_string());
    let mut drawn = assigned.provider;
    drawn.sort();
    let mut all: Vec<String> = [p0, p1, p2].iter().map(Address::to_bech32).collect();
    all.sort();
    assert_eq!(drawn, all, "one provider attribute per assigned provider");

    // A second job that provider 2 misses: it is slashed, jailed and let go.
    let r = chain.block(&[job_tx(&chain, 2)]);
    ok(&r.tx_results[0]);
    let job: u64 = attr(&r.tx_results[0].events, "compute_job_submitted", "job_id")[0]
        .parse()
        .unwrap();
    run(&mut chain, job, &[0, 1]);
    chain.until("compute_provider_unjailed");

    // Governance: a proposal deposited in two steps, voted on (one vote
    // weighted), that updates every module's params and spends and streams
    // from the treasury.
    let stream_to = Key::from_label("events-grantee").address();
    let id = chain.propose(
        vec![
            any(
                deai_auth::MSG_UPDATE_PARAMS_TYPE_URL,
                &deai_proto::auth::v1::MsgUpdateParams {
                    authority: gov(),
                    params: Some(deai_auth::AuthParams::default().to_proto()),
                },
            ),
            any(
                deai_bank::MSG_UPDATE_PARAMS_TYPE_URL,
                &deai_proto::bank::v1::MsgUpdateParams {
                    authority: gov(),
                    params: Some(deai_bank::BankParams::default().to_proto()),
                },
            ),
            any(
                deai_compute_module::MSG_UPDATE_PARAMS_TYPE_URL,
                &cpb::MsgUpdateParams {
                    authority: gov(),
                    params: Some(
                        serde_json::from_value::<deai_compute_module::ComputeParams>(
                            compute_params(),
                        )
                        .unwrap()
                        .to_proto(),
                    ),
                },
            ),
            any(
                deai_gov::MSG_UPDATE_PARAMS_TYPE_URL,
                &gpb::MsgUpdateParams {
                    authority: gov(),
                    params: chain_gov_params(&chain),
                },
            ),
            any(
                deai_treasury::MSG_UPDATE_PARAMS_TYPE_URL,
                &tpb::MsgUpdateParams {
                    authority: gov(),
                    params: Some(deai_treasury::TreasuryParams::default().to_proto()),
                },
            ),
            any(
                deai_compute_module::MSG_REGISTER_MODEL_TYPE_URL,
                &cpb::MsgRegisterModel {
                    authority: gov(),
                    model: Some(cpb::Model {
                        id: "ab".repeat(32),
                        name: "test model".into(),
                        architecture: "bert".into(),
                        quantization: "int8".into(),
                        license: "Apache-2.0".into(),
                        size_bytes: 1,
                    }),
                },
            ),
            any(
                deai_treasury::MSG_SPEND_TYPE_URL,
                &tpb::MsgSpend {
                    authority: gov(),
                    recipient: stream_to.to_bech32(),
                    amount: udeai(10),
                },
            ),
            any(
                deai_treasury::MSG_CREATE_STREAM_TYPE_URL,
                &tpb::MsgCreateStream {
                    authority: gov(),
                    recipient: stream_to.to_bech32(),
                    amount_per_block: udeai(5),
                    payments: 2,
                },
            ),
        ],
        500,
    );
    let deposit = chain.tx(
        &requester,
        vec![any(
            deai_gov::MSG_DEPOSIT_TYPE_URL,
            &sdk_gov::MsgDeposit {
                proposal_id: id,
                depositor: requester.address().to_bech32(),
                amount: udeai(500),
            },
        )],
    );
    ok(&chain.block(&[deposit]).tx_results[0]);
    let mut votes: Vec<_> = chain
        .keys()
        .iter()
        .skip(1)
        .map(|k| chain.tx(k, vec![msg_vote(&k.address(), id, gpb::VoteOption::Yes)]))
        .collect();
    votes.push(chain.tx(
        &requester,
        vec![any(
            deai_gov::MSG_VOTE_WEIGHTED_TYPE_URL,
            &sdk_gov::MsgVoteWeighted {
                proposal_id: id,
                voter: requester.address().to_bech32(),
                options: vec![
                    sdk_gov::WeightedVoteOption {
                        option: sdk_gov::VoteOption::Yes as i32,
                        weight: "0.7".into(),
                    },
                    sdk_gov::WeightedVoteOption {
                        option: sdk_gov::VoteOption::Abstain as i32,
                        weight: "0.3".into(),
                    },
                ],
                metadata: String::new(),
            },
        )],
    ));
    chain.block(&votes).tx_results.iter().for_each(ok);
    let weighted: EventProposalVote = chain
        .seen
        .iter()
        .rfind(|e| e.kind == "proposal_vote")
        .unwrap()
        .to_typed()
        .unwrap();
    assert_eq!(weighted.option, "yes:0.7,abstain:0.3");
    let finished = chain.until("proposal_result");
    assert_eq!(attr(&finished, "proposal_result", "result"), ["passed"]);
    chain.until("treasury_stream_ended");

    // A proposal its proposer cancels.
    let id = chain.propose(Vec::new(), 1000);
    let cancel = chain.tx(
        &requester,
        vec![any(
            deai_gov::MSG_CANCEL_PROPOSAL_TYPE_URL,
            &sdk_gov::MsgCancelProposal {
                proposal_id: id,
                proposer: requester.address().to_bech32(),
            },
        )],
    );
    ok(&chain.block(&[cancel]).tx_results[0]);

    // The run covered every module and the kinds that matter most.
    let kinds: BTreeSet<&str> = chain.seen.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "tx",
        "message",
        "coin_spent",
        "coin_received",
        "transfer",
        "coinbase",
        "burn",
        "treasury_fund",
        "treasury_spend",
        "treasury_stream_created",
        "treasury_stream_ended",
        "auth_params_updated",
        "bank_params_updated",
        "compute_params_updated",
        "gov_params_updated",
        "treasury_params_updated",
        "submit_proposal",
        "proposal_deposit",
        "voting_period_start",
        "proposal_vote",
        "delegate_voting_power",
        "delegation_policy",
        "proposal_result",
        "compute_provider_registered",
        "compute_provider_bonded",
        "compute_provider_unbonding",
        "compute_provider_unbonded",
        "compute_job_submitted",
        "compute_job_assigned",
        "compute_result_committed",
        "compute_result_revealed",
        "compute_job_settled",
        "compute_provider_paid",
        "compute_provider_slashed",
        "compute_provider_jailed",
        "compute_provider_unjailed",
        "compute_model_registered",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
}

/// The governance params in the committed state, in proto form.
fn chain_gov_params(chain: &Chain) -> Option<gpb::Params> {
    let a = deai_app::query::query(
        &chain.app,
        "/deai.gov.v1.Query/Params",
        &prost::Message::encode_to_vec(&gpb::QueryParamsRequest {}),
        0,
        false,
    );
    assert_eq!(a.code, 0, "{}", a.log);
    <gpb::QueryParamsResponse as prost::Message>::decode(a.value.as_slice())
        .unwrap()
        .params
}
