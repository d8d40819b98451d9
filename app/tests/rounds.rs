//! A private data round through the real [`App`]: governance opens it (the
//! pool leaves the treasury, recorded as a spend), compute providers from
//! genesis join, submit masked updates and, after a dropout, reveal seeds,
//! all in signed transactions through FinalizeBlock and Commit; the end
//! block unmasks, evaluates, records a new model version and pays. An
//! account that is not a provider cannot join.

#![allow(clippy::unwrap_used)]

use cosmos_sdk_proto::{
    cosmos::{
        bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse},
        base::v1beta1::Coin as ProtoCoin,
        gov::v1 as sdk_gov,
    },
    Any,
};
use deai_app::{App, BlockOutcome, TxOutcome};
use deai_auth::AuthRead;
use deai_client::tx::{any, msg_vote, sign_tx, Key, TxParams};
use deai_gov::GovParams;
use deai_proto::{gov::v1 as gpb, rounds::v1 as rpb, treasury::v1 as tpb};
use deai_rounds::{mask, mask::decode_head, params::HIDDEN};
use deai_rounds_client::{embeddings_eval_set, Contributor, Example, RoundView};
use deai_types::{Address, Coin};
use prost::{Message, Name};
use serde_json::json;

const CHAIN: &str = "deai-rounds-app-test";
const START: u128 = 100_000_000;
/// Providers' liquid balance: small beside the members', so the members'
/// votes alone reach quorum.
const PROVIDER_START: u128 = 10_000_000;
const TREASURY: u128 = 10_000_000;
const BOND: u128 = 1_000_000_000;
const GAS: u64 = 20_000_000;
const FEE: u128 = 200_000;
const VOTING_BLOCKS: u64 = 3;
const MODEL: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const POOL: u128 = 600_001;
const CLASSES: u32 = 4;

struct Chain {
    app: App,
    members: Vec<Key>,
    providers: Vec<Key>,
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

fn pack<M: Message + Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

impl Chain {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(dir.path()).unwrap();
        let members: Vec<Key> = (0..3)
            .map(|i| Key::from_label(&format!("rounds-app-member-{i}")))
            .collect();
        let providers: Vec<Key> = (0..6)
            .map(|i| Key::from_label(&format!("rounds-app-provider-{i}")))
            .collect();
        let mut balances: Vec<_> = members
            .iter()
            .map(|k| (k, START))
            .chain(providers.iter().map(|k| (k, PROVIDER_START)))
            .map(|(k, n)| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": n.to_string()}]}))
            .collect();
        balances.push(json!({"address": deai_treasury::address().to_bech32(), "coins": [{"denom": "udeai", "amount": TREASURY.to_string()}]}));
        let bonds = BOND * providers.len() as u128;
        balances.push(json!({"address": deai_compute_module::module_address().to_bech32(), "coins": [{"denom": "udeai", "amount": bonds.to_string()}]}));
        let mut gov = serde_json::to_value(GovParams::default()).unwrap();
        gov["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
        gov["max_deposit_period_blocks"] = json!(10);
        gov["voting_period_blocks"] = json!(VOTING_BLOCKS);
        gov["expedited_voting_period_blocks"] = json!(VOTING_BLOCKS - 1);
        let genesis = json!({
            "bank": {"balances": balances},
            "gov": {"params": gov},
            "compute": {
                "models": [{"id": MODEL, "name": "minilm", "architecture": "bert",
                            "quantization": "int8", "license": "apache-2.0", "size_bytes": 1}],
                "providers": providers.iter().map(|k| json!({
                    "address": k.address().to_bech32(), "bond": BOND.to_string(), "device": "test"
                })).collect::<Vec<_>>(),
            },
        });
        app.init_chain(CHAIN, 1, &serde_json::to_vec(&genesis).unwrap())
            .unwrap();
        let mut chain = Chain {
            app,
            members,
            providers,
            _dir: dir,
        };
        chain.block(&[]);
        chain
    }

    fn block(&mut self, txs: &[Vec<u8>]) -> BlockOutcome {
        let txs: Vec<bytes::Bytes> = txs.iter().cloned().map(bytes::Bytes::from).collect();
        let height = self.app.last_height() + 1;
        let out = self
            .app
            .finalize_block(&deai_app::BlockInfo::at(height), &txs)
            .unwrap();
        self.app.commit().unwrap();
        out
    }

    fn query<R: Message + Default>(&self, path: &str, req: &impl Message) -> R {
        let a = deai_app::query::query(&self.app, path, &req.encode_to_vec(), 0, false);
        assert_eq!(a.code, 0, "{path}: {}", a.log);
        R::decode(a.value.as_slice()).unwrap()
    }

    fn balance(&self, addr: &Address) -> u128 {
        let r: QueryBalanceResponse = self.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            &QueryBalanceRequest {
                address: addr.to_bech32(),
                denom: "udeai".into(),
            },
        );
        r.balance.map_or(0, |c| c.amount.parse().unwrap())
    }

    fn tx(&self, key: &Key, msgs: Vec<Any>) -> Vec<u8> {
        let acc = self
            .app
            .storage()
            .latest_snapshot()
            .account(&key.address())
            .unwrap();
        let (account_number, sequence) = acc.map_or((0, 0), |a| (a.account_number, a.sequence));
        sign_tx(
            key,
            msgs,
            &TxParams {
                chain_id: CHAIN.into(),
                account_number,
                sequence,
                fee: Some(Coin::new(FEE, "udeai")),
                gas_limit: GAS,
                memo: String::new(),
            },
        )
    }

    fn pass(&mut self, messages: Vec<Any>) -> gpb::Proposal {
        let proposer = self.members[0].clone();
        let submit = any(
            deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
            &sdk_gov::MsgSubmitProposal {
                messages,
                initial_deposit: udeai(1000),
                proposer: proposer.address().to_bech32(),
                metadata: String::new(),
                title: "A private data round".into(),
                summary: "Train the head.".into(),
                expedited: false,
            },
        );
        let r = self.block(&[self.tx(&proposer, vec![submit])]);
        ok(&r.tx_results[0]);
        let id: u64 = r.tx_results[0]
            .events
            .iter()
            .filter(|e| e.kind == "submit_proposal")
            .flat_map(|e| &e.attributes)
            .find(|(k, _)| k == "proposal_id")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let votes: Vec<_> = self
            .members
            .iter()
            .map(|k| self.tx(k, vec![msg_vote(&k.address(), id, gpb::VoteOption::Yes)]))
            .collect();
        self.block(&votes).tx_results.iter().for_each(ok);
        for _ in 0..=VOTING_BLOCKS {
            let r: gpb::QueryProposalResponse = self.query(
                "/deai.gov.v1.Query/Proposal",
                &gpb::QueryProposalRequest { proposal_id: id },
            );
            let p = r.proposal.unwrap();
            if p.status != gpb::ProposalStatus::VotingPeriod as i32 {
                return p;
            }
            self.block(&[]);
        }
        panic!("proposal {id} still open");
    }

    fn round(&self, id: u64) -> rpb::QueryRoundResponse {
        self.query(
            "/deai.rounds.v1.Query/Round",
            &rpb::QueryRoundRequest { round_id: id },
        )
    }
}

/// Labelled vectors of four clusters, standing in for embeddings.
fn examples(seed: u8, per_class: usize) -> Vec<Example> {
    use rand_like::Lcg;
    let mut centre_rng = Lcg(7);
    let centres: Vec<Vec<i8>> = (0..CLASSES)
        .map(|_| {
            (0..HIDDEN)
                .map(|_| (centre_rng.next() % 101) as i8 - 50)
                .collect()
        })
        .collect();
    let mut rng = Lcg(u64::from(seed) + 1000);
    let mut out = Vec::new();
    for _ in 0..per_class {
        for (y, c) in centres.iter().enumerate() {
            out.push(Example {
                embedding: c
                    .iter()
                    .map(|&v| (i32::from(v) + (rng.next() % 61) as i32 - 30) as i8)
                    .collect(),
                label: y as u8,
            });
        }
    }
    out
}

mod rand_like {
    /// A small deterministic generator for test data (not for keys or noise).
    pub struct Lcg(pub u64);
    impl Lcg {
        pub fn next(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
    }
}

/// The tests' round on `eval`: four classes from version 0, clip 2^14,
/// five to eight contributors, windows of two blocks.
fn round_config(eval: &rpb::EvalSet) -> rpb::RoundConfig {
    rpb::RoundConfig {
        base_model_id: MODEL.into(),
        parent_version: 0,
        classes: CLASSES,
        lr_num: 1,
        lr_den: 1,
        clip_l2_squared: 1 << 14,
        noise_variance: 8_192,
        min_contributors: 5,
        max_contributors: 8,
        min_provider_bond: BOND.to_string(),
        reward_pool: Some(ProtoCoin {
            denom: "udeai".into(),
            amount: POOL.to_string(),
        }),
        join_blocks: 2,
        submit_blocks: 2,
        reveal_blocks: 2,
        eval_set_hash: mask::eval_set_hash(eval).to_vec(),
        ..Default::default()
    }
}

#[test]
fn a_round_opened_by_governance_runs_through_signed_transactions_and_pays_its_contributors() {
    let mut chain = Chain::new();
    let eval_examples = examples(99, 20);
    let eval = embeddings_eval_set(&eval_examples);
    let config = round_config(&eval);
    let open = pack(&rpb::MsgOpenRound {
        authority: deai_gov::authority().to_bech32(),
        config: Some(config),
        eval_set: Some(eval),
    });
    let p = chain.pass(vec![open]);
    assert_eq!(
        p.status,
        gpb::ProposalStatus::Passed as i32,
        "{}",
        p.failed_reason
    );
    assert_eq!(chain.balance(&deai_rounds::module_address()), POOL);
    let spends: tpb::QuerySpendsResponse = chain.query(
        "/deai.treasury.v1.Query/Spends",
        &tpb::QuerySpendsRequest { pagination: None },
    );
    // The pool left the treasury as a recorded spend (the treasury also
    // took its share of the proposal's fees meanwhile).
    let spend = spends.spends.iter().find(|s| s.kind == "round").unwrap();
    assert_eq!(spend.amount[0].amount, POOL.to_string());
    assert_eq!(spend.recipient, deai_rounds::module_address().to_bech32());
    let id = 1;

    // Joins: six bonded providers; a member that is no provider is refused.
    // Five submit; provider 5 drops out; the others reveal their seeds with it.
    let outsider = Contributor::new(chain.members[1].address(), [77; 32]);
    let refused = chain.tx(&chain.members[1], vec![pack(&outsider.join_msg(id))]);
    let joins = run_to_finish(&mut chain, id, vec![refused]);
    assert_ne!(joins[6].code, 0);
    assert!(joins[6].log.contains("not an eligible"), "{}", joins[6].log);
    let round = chain.round(id).round.unwrap();
    assert_eq!(round.status, "ACCEPTED", "{}", round.reason);
    assert!(round.new_correct > round.parent_correct);
    let each = POOL / 5;
    assert_eq!(round.paid_each, each.to_string());
    // Each submitter: its start, less the fees of its three txs, plus its share.
    for (i, k) in chain.providers.iter().enumerate() {
        let fees = if i < 5 { 3 * FEE } else { FEE };
        let share = if i < 5 { each } else { 0 };
        assert_eq!(chain.balance(&k.address()), PROVIDER_START - fees + share);
    }
    assert_eq!(chain.balance(&deai_rounds::module_address()), 0);
    let lineage: rpb::QueryLineageResponse = chain.query(
        "/deai.rounds.v1.Query/Lineage",
        &rpb::QueryLineageRequest {
            version: round.new_version,
        },
    );
    assert_eq!(lineage.versions[0].contributors, 5);
    assert_eq!(
        decode_head(&lineage.head).unwrap().len(),
        (CLASSES * HIDDEN) as usize
    );
}

/// Runs round `id` (already open) through the six providers' joins (with
/// `also` in the same block), five submissions (provider 5 drops out) and
/// the others' reveals of their seeds with it, until the round leaves
/// `REVEALING`; returns the join block's results.
fn run_to_finish(chain: &mut Chain, id: u64, also: Vec<Vec<u8>>) -> Vec<TxOutcome> {
    let contributors: Vec<Contributor> = chain
        .providers
        .iter()
        .enumerate()
        .map(|(i, k)| Contributor::new(k.address(), [i as u8 + 1; 32]))
        .collect();
    let mut txs: Vec<Vec<u8>> = chain
        .providers
        .iter()
        .zip(&contributors)
        .map(|(k, c)| chain.tx(k, vec![pack(&c.join_msg(id))]))
        .collect();
    txs.extend(also);
    let joins = chain.block(&txs).tx_results;
    joins[..6].iter().for_each(ok);
    while chain.round(id).round.unwrap().status != "SUBMITTING" {
        chain.block(&[]);
    }
    let resp = chain.round(id);
    let view = RoundView::from_query(&resp, vec![0; (CLASSES * HIDDEN) as usize]).unwrap();
    let txs: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            let p = contributors[i]
                .prepare(&view, &examples(i as u8, 10), [i as u8 + 40; 32])
                .unwrap();
            chain.tx(&chain.providers[i], vec![pack(&p.msg)])
        })
        .collect();
    chain.block(&txs).tx_results.iter().for_each(ok);
    while chain.round(id).round.unwrap().status != "REVEALING" {
        chain.block(&[]);
    }
    let after = RoundView::from_query(&chain.round(id), view.head.clone()).unwrap();
    let txs: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            let m = contributors[i].reveal_dropped(&after).unwrap();
            chain.tx(&chain.providers[i], vec![pack(&m)])
        })
        .collect();
    chain.block(&txs).tx_results.iter().for_each(ok);
    while chain.round(id).round.unwrap().status == "REVEALING" {
        chain.block(&[]);
    }
    joins
}

#[test]
fn an_evaluation_set_of_texts_is_scored_by_classify_jobs_the_compute_providers_answer() {
    use deai_compute_module::{input::ClassifyInput, query::JOB_PATH, record::commitment};
    use deai_proto::compute::v1 as cpb;
    const PRICE: u128 = 20_000;

    let mut chain = Chain::new();
    // Twenty "texts", each standing for one example's embedding: the test's
    // providers embed text `example i` as example i (a stand-in encoder;
    // the devnet test in compute-node runs the real one).
    let eval_examples = examples(99, 5);
    let texts: Vec<String> = (0..eval_examples.len())
        .map(|i| format!("example {i}"))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let eval = rpb::EvalSet {
        texts: deai_compute_module::input::encode_embed_input(&refs).unwrap(),
        labels: eval_examples.iter().map(|e| e.label).collect(),
        ..Default::default()
    };
    let config = rpb::RoundConfig {
        eval_replication: 3,
        eval_price_per_replica: PRICE.to_string(),
        ..round_config(&eval)
    };
    let p = chain.pass(vec![pack(&rpb::MsgOpenRound {
        authority: deai_gov::authority().to_bech32(),
        config: Some(config),
        eval_set: Some(eval.clone()),
    })]);
    assert_eq!(
        p.status,
        gpb::ProposalStatus::Passed as i32,
        "{}",
        p.failed_reason
    );
    run_to_finish(&mut chain, 1, Vec::new());
    let round = chain.round(1).round.unwrap();
    assert_eq!(round.status, "EVALUATING", "{}", round.reason);
    // The two jobs' escrow left the pool.
    assert_eq!(
        chain.balance(&deai_rounds::module_address()),
        POOL - 2 * 3 * PRICE
    );

    // The providers each job is assigned to answer it: commit, then reveal the
    // output (one class per text) with the result.
    let job = |chain: &Chain, id: u64| -> cpb::Job {
        let r: cpb::QueryJobResponse = chain.query(JOB_PATH, &cpb::QueryJobRequest { job_id: id });
        r.job.unwrap()
    };
    let jobs = [round.parent_eval_job, round.new_eval_job];
    while jobs
        .iter()
        .any(|&id| job(&chain, id).status != cpb::JobStatus::Assigned as i32)
    {
        chain.block(&[]);
    }
    let salt = |i: usize| vec![i as u8 + 1; 16];
    let mut reveals = Vec::new();
    let mut commits = Vec::new();
    for &id in &jobs {
        let j = job(&chain, id);
        assert_eq!((j.kind.as_str(), j.replication), ("classify", 3));
        assert_eq!(j.requester, deai_rounds::module_address().to_bech32());
        let input = ClassifyInput::parse(&j.input).unwrap();
        let output: Vec<u8> = input
            .texts
            .iter()
            .map(|t| {
                let i: usize = t.strip_prefix("example ").unwrap().parse().unwrap();
                deai_rounds::head::predict(&input.head, &eval_examples[i].embedding) as u8
            })
            .collect();
        let result = deai_compute_module::record::sha3(&[&output]);
        for (n, a) in j.assignments.iter().enumerate() {
            let k = chain
                .providers
                .iter()
                .find(|k| k.address().to_bech32() == a.provider)
                .unwrap()
                .clone();
            let provider = k.address();
            commits.push((
                k.clone(),
                any(
                    deai_compute_module::MSG_COMMIT_RESULT_TYPE_URL,
                    &cpb::MsgCommitResult {
                        provider: provider.to_bech32(),
                        job_id: id,
                        commitment: commitment(&result, &provider, &salt(n)).to_vec(),
                    },
                ),
            ));
            reveals.push((
                k,
                any(
                    deai_compute_module::MSG_REVEAL_RESULT_TYPE_URL,
                    &cpb::MsgRevealResult {
                        provider: provider.to_bech32(),
                        job_id: id,
                        result_hash: result.to_vec(),
                        salt: salt(n),
                        output: output.clone(),
                    },
                ),
            ));
        }
    }
    // One provider may be assigned both jobs: one tx per block, signed when sent.
    for (k, m) in commits {
        let tx = chain.tx(&k, vec![m]);
        chain.block(&[tx]).tx_results.iter().for_each(ok);
    }
    for (k, m) in reveals {
        let tx = chain.tx(&k, vec![m]);
        chain.block(&[tx]).tx_results.iter().for_each(ok);
    }
    let mut round = chain.round(1).round.unwrap();
    for _ in 0..100 {
        if round.status != "EVALUATING" {
            break;
        }
        chain.block(&[]);
        round = chain.round(1).round.unwrap();
    }
    assert_eq!(round.status, "ACCEPTED", "{}", round.reason);
    for &id in &jobs {
        assert_eq!(job(&chain, id).status, cpb::JobStatus::Finalized as i32);
    }
    // Scored by the jobs' agreed outputs: what the chain would compute from
    // the examples' embeddings.
    let lineage: rpb::QueryLineageResponse = chain.query(
        "/deai.rounds.v1.Query/Lineage",
        &rpb::QueryLineageRequest {
            version: round.new_version,
        },
    );
    let head = decode_head(&lineage.head).unwrap();
    let embeddings = embeddings_eval_set(&eval_examples).embeddings;
    assert_eq!(round.parent_correct, 5);
    assert_eq!(
        round.new_correct,
        deai_rounds::head::correct(&head, &embeddings, &eval.labels)
    );
    assert!(round.new_correct > round.parent_correct);
    assert_eq!(lineage.versions[0].eval_job, round.new_eval_job);
    // Every assigned provider agreed and was paid from the pool.
    let spent = 2 * 3 * PRICE;
    assert_eq!(round.eval_spent, spent.to_string());
    assert_eq!(round.paid_each, ((POOL - spent) / 5).to_string());
    assert_eq!(chain.balance(&deai_rounds::module_address()), 0);
}
