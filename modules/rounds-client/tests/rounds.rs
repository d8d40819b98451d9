//! A private data round end to end at module level: ten simulated
//! contributors with their own keys and private data (four clusters of
//! 384-wide i8 vectors standing in for MiniLM embeddings), driven through
//! the rounds module's messages and end blocks as the app runs them.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

use cosmos_sdk_proto::Any;
use deai_bank::{BankRead, BankWrite};
use deai_proto::rounds::v1 as pb;
use deai_rounds::{
    block, head, mask, params::HIDDEN, ClassifyJob, JobOutcome, Providers, RoundsError,
    RoundsModule, RoundsRead, STATUS_ACCEPTED, STATUS_EVALUATING, STATUS_FAILED, STATUS_REJECTED,
    STATUS_REVEALING,
};
use deai_rounds_client::{
    clip_l2, embeddings_eval_set, local_update, Contributor, Example, RoundView,
};
use deai_types::{
    module::BlockTime,
    testing::{run_msg, TestHost},
    Address, Coin, DecodeCtx, Event, MemState, ModuleMsg, MsgDecoder, MsgError, MsgHandler,
    MsgHost, StateRead, StateWrite, BASE_DENOM,
};
use proptest::prelude::*;
use prost::{Message, Name};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const MODEL: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CLASSES: u32 = 4;
const POOL: u128 = 1_000_003;
/// Clip: squared L2 norm 2^14 (norm 128); with noise variance 8192 (half
/// of it) ten contributors get a round epsilon near 6 at delta 10^-6.
const CLIP: u64 = 1 << 14;
const TREASURY_START: u128 = 50_000_000;
const BOND_KEY: &[u8] = b"test/bond/";
/// The stand-in compute market's records: jobs, outcomes, a refusal switch.
const JOB_KEY: &[u8] = b"test/job/";
const DONE_KEY: &[u8] = b"test/done/";
const REFUSE_KEY: &[u8] = b"test/refuse";

/// Where the stand-in market keeps escrow, and the provider it pays.
fn market() -> Address {
    Address::from_slice(&[0xEE; 20]).unwrap()
}
fn evaluator() -> Address {
    Address::from_slice(&[0xEF; 20]).unwrap()
}

fn job_key(prefix: &[u8], id: u64) -> Vec<u8> {
    [prefix, &id.to_be_bytes()].concat()
}

/// Providers as a test keeps them: a bond under `test/bond/<addr>`, one
/// model, and a stand-in compute market: a "text" of an evaluation set of
/// texts is one byte, the index of an example of the test's evaluation
/// set, and the test settles each job itself (`Net::settle`).
struct TestProviders;

impl Providers for TestProviders {
    fn eligible_bond(
        &self,
        state: &dyn StateRead,
        addr: &Address,
        _height: u64,
    ) -> Result<Option<u128>, RoundsError> {
        let mut k = BOND_KEY.to_vec();
        k.extend_from_slice(addr.as_bytes());
        Ok(state
            .get_raw(&k)?
            .map(|v| String::from_utf8(v).unwrap().parse().unwrap()))
    }

    fn model_registered(&self, _: &dyn StateRead, model_id: &str) -> Result<bool, RoundsError> {
        Ok(model_id == MODEL)
    }

    fn classify_input(
        &self,
        classes: u32,
        head: &[i32],
        texts: &[u8],
    ) -> Result<(Vec<u8>, u32), String> {
        if texts.is_empty() || texts.len() > 256 {
            return Err("1 to 256 texts".into());
        }
        let mut input = classes.to_le_bytes().to_vec();
        input.extend(mask::encode_head(head));
        input.extend_from_slice(texts);
        Ok((input, texts.len() as u32))
    }

    fn submit_classify(
        &self,
        state: &mut dyn StateWrite,
        job: ClassifyJob<'_>,
    ) -> Result<Result<(u64, Vec<Event>), String>, RoundsError> {
        if state.get_raw(REFUSE_KEY)?.is_some() {
            return Ok(Err("too few providers".into()));
        }
        let escrow = job.price_per_replica * u128::from(job.replication);
        let s = &mut *state;
        if let Err(e) = s.send(job.requester, &market(), &[Coin::new(escrow, BASE_DENOM)]) {
            return Ok(Err(e.to_string()));
        }
        let next = state.get_raw(b"test/next-job")?.map_or(1, |b| b[0] as u64);
        state.put_raw(b"test/next-job".to_vec(), vec![next as u8 + 1])?;
        let mut record = job.price_per_replica.to_le_bytes().to_vec();
        record.extend(job.replication.to_le_bytes());
        record.extend_from_slice(job.input);
        state.put_raw(job_key(JOB_KEY, next), record)?;
        Ok(Ok((next, vec![Event::new("test_job_submitted")])))
    }

    fn job_outcome(&self, state: &dyn StateRead, job_id: u64) -> Result<JobOutcome, RoundsError> {
        Ok(match state.get_raw(&job_key(DONE_KEY, job_id))? {
            None => JobOutcome::Running { settles_at: 0 },
            Some(b) => JobOutcome::Settled {
                spent: u128::from_le_bytes(b[..16].try_into().unwrap()),
                output: (b[16] == 1).then(|| b[17..].to_vec()),
            },
        })
    }
}

static MODULE: RoundsModule = RoundsModule::new(&TestProviders);

/// The test host, with a treasury that records spends without a cap.
struct Host;

impl MsgHost for Host {
    fn gov_authority(&self) -> Address {
        TestHost.gov_authority()
    }
    fn is_genesis_validator_key(&self, s: &dyn StateRead, k: &[u8; 32]) -> Result<bool, MsgError> {
        TestHost.is_genesis_validator_key(s, k)
    }
    fn ensure_account(&self, s: &mut dyn StateWrite, a: &Address) -> Result<(), MsgError> {
        TestHost.ensure_account(s, a)
    }
    fn is_module_account(&self, a: &Address) -> bool {
        TestHost.is_module_account(a)
    }
    fn record_treasury_spend(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &Address,
        amount: &[Coin],
        kind: &str,
        _: u64,
    ) -> Result<Event, MsgError> {
        Ok(Event::new("treasury_spend")
            .attr("kind", kind)
            .attr("amount", amount[0].to_string()))
    }
}

struct NoNesting;
impl MsgDecoder for NoNesting {
    fn decode_in_proposal(&self, _: &Any) -> Result<Box<dyn ModuleMsg>, MsgError> {
        Err(MsgError::InvalidRequest("no nesting here".into()))
    }
}

fn any<M: Message + Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

/// Four well-separated clusters: class `y`'s centre and examples around it.
struct Clusters {
    centres: Vec<Vec<i8>>,
}

impl Clusters {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::from_seed([42; 32]);
        let centres = (0..CLASSES)
            .map(|_| {
                (0..HIDDEN)
                    .map(|_| (rng.next_u32() % 101) as i8 - 50)
                    .collect()
            })
            .collect();
        Clusters { centres }
    }

    fn examples(&self, seed: u8, per_class: usize, flip: bool) -> Vec<Example> {
        let mut rng = ChaCha20Rng::from_seed([seed; 32]);
        let mut out = Vec::new();
        for _ in 0..per_class {
            for (y, c) in self.centres.iter().enumerate() {
                let embedding = c
                    .iter()
                    .map(|&v| (i32::from(v) + (rng.next_u32() % 61) as i32 - 30) as i8)
                    .collect();
                let label = if flip {
                    (y as u8 + 1) % CLASSES as u8
                } else {
                    y as u8
                };
                out.push(Example { embedding, label });
            }
        }
        out
    }

    fn eval_set(&self) -> pb::EvalSet {
        embeddings_eval_set(&self.examples(200, 25, false))
    }

    /// The same examples as an evaluation set of "texts" (each the index of
    /// its example, for the stand-in market).
    fn eval_texts(&self) -> pb::EvalSet {
        let ex = self.examples(200, 25, false);
        pb::EvalSet {
            texts: (0..ex.len() as u8).collect(),
            labels: ex.iter().map(|e| e.label).collect(),
            ..Default::default()
        }
    }
}

/// A chain with the rounds module, a funded treasury and ten bonded providers.
struct Net {
    state: MemState,
    height: u64,
    people: Vec<Contributor>,
    clusters: Clusters,
    /// Rounds opened from now on evaluate an evaluation set of texts in
    /// the (stand-in) compute market.
    texts: bool,
}

impl Net {
    fn new() -> Self {
        let mut state = MemState::default();
        state
            .mint(
                &deai_rounds::treasury_address(),
                &[Coin::new(TREASURY_START, BASE_DENOM)],
            )
            .unwrap();
        let people: Vec<Contributor> = (0..10u8)
            .map(|i| {
                let addr = Address::from_slice(&[i.wrapping_mul(37).wrapping_add(11); 20]).unwrap();
                let mut k = BOND_KEY.to_vec();
                k.extend_from_slice(addr.as_bytes());
                state.put_raw(k, b"5000".to_vec()).unwrap();
                Contributor::new(addr, [i + 100; 32])
            })
            .collect();
        Net {
            state,
            height: 1,
            people,
            clusters: Clusters::new(),
            texts: false,
        }
    }

    fn tx<M: Message + Name>(&mut self, m: &M) -> Result<Vec<Event>, MsgError> {
        let decoded = MODULE.decode_msg(
            &any(m),
            &DecodeCtx {
                in_proposal: false,
                decoder: &NoNesting,
            },
        )?;
        run_msg(
            &mut self.state,
            decoded.as_ref(),
            (self.height, BlockTime::default()),
            &Host,
        )
    }

    /// Ends the current block and starts the next.
    fn end(&mut self) -> Vec<Event> {
        let b = block::EndBlock {
            height: self.height,
            prev_app_hash: &[],
            providers: &TestProviders,
        };
        let events = block::end_block(&mut self.state, b).unwrap();
        self.height += 1;
        events
    }

    fn config(&self, parent: u64) -> (pb::RoundConfig, pb::EvalSet) {
        let eval = self.clusters.eval_set();
        (
            pb::RoundConfig {
                base_model_id: MODEL.into(),
                parent_version: parent,
                classes: CLASSES,
                lr_num: 1,
                lr_den: 1,
                clip_l2_squared: CLIP,
                noise_variance: 8_192,
                min_contributors: 5,
                max_contributors: 16,
                min_provider_bond: "1000".into(),
                reward_pool: Some(cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
                    denom: BASE_DENOM.into(),
                    amount: POOL.to_string(),
                }),
                join_blocks: 1,
                submit_blocks: 1,
                reveal_blocks: 2,
                eval_set_hash: mask::eval_set_hash(&eval).to_vec(),
                ..Default::default()
            },
            eval,
        )
    }

    /// [`Net::config`] with the evaluation set as texts, scored by two jobs
    /// of 3 providers at 10,000 udeai each in the stand-in market.
    fn config_texts(&self, parent: u64) -> (pb::RoundConfig, pb::EvalSet) {
        let (mut config, _) = self.config(parent);
        let eval = self.clusters.eval_texts();
        config.eval_set_hash = mask::eval_set_hash(&eval).to_vec();
        config.eval_replication = 3;
        config.eval_price_per_replica = "10000".into();
        (config, eval)
    }

    /// Settles the evaluation jobs of round `id` as the market would: each
    /// job's output is its head's class for each example the texts name
    /// (`None`: no agreement), `agreeing` providers are paid the price and
    /// the rest of the escrow goes back to the rounds account.
    fn settle(&mut self, id: u64, agreeing: u32, answer: impl Fn(Vec<u8>) -> Option<Vec<u8>>) {
        let round = self.round(id);
        assert_eq!(round.status, STATUS_EVALUATING);
        let eval = self.clusters.examples(200, 25, false);
        for job in [round.parent_eval_job, round.new_eval_job] {
            let record = self.state.get_raw(&job_key(JOB_KEY, job)).unwrap().unwrap();
            let price = u128::from_le_bytes(record[..16].try_into().unwrap());
            let r = u32::from_le_bytes(record[16..20].try_into().unwrap());
            let input = &record[20..];
            let classes = u32::from_le_bytes(input[..4].try_into().unwrap());
            let words = (classes * HIDDEN) as usize;
            let h = mask::decode_head(&input[4..4 + words * 4]).unwrap();
            let texts = &input[4 + words * 4..];
            let predicted: Vec<u8> = texts
                .iter()
                .map(|&i| head::predict(&h, &eval[i as usize].embedding) as u8)
                .collect();
            let output = answer(predicted);
            let spent = price * u128::from(agreeing.min(r));
            let escrow = price * u128::from(r);
            for (to, amount) in [
                (evaluator(), spent),
                (deai_rounds::module_address(), escrow - spent),
            ] {
                if amount > 0 {
                    self.state
                        .send(&market(), &to, &[Coin::new(amount, BASE_DENOM)])
                        .unwrap();
                }
            }
            let mut done = spent.to_le_bytes().to_vec();
            done.push(u8::from(output.is_some()));
            done.extend(output.unwrap_or_default());
            self.state.put_raw(job_key(DONE_KEY, job), done).unwrap();
        }
    }

    /// Opens a round on `parent` by governance and returns its id.
    fn open(&mut self, parent: u64) -> u64 {
        self.open_with(parent, |_| {})
    }

    /// Opens a round on `parent` with `edit` applied to the test configuration.
    fn open_with(&mut self, parent: u64, edit: impl FnOnce(&mut pb::RoundConfig)) -> u64 {
        let (mut config, eval) = if self.texts {
            self.config_texts(parent)
        } else {
            self.config(parent)
        };
        edit(&mut config);
        let events = self
            .tx(&pb::MsgOpenRound {
                authority: Address::module("gov").to_bech32(),
                config: Some(config),
                eval_set: Some(eval),
            })
            .unwrap();
        let opened: pb::EventRoundOpened = events
            .iter()
            .find(|e| e.kind == "round_opened")
            .unwrap()
            .to_typed()
            .unwrap();
        opened.round_id.parse().unwrap()
    }

    fn round(&self, id: u64) -> pb::Round {
        self.state.round(id).unwrap().unwrap()
    }

    fn view(&self, id: u64) -> RoundView {
        let round = self.round(id);
        let c = round.config.clone().unwrap();
        let head = self
            .state
            .head(c.parent_version, c.classes)
            .unwrap()
            .unwrap();
        let resp = pb::QueryRoundResponse {
            contributors: self.state.contributors(id).unwrap(),
            round: Some(round),
        };
        RoundView::from_query(&resp, head).unwrap()
    }

    /// Opens a round, has everyone join, and moves to the submit window.
    fn open_and_join(&mut self, parent: u64) -> u64 {
        self.open_and_join_with(parent, |_| {})
    }

    fn open_and_join_with(&mut self, parent: u64, edit: impl FnOnce(&mut pb::RoundConfig)) -> u64 {
        let id = self.open_with(parent, edit);
        self.end();
        for i in 0..self.people.len() {
            let m = self.people[i].join_msg(id);
            self.tx(&m).unwrap();
        }
        self.end(); // join_end: to SUBMITTING
        id
    }

    fn data(&self, i: usize, flip: bool) -> Vec<Example> {
        self.clusters.examples(i as u8 + 1, 10, flip)
    }

    fn balance(&self, a: &Address) -> u128 {
        self.state.balance(a, BASE_DENOM).unwrap()
    }

    fn supply(&self) -> u128 {
        self.state.supply(BASE_DENOM).unwrap()
    }
}

fn sum_of(vectors: &[Vec<i64>]) -> Vec<i64> {
    let mut s = vec![0i64; vectors[0].len()];
    for v in vectors {
        for (a, b) in s.iter_mut().zip(v) {
            *a += b;
        }
    }
    s
}

#[test]
fn ten_contributors_train_a_better_head_unmasked_exactly_and_are_paid_exactly() {
    let mut net = Net::new();
    let supply = net.supply();
    let id = net.open_and_join(0);
    let view = net.view(id);
    assert_eq!(view.contributors.len(), 10);
    let mut noised = Vec::new();
    for i in 0..10 {
        let p = net.people[i]
            .prepare(&view, &net.data(i, false), [i as u8; 32])
            .unwrap();
        noised.push(p.noised.clone());
        net.tx(&p.msg).unwrap();
    }
    // The chain's unmasked sum is exactly the sum of the clipped noised updates.
    let expected = sum_of(&noised);
    assert_eq!(
        block::aggregate(&net.state, &net.round(id)).unwrap(),
        Ok(expected.clone())
    );
    net.end(); // submit_end: everyone submitted, the round finishes now
    let round = net.round(id);
    assert_eq!(round.status, STATUS_ACCEPTED, "{}", round.reason);
    // lr = 1/1 from the zero head: the new head is the sum itself.
    let head = net.state.head(round.new_version, CLASSES).unwrap().unwrap();
    assert_eq!(
        head.iter().map(|&w| i64::from(w)).collect::<Vec<_>>(),
        expected
    );
    // Better than the parent (the zero head, which says class 0: 25%).
    assert_eq!(round.parent_correct, 25);
    assert!(round.new_correct >= 80, "{}", round.new_correct);
    assert!(
        (1_000_000..10_000_000).contains(&round.epsilon_micro),
        "{}",
        round.epsilon_micro
    );
    eprintln!(
        "accuracy {}/{} -> {}/{}, epsilon {} (x10^-6, delta 10^-6)",
        round.parent_correct,
        round.eval_count,
        round.new_correct,
        round.eval_count,
        round.epsilon_micro
    );
    // Paid exactly: equal shares, the remainder back to the treasury, nothing created.
    let each = POOL / 10;
    assert_eq!(round.paid_each, each.to_string());
    for p in &net.people {
        assert_eq!(net.balance(&p.address()), each);
    }
    assert_eq!(net.balance(&deai_rounds::module_address()), 0);
    assert_eq!(
        net.balance(&deai_rounds::treasury_address()),
        TREASURY_START - each * 10
    );
    assert_eq!(net.supply(), supply);
    net.state.check_supply_invariant().unwrap();
    // The masked updates and the evaluation set are dropped once the round is over.
    assert_eq!(net.state.update(id, 0).unwrap(), None);
    assert_eq!(net.state.eval_set(id).unwrap(), None);

    // A second round builds on the first version; the lineage adds up the
    // privacy cost. (Its noise is lower: at the first round's noise a second
    // small perceptron step on an 87% head is as likely to lose accuracy as
    // to gain it, and the gate would refuse it.)
    let id2 = net.open_and_join_with(round.new_version, |c| c.noise_variance = 64);
    let view = net.view(id2);
    for i in 0..10 {
        let p = net.people[i]
            .prepare(&view, &net.data(i + 20, false), [i as u8 + 50; 32])
            .unwrap();
        net.tx(&p.msg).unwrap();
    }
    net.end();
    let round2 = net.round(id2);
    assert_eq!(round2.status, STATUS_ACCEPTED, "{}", round2.reason);
    let answer = deai_rounds::query::query(
        &net.state,
        "/deai.rounds.v1.Query/Lineage",
        &pb::QueryLineageRequest {
            version: round2.new_version,
        }
        .encode_to_vec(),
    )
    .unwrap()
    .unwrap();
    let lineage = pb::QueryLineageResponse::decode(answer.as_slice()).unwrap();
    assert_eq!(lineage.versions.len(), 2);
    assert_eq!(lineage.versions[0].parent, round.new_version);
    assert_eq!(lineage.versions[1].round_id, id);
    assert!(
        lineage.versions[0].cumulative_epsilon_micro > lineage.versions[1].cumulative_epsilon_micro
    );
    assert_eq!(lineage.head.len(), (CLASSES * HIDDEN * 4) as usize);
}

/// A round whose evaluation set is texts: all ten submit, then everyone
/// submitted so the round evaluates at once.
fn market_round(net: &mut Net) -> u64 {
    market_round_with(net, |_| {})
}

/// [`market_round`], with `after_join` run once everyone has joined.
fn market_round_with(net: &mut Net, after_join: impl FnOnce(&mut Net)) -> u64 {
    net.texts = true;
    let id = net.open_and_join(0);
    after_join(net);
    let view = net.view(id);
    for i in 0..10 {
        let p = net.people[i]
            .prepare(&view, &net.data(i, false), [i as u8; 32])
            .unwrap();
        net.tx(&p.msg).unwrap();
    }
    net.end(); // submit_end: the two evaluation jobs go to the market
    id
}

#[test]
fn an_evaluation_set_of_texts_is_scored_by_two_market_jobs_paid_from_the_pool() {
    let mut net = Net::new();
    let supply = net.supply();
    let id = market_round(&mut net);
    let round = net.round(id);
    assert_eq!(round.status, STATUS_EVALUATING, "{}", round.reason);
    assert!(round.parent_eval_job > 0 && round.new_eval_job > round.parent_eval_job);
    // The jobs' escrow left the pool: 2 jobs x 3 providers x 10,000.
    assert_eq!(net.balance(&market()), 60_000);
    assert_eq!(net.balance(&deai_rounds::module_address()), POOL - 60_000);
    // Unsettled jobs: the round waits, block after block.
    net.end();
    net.end();
    assert_eq!(net.round(id).status, STATUS_EVALUATING);
    // Two of three providers agreed on each job: 2 x 2 x 10,000 spent, the rest
    // of the escrow back in the pool.
    net.settle(id, 2, Some);
    net.end();
    let round = net.round(id);
    assert_eq!(round.status, STATUS_ACCEPTED, "{}", round.reason);
    assert_eq!(round.eval_spent, "40000");
    // The market's scores are the ones the chain computes from the same
    // examples' embeddings.
    let head = net.state.head(round.new_version, CLASSES).unwrap().unwrap();
    let eval = net.clusters.eval_set();
    assert_eq!(round.parent_correct, 25);
    assert_eq!(
        round.new_correct,
        head::correct(&head, &eval.embeddings, &eval.labels)
    );
    assert!(round.new_correct >= 80, "{}", round.new_correct);
    let version = net.state.version(round.new_version).unwrap().unwrap();
    assert_eq!(version.eval_job, round.new_eval_job);
    assert_eq!(
        version.eval_set_hash,
        mask::eval_set_hash(&net.clusters.eval_texts()).to_vec()
    );
    // Paid exactly from what the evaluation left: equal shares, the remainder to the
    // treasury, the evaluators their price, nothing created.
    let each = (POOL - 40_000) / 10;
    assert_eq!(round.paid_each, each.to_string());
    for p in &net.people {
        assert_eq!(net.balance(&p.address()), each);
    }
    assert_eq!(net.balance(&evaluator()), 40_000);
    assert_eq!(net.balance(&market()), 0);
    assert_eq!(net.balance(&deai_rounds::module_address()), 0);
    assert_eq!(
        net.balance(&deai_rounds::treasury_address()),
        TREASURY_START - each * 10 - 40_000
    );
    assert_eq!(net.supply(), supply);
    assert_eq!(
        net.state
            .get_raw(&deai_rounds::state_key::candidate(id))
            .unwrap(),
        None
    );
}

#[test]
fn a_market_evaluation_without_an_agreed_well_formed_answer_fails_the_round() {
    for (agreeing, answer) in [
        // No majority: nothing agreed, nothing paid.
        (0, (|_| None) as fn(Vec<u8>) -> Option<Vec<u8>>),
        // An agreed answer that is not one class per text (the invalid-input answer).
        (2, |_| Some(b"deai-invalid-input-v1".to_vec())),
        // A class the head does not have.
        (3, |p: Vec<u8>| {
            Some(p.iter().map(|_| CLASSES as u8).collect())
        }),
    ] {
        let mut net = Net::new();
        let id = market_round(&mut net);
        net.settle(id, agreeing, answer);
        net.end();
        let round = net.round(id);
        assert_eq!(round.status, STATUS_FAILED);
        assert!(round.reason.contains("evaluation job"), "{}", round.reason);
        let spent = 2 * 10_000 * u128::from(agreeing);
        assert_eq!(round.eval_spent, spent.to_string());
        // Nobody paid; what the evaluation did not spend is back in the treasury.
        for p in &net.people {
            assert_eq!(net.balance(&p.address()), 0);
        }
        assert_eq!(net.balance(&deai_rounds::module_address()), 0);
        assert_eq!(
            net.balance(&deai_rounds::treasury_address()),
            TREASURY_START - spent
        );
        assert_eq!(net.round(id).new_version, 0);
    }
}

#[test]
fn an_evaluation_job_the_market_refuses_fails_the_round_and_nothing_leaves_the_pool() {
    let mut net = Net::new();
    // Refused when the round opens: the proposal fails, nothing moves.
    net.state.put_raw(REFUSE_KEY.to_vec(), vec![1]).unwrap();
    let (c, e) = net.config_texts(0);
    let err = net
        .tx(&pb::MsgOpenRound {
            authority: Address::module("gov").to_bech32(),
            config: Some(c),
            eval_set: Some(e),
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("would refuse the evaluation jobs"), "{err}");
    net.state.delete_raw(REFUSE_KEY.to_vec()).unwrap();
    // Refused when the round finishes (the market changed meanwhile).
    let id = market_round_with(&mut net, |net| {
        net.state.put_raw(REFUSE_KEY.to_vec(), vec![1]).unwrap();
    });
    let round = net.round(id);
    assert_eq!(round.status, STATUS_FAILED);
    assert!(round.reason.contains("refused"), "{}", round.reason);
    assert_eq!((round.parent_eval_job, round.new_eval_job), (0, 0));
    assert_eq!(net.balance(&market()), 0);
    assert_eq!(
        net.balance(&deai_rounds::treasury_address()),
        TREASURY_START
    );
}

#[test]
fn an_evaluation_set_of_texts_must_be_well_formed_and_leave_most_of_the_pool() {
    let mut net = Net::new();
    let open = |config: pb::RoundConfig, eval: pb::EvalSet| pb::MsgOpenRound {
        authority: Address::module("gov").to_bech32(),
        config: Some(config),
        eval_set: Some(eval),
    };
    let refused = |net: &mut Net, edit: &dyn Fn(&mut pb::RoundConfig, &mut pb::EvalSet)| {
        let (mut c, mut e) = net.config_texts(0);
        edit(&mut c, &mut e);
        c.eval_set_hash = mask::eval_set_hash(&e).to_vec();
        net.tx(&open(c, e)).unwrap_err().to_string()
    };
    let both = refused(&mut net, &|_, e| e.embeddings = vec![0; 100 * 384]);
    assert!(both.contains("not both"), "{both}");
    let count = refused(&mut net, &|_, e| {
        e.texts.pop();
    });
    assert!(count.contains("99 texts but 100 labels"), "{count}");
    let costly = refused(&mut net, &|c, _| {
        c.eval_price_per_replica = (POOL / 12 + 1).to_string()
    });
    assert!(costly.contains("half the reward pool"), "{costly}");
    let no_r = refused(&mut net, &|c, _| c.eval_replication = 0);
    assert!(no_r.contains("eval_replication"), "{no_r}");
    let no_price = refused(&mut net, &|c, _| c.eval_price_per_replica = "0".into());
    assert!(no_price.contains("positive"), "{no_price}");
    // Market terms with a set of embeddings (evaluated on chain) are a mistake.
    let (mut c, e) = net.config(0);
    c.eval_replication = 3;
    let mixed = net.tx(&open(c, e)).unwrap_err().to_string();
    assert!(mixed.contains("for an evaluation set of texts"), "{mixed}");
    // The largest cost allowed opens.
    let (mut c, e) = net.config_texts(0);
    c.eval_price_per_replica = (POOL / 12).to_string();
    net.tx(&open(c, e)).unwrap();
}

/// Pearson's chi-square of `bytes` against uniform over 256 values.
fn chi_square(bytes: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let e = bytes.len() as f64 / 256.0;
    counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum()
}

#[test]
fn a_single_submitted_vector_is_indistinguishable_from_uniform() {
    let mut net = Net::new();
    let id = net.open_and_join(0);
    let view = net.view(id);
    let p = net.people[3]
        .prepare(&view, &net.data(3, false), [3; 32])
        .unwrap();
    // 6144 bytes: chi-square with 255 degrees of freedom has mean 255 and
    // standard deviation 22.6; uniform bytes fall within 5 of them.
    let masked = chi_square(&p.msg.masked_update);
    assert!((142.0..368.0).contains(&masked), "masked chi2 {masked}");
    // Every bit position of the words is balanced (1536 words: 768 +- 5 x 19.6).
    let words = mask::decode_words(&p.msg.masked_update).unwrap();
    for bit in 0..32 {
        let ones = words.iter().filter(|w| (*w >> bit) & 1 == 1).count();
        assert!((670..866).contains(&ones), "bit {bit}: {ones}");
    }
    // The same update unmasked is far from uniform.
    let plain: Vec<u8> = p
        .noised
        .iter()
        .flat_map(|&v| (v as i32).to_le_bytes())
        .collect();
    assert!(chi_square(&plain) > 2_000.0);
}

#[test]
fn one_dropout_still_completes_with_revealed_seeds_and_is_not_paid() {
    let mut net = Net::new();
    let supply = net.supply();
    let id = net.open_and_join(0);
    let view = net.view(id);
    let dropped = net.people[7].address();
    let mut noised = Vec::new();
    for i in (0..10).filter(|&i| i != 7) {
        let p = net.people[i]
            .prepare(&view, &net.data(i, false), [i as u8; 32])
            .unwrap();
        noised.push(p.noised.clone());
        net.tx(&p.msg).unwrap();
    }
    net.end(); // submit_end: one missing, so a reveal window
    assert_eq!(net.round(id).status, STATUS_REVEALING);
    // Each reads the round again: the chain lists who did not submit.
    let after = net.view(id);
    for i in (0..10).filter(|&i| i != 7) {
        let m = net.people[i].reveal_dropped(&after).unwrap();
        assert_eq!(m.seeds.len(), 1);
        assert_eq!(m.seeds[0].peer, dropped.to_bech32());
        net.tx(&m).unwrap();
    }
    assert_eq!(
        block::aggregate(&net.state, &net.round(id)).unwrap(),
        Ok(sum_of(&noised))
    );
    net.end();
    net.end(); // reveal_end
    let round = net.round(id);
    assert_eq!(round.status, STATUS_ACCEPTED, "{}", round.reason);
    assert_eq!(round.submitted, 9);
    let each = POOL / 9;
    for (i, p) in net.people.iter().enumerate() {
        assert_eq!(net.balance(&p.address()), if i == 7 { 0 } else { each });
    }
    assert_eq!(
        net.balance(&deai_rounds::treasury_address()),
        TREASURY_START - each * 9
    );
    assert_eq!(net.supply(), supply);
}

#[test]
fn a_missing_reveal_fails_the_round_and_refunds_the_treasury() {
    let mut net = Net::new();
    let id = net.open_and_join(0);
    let view = net.view(id);
    let dropped = net.people[0].address();
    for i in 1..10 {
        let p = net.people[i]
            .prepare(&view, &net.data(i, false), [i as u8; 32])
            .unwrap();
        net.tx(&p.msg).unwrap();
    }
    net.end();
    for i in 2..10 {
        let m = net.people[i].reveal_msg(&view, &[dropped]).unwrap();
        net.tx(&m).unwrap();
    }
    net.end();
    net.end();
    let round = net.round(id);
    assert_eq!(round.status, STATUS_FAILED);
    assert!(round.reason.contains("did not reveal"), "{}", round.reason);
    assert_eq!(
        net.balance(&deai_rounds::treasury_address()),
        TREASURY_START
    );
}

#[test]
fn a_huge_unclipped_update_gets_the_round_rejected_and_nobody_paid() {
    let mut net = Net::new();
    let id = net.open_and_join(0);
    let view = net.view(id);
    for i in 0..10 {
        let msg = if i == 4 {
            // Skips clipping: the chain cannot see it under the masks,
            // but the unmasked sum is over bound.
            let raw = local_update(&view.head, CLASSES, &net.data(i, false));
            net.people[i].mask_msg(&view, &raw).unwrap()
        } else {
            net.people[i]
                .prepare(&view, &net.data(i, false), [i as u8; 32])
                .unwrap()
                .msg
        };
        net.tx(&msg).unwrap();
    }
    net.end();
    let round = net.round(id);
    assert_eq!(round.status, STATUS_REJECTED);
    assert!(round.reason.contains("exceeds"), "{}", round.reason);
    assert_eq!(round.new_version, 0);
    for p in &net.people {
        assert_eq!(net.balance(&p.address()), 0);
    }
    assert_eq!(
        net.balance(&deai_rounds::treasury_address()),
        TREASURY_START
    );
    // An update within the bound passes: the clip is what the check is built on.
    let raw = local_update(&view.head, CLASSES, &net.data(4, false));
    let clipped = clip_l2(&raw, CLIP);
    assert!(clipped.iter().map(|v| v * v).sum::<i64>() <= CLIP as i64);
    assert!(raw.iter().map(|v| v * v).sum::<i64>() > 100 * CLIP as i64);
}

#[test]
fn a_poisoned_round_with_flipped_labels_fails_the_gate_and_pays_nobody() {
    let mut net = Net::new();
    let id = net.open_and_join(0);
    let view = net.view(id);
    for i in 0..10 {
        let p = net.people[i]
            .prepare(&view, &net.data(i, true), [i as u8; 32])
            .unwrap();
        net.tx(&p.msg).unwrap();
    }
    let events = net.end();
    let round = net.round(id);
    assert_eq!(round.status, STATUS_REJECTED, "{}", round.reason);
    assert!(round.new_correct < round.parent_correct);
    assert!(events.iter().any(|e| e.kind == "round_finished"));
    for p in &net.people {
        assert_eq!(net.balance(&p.address()), 0);
    }
    assert_eq!(
        net.balance(&deai_rounds::treasury_address()),
        TREASURY_START
    );
    assert_eq!(net.state.version(1).unwrap(), None);
}

fn module_code(e: MsgError) -> u32 {
    match e {
        MsgError::Module { code, .. } => code,
        other => panic!("not a module error: {other}"),
    }
}

#[test]
fn late_joins_late_submissions_and_wrong_seed_reveals_are_refused() {
    let mut net = Net::new();
    let id = net.open_and_join(0);
    let view = net.view(id);
    // Joining after the join window.
    let late = Contributor::new(Address::from_slice(&[250; 20]).unwrap(), [9; 32]);
    assert_eq!(module_code(net.tx(&late.join_msg(id)).unwrap_err()), 5);
    for i in 1..10 {
        let p = net.people[i]
            .prepare(&view, &net.data(i, false), [i as u8; 32])
            .unwrap();
        net.tx(&p.msg).unwrap();
        // Twice is refused.
        assert_eq!(module_code(net.tx(&p.msg).unwrap_err()), 6);
    }
    net.end();
    // Submitting after the submit window.
    let p0 = net.people[0]
        .prepare(&view, &net.data(0, false), [0; 32])
        .unwrap();
    assert_eq!(module_code(net.tx(&p0.msg).unwrap_err()), 5);
    // A wrong seed for the dropped contributor.
    let dropped = net.people[0].address();
    let mut m = net.people[1].reveal_msg(&view, &[dropped]).unwrap();
    m.seeds[0].seed[0] ^= 1;
    assert_eq!(module_code(net.tx(&m).unwrap_err()), 7);
    // The seed shared with a peer that submitted must stay secret: the
    // client will not build the message from the chain's view...
    let after = net.view(id);
    let submitted = net.people[2].address();
    assert!(net.people[1].reveal_msg(&after, &[submitted]).is_err());
    // ...and the chain refuses one built by hand.
    let peer = after
        .contributors
        .iter()
        .find(|p| p.address == submitted)
        .unwrap();
    let m = pb::MsgRevealSeeds {
        contributor: net.people[1].address().to_bech32(),
        round_id: id,
        seeds: vec![pb::RevealedSeed {
            peer: submitted.to_bech32(),
            seed: net.people[1].pairwise_seed(id, peer).unwrap().to_vec(),
        }],
    };
    assert_eq!(module_code(net.tx(&m).unwrap_err()), 2);
    // The dropped contributor cannot reveal either.
    let m = net.people[0].reveal_msg(&view, &[submitted]).unwrap();
    assert_eq!(module_code(net.tx(&m).unwrap_err()), 3);
    // The right seed is taken.
    let m = net.people[1].reveal_msg(&view, &[dropped]).unwrap();
    net.tx(&m).unwrap();
}

#[test]
fn only_bonded_providers_join_once_and_only_governance_opens_rounds() {
    let mut net = Net::new();
    let (config, eval) = net.config(0);
    let open = pb::MsgOpenRound {
        authority: net.people[0].address().to_bech32(),
        config: Some(config.clone()),
        eval_set: Some(eval.clone()),
    };
    assert!(matches!(
        net.tx(&open).unwrap_err(),
        MsgError::Unauthorized(_)
    ));
    // An evaluation set that is not the one hashed is refused before execution.
    let mut other = eval.clone();
    other.labels[0] = (other.labels[0] + 1) % CLASSES as u8;
    let bad = pb::MsgOpenRound {
        authority: Address::module("gov").to_bech32(),
        config: Some(config),
        eval_set: Some(other),
    };
    assert_eq!(module_code(net.tx(&bad).unwrap_err()), 2);
    let id = net.open(0);
    // Opening moved the pool out of the treasury.
    assert_eq!(net.balance(&deai_rounds::module_address()), POOL);
    let stranger = Contributor::new(Address::from_slice(&[251; 20]).unwrap(), [8; 32]);
    assert_eq!(module_code(net.tx(&stranger.join_msg(id)).unwrap_err()), 3);
    net.tx(&net.people[0].join_msg(id)).unwrap();
    assert_eq!(
        module_code(net.tx(&net.people[0].join_msg(id)).unwrap_err()),
        6
    );
    // Someone else's public key is refused.
    let mut copy = net.people[1].join_msg(id);
    copy.public_key = net.people[0].public_key().to_vec();
    assert_eq!(module_code(net.tx(&copy).unwrap_err()), 6);
    // Too few join: the round fails and the pool goes back.
    net.end();
    net.end();
    net.end();
    assert_eq!(net.round(id).status, STATUS_FAILED);
    assert_eq!(
        net.balance(&deai_rounds::treasury_address()),
        TREASURY_START
    );
}

/// Not a check: times the end block that finishes the largest round the
/// bounds allow to be expensive (128 contributors, 64 dropped: 64 x 64 mask
/// expansions) at 4 classes. `cargo test -p deai-rounds-client --test rounds
/// -- --ignored --nocapture` (the module is built at opt-level 2 even in dev).
#[test]
#[ignore]
fn time_finishing_a_round_of_128_with_64_dropouts() {
    let mut net = Net::new();
    net.people = (0..128u32)
        .map(|i| {
            let mut bytes = [0u8; 20];
            bytes[..4].copy_from_slice(&(i + 1).to_be_bytes());
            let addr = Address::from_slice(&bytes).unwrap();
            let mut k = BOND_KEY.to_vec();
            k.extend_from_slice(addr.as_bytes());
            net.state.put_raw(k, b"5000".to_vec()).unwrap();
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&(i + 7).to_be_bytes());
            Contributor::new(addr, key)
        })
        .collect();
    let id = net.open_and_join_with(0, |c| {
        c.max_contributors = 128;
        c.noise_variance = 10;
    });
    let view = net.view(id);
    let mut bytes = 0;
    for i in 0..64 {
        let p = net.people[i]
            .prepare(&view, &net.data(i % 10, false), [i as u8; 32])
            .unwrap();
        bytes = p.msg.encode_to_vec().len();
        net.tx(&p.msg).unwrap();
    }
    net.end();
    let after = net.view(id);
    let mut reveal_bytes = 0;
    for i in 0..64 {
        let m = net.people[i].reveal_dropped(&after).unwrap();
        reveal_bytes = m.encode_to_vec().len();
        net.tx(&m).unwrap();
    }
    net.end();
    let start = std::time::Instant::now();
    let r = net.round(id);
    block::aggregate(&net.state, &r).unwrap().unwrap();
    eprintln!("aggregate alone {:?}", start.elapsed());
    let start = std::time::Instant::now();
    net.end();
    let took = start.elapsed();
    let round = net.round(id);
    assert_eq!(round.status, STATUS_ACCEPTED, "{}", round.reason);
    eprintln!(
        "128 joined, 64 submitted: MsgSubmitUpdate {bytes} B, MsgRevealSeeds {reveal_bytes} B, finishing end block {took:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Whoever drops out (as long as enough submit), the chain's unmasked
    /// sum is exactly the sum of the submitted plain vectors.
    #[test]
    fn the_unmasked_sum_is_the_plain_sum_for_any_dropout_set(
        dropped in prop::collection::btree_set(0usize..10, 0..=5),
        plains in prop::collection::vec(
            prop::collection::vec(-100_000i64..100_000, (CLASSES * HIDDEN) as usize),
            10,
        ),
    ) {
        let mut net = Net::new();
        let id = net.open_and_join(0);
        let view = net.view(id);
        let mut submitted = Vec::new();
        for i in (0..10).filter(|i| !dropped.contains(i)) {
            let m = net.people[i].mask_msg(&view, &plains[i]).unwrap();
            net.tx(&m).unwrap();
            submitted.push(plains[i].clone());
        }
        // With nobody missing the round finishes at the submit deadline:
        // read the sum before.
        if !dropped.is_empty() {
            net.end();
            let after = net.view(id);
            for i in (0..10).filter(|i| !dropped.contains(i)) {
                let m = net.people[i].reveal_dropped(&after).unwrap();
                prop_assert_eq!(m.seeds.len(), dropped.len());
                net.tx(&m).unwrap();
            }
        }
        prop_assert_eq!(
            block::aggregate(&net.state, &net.round(id)).unwrap(),
            Ok(sum_of(&submitted))
        );
    }
}
