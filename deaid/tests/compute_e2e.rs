//! The compute market end to end: `deaid start` driven over its real ABCI
//! socket with CometBFT's call order, on a temporary RocksDB. Three
//! providers register with bonds; a requester's job (a small DGM1 gemm-i8
//! product, one work unit) is assigned to all three, committed, revealed and
//! settled in end_block. Each test checks the money: who was paid, slashed
//! or refunded, and that the total supply equals the sum of balances and
//! grows only by the minted rewards (only for R ≥ 3 with agreement).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use cosmos_sdk_proto::{
    cosmos::{
        auth::v1beta1::{BaseAccount, QueryAccountRequest, QueryAccountResponse},
        bank::v1beta1::{
            QueryBalanceRequest, QueryBalanceResponse, QueryTotalSupplyRequest,
            QueryTotalSupplyResponse,
        },
        base::v1beta1::Coin as ProtoCoin,
        gov::v1 as sdk_gov,
    },
    Any,
};
use deai_client::tx::{any, msg_vote, sign_tx, Key, TxParams};
use deai_compute_module::record::{commitment, sha3, Hash};
use deai_proto::{compute::v1 as pb, gov::v1 as gpb, treasury::v1 as tpb};
use deai_tests::{Consensus, Node};
use deai_types::{Address, Coin};
use prost::Message;
use serde_json::json;
use tendermint_proto::v0_38::abci::{ExecTxResult, ResponseFinalizeBlock};

const CHAIN: &str = "deai-compute-e2e";
const BIN: &str = env!("CARGO_BIN_EXE_deaid");
/// Opening balance of the requester and each provider.
const START: u128 = 100_000_000;
/// Each provider's bond.
const BOND: u128 = 10_000_000;
/// Fee of every tx.
const FEE: u128 = 5_000;
/// Price per replica of the test jobs (the default minimum is 1000 udeai per
/// work unit, and each test job is one work unit).
const PRICE: u128 = 40_000;
/// Minted per work unit to each agreeing provider of an R ≥ 3 job (at most
/// the price).
const REWARD: u128 = 1_000;
/// Slashed for a wrong result, ppm (50%).
const SLASH_WRONG_PPM: u128 = 500_000;
/// Slashed for a missed commit or reveal, ppm (10%).
const SLASH_MISSED_PPM: u128 = 100_000;
/// Blocks a missing provider stays jailed.
const JAIL: u64 = 50;

fn compute_params() -> serde_json::Value {
    let mut p = serde_json::to_value(deai_compute_module::ComputeParams::default()).unwrap();
    p["min_provider_bond"] = json!("1000000");
    p["commit_window"] = json!(2);
    p["reveal_window"] = json!(2);
    p["min_phase_window"] = json!(1);
    p["jail_period"] = json!(JAIL);
    p["unbonding_period"] = json!(3);
    p["slash_fraction_wrong_ppm"] = json!(SLASH_WRONG_PPM as u32);
    p["slash_fraction_missed_ppm"] = json!(SLASH_MISSED_PPM as u32);
    p["reward_per_work_unit"] = json!(REWARD.to_string());
    p["max_pending_blocks"] = json!(10);
    p
}

fn gov_params() -> serde_json::Value {
    let mut p = serde_json::to_value(deai_gov::GovParams::default()).unwrap();
    p["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
    p["expedited_min_deposit"] = json!([{"denom": "udeai", "amount": "5000"}]);
    p["max_deposit_period_blocks"] = json!(10);
    p["voting_period_blocks"] = json!(3);
    p["expedited_voting_period_blocks"] = json!(2);
    p
}

/// The test's accounts: three providers and a requester.
struct Keys {
    providers: Vec<Key>,
    requester: Key,
}

impl Keys {
    fn new() -> Self {
        Keys {
            providers: (0..3)
                .map(|i| Key::from_label(&format!("compute-provider-{i}")))
                .collect(),
            requester: Key::from_label("compute-requester"),
        }
    }

    fn all(&self) -> Vec<&Key> {
        self.providers
            .iter()
            .chain(std::iter::once(&self.requester))
            .collect()
    }
}

/// A running node, its consensus driver, and the accounts the test knows.
struct Chain {
    c: Consensus,
    keys: Keys,
    /// Every address that can hold tokens in these tests.
    holders: Vec<Address>,
    _node: Node,
    _dir: tempfile::TempDir,
}

fn attr(events: &[tendermint_proto::v0_38::abci::Event], kind: &str, key: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.r#type == kind)
        .flat_map(|e| &e.attributes)
        .filter(|a| a.key == key)
        .map(|a| a.value.clone())
        .collect()
}

fn ok(r: &ExecTxResult) {
    assert_eq!(r.code, 0, "tx failed: {}", r.log);
}

impl Chain {
    /// A fresh chain: the requester and providers funded, short compute
    /// windows, no fee share to the treasury (so its balance moves only by
    /// slashes and spends), and the treasury holding `treasury` udeai.
    fn new(treasury: u128) -> Self {
        Chain::with_cap(treasury, None)
    }

    /// [`Chain::new`] with a treasury spending cap per epoch, udeai.
    fn with_cap(treasury: u128, cap: Option<u128>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("abci.sock");
        let node = Node::start(
            Path::new(BIN),
            dir.path(),
            &format!("unix://{}", sock.display()),
        )
        .unwrap();
        let keys = Keys::new();
        let mut balances: Vec<_> = keys
            .all()
            .iter()
            .map(|k| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": START.to_string()}]}))
            .collect();
        if treasury > 0 {
            balances.push(json!({"address": deai_treasury::address().to_bech32(), "coins": [{"denom": "udeai", "amount": treasury.to_string()}]}));
        }
        let mut treasury_params =
            serde_json::to_value(deai_treasury::TreasuryParams::default()).unwrap();
        treasury_params["fee_share_ppm"] = json!(0);
        if let Some(cap) = cap {
            treasury_params["spend_cap_per_epoch"] =
                json!([{"denom": "udeai", "amount": cap.to_string()}]);
        }
        let genesis = json!({
            "bank": {"balances": balances},
            "gov": {"params": gov_params()},
            "treasury": {"params": treasury_params},
            "compute": {"params": compute_params()},
        });
        let mut c = Consensus::handshake(node.connect().unwrap(), CHAIN, &genesis).unwrap();
        // Genesis state is readable by queries once the first block commits.
        c.block(&[]).unwrap();
        let mut holders: Vec<Address> = keys.all().iter().map(|k| k.address()).collect();
        holders.extend([
            deai_compute_module::module_address(),
            deai_treasury::address(),
            deai_gov::authority(),
            Address::module("fee_collector"),
        ]);
        Chain {
            c,
            keys,
            holders,
            _node: node,
            _dir: dir,
        }
    }

    fn query<Resp: Message + Default>(&mut self, path: &str, req: &impl Message) -> Resp {
        let r = self
            .c
            .conn
            .query(path, &req.encode_to_vec(), 0, false)
            .unwrap();
        assert_eq!(r.code, 0, "{path}: {}", r.log);
        Resp::decode(r.value.as_ref()).unwrap()
    }

    fn account(&mut self, addr: &Address) -> (u64, u64) {
        let r: QueryAccountResponse = self.query(
            "/cosmos.auth.v1beta1.Query/Account",
            &QueryAccountRequest {
                address: addr.to_bech32(),
            },
        );
        let acc = BaseAccount::decode(r.account.unwrap().value.as_slice()).unwrap();
        (acc.account_number, acc.sequence)
    }

    /// `msgs` signed by `key` at its current sequence (one tx per signer per block).
    fn tx(&mut self, key: &Key, msgs: Vec<Any>) -> Vec<u8> {
        let (account_number, sequence) = self.account(&key.address());
        sign_tx(
            key,
            msgs,
            &TxParams {
                chain_id: CHAIN.into(),
                account_number,
                sequence,
                fee: Some(Coin::new(FEE, "udeai")),
                gas_limit: 500_000,
                memo: String::new(),
            },
        )
    }

    fn block(&mut self, txs: &[Vec<u8>]) -> ResponseFinalizeBlock {
        let r = self.c.block(txs).unwrap();
        assert_eq!(r.tx_results.len(), txs.len());
        r
    }

    fn balance(&mut self, addr: &Address) -> u128 {
        let r: QueryBalanceResponse = self.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            &QueryBalanceRequest {
                address: addr.to_bech32(),
                denom: "udeai".into(),
            },
        );
        r.balance.map_or(0, |c| c.amount.parse().unwrap())
    }

    fn supply(&mut self) -> u128 {
        let r: QueryTotalSupplyResponse = self.query(
            "/cosmos.bank.v1beta1.Query/TotalSupply",
            &QueryTotalSupplyRequest::default(),
        );
        r.supply
            .iter()
            .find(|c| c.denom == "udeai")
            .map_or(0, |c| c.amount.parse().unwrap())
    }

    /// Checks that the total supply equals the sum of every holder's balance
    /// and returns it.
    fn supply_matches_balances(&mut self) -> u128 {
        let supply = self.supply();
        let holders = self.holders.clone();
        let sum: u128 = holders.iter().map(|a| self.balance(a)).sum();
        assert_eq!(supply, sum, "total supply is not the sum of the balances");
        supply
    }

    fn job(&mut self, id: u64) -> pb::Job {
        let r: pb::QueryJobResponse = self.query(
            deai_compute_module::query::JOB_PATH,
            &pb::QueryJobRequest { job_id: id },
        );
        r.job.unwrap()
    }

    fn provider(&mut self, addr: &Address) -> pb::Provider {
        let r: pb::QueryProviderResponse = self.query(
            deai_compute_module::query::PROVIDER_PATH,
            &pb::QueryProviderRequest {
                address: addr.to_bech32(),
            },
        );
        r.provider.unwrap()
    }

    /// The requester proposes `messages` and every account votes yes;
    /// returns the proposal id once it has left its voting period, and the
    /// supply measured while it was still open.
    fn propose_and_pass(&mut self, messages: Vec<Any>) -> (u64, u128) {
        let proposer = self.keys.requester.clone();
        let submit = sdk_gov::MsgSubmitProposal {
            messages,
            initial_deposit: vec![ProtoCoin {
                denom: "udeai".into(),
                amount: "1000".into(),
            }],
            proposer: proposer.address().to_bech32(),
            metadata: String::new(),
            title: "Run a public job".into(),
            summary: "Paid by the treasury.".into(),
            expedited: false,
        };
        let tx = self.tx(
            &proposer,
            vec![any(deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL, &submit)],
        );
        let r = self.block(&[tx]);
        ok(&r.tx_results[0]);
        let id: u64 = attr(&r.tx_results[0].events, "submit_proposal", "proposal_id")[0]
            .parse()
            .unwrap();
        let voters: Vec<Key> = self.keys.all().into_iter().cloned().collect();
        let votes: Vec<_> = voters
            .iter()
            .map(|k| self.tx(k, vec![msg_vote(&k.address(), id, gpb::VoteOption::Yes)]))
            .collect();
        self.block(&votes).tx_results.iter().for_each(ok);
        let supply = self.supply_matches_balances();
        for _ in 0..10 {
            if self.proposal(id).status != gpb::ProposalStatus::VotingPeriod as i32 {
                return (id, supply);
            }
            self.block(&[]);
        }
        panic!("proposal {id} still open: {:?}", self.proposal(id));
    }

    fn proposal(&mut self, id: u64) -> gpb::Proposal {
        let p: gpb::QueryProposalResponse = self.query(
            "/deai.gov.v1.Query/Proposal",
            &gpb::QueryProposalRequest { proposal_id: id },
        );
        p.proposal.unwrap()
    }

    fn provider_addresses(&self) -> Vec<Address> {
        self.keys.providers.iter().map(Key::address).collect()
    }

    /// Registers the three providers with `BOND` each, in one block.
    fn register_providers(&mut self) {
        let providers = self.keys.providers.clone();
        let txs: Vec<_> = providers
            .iter()
            .map(|k| {
                self.tx(
                    k,
                    vec![any(
                        deai_compute_module::MSG_REGISTER_PROVIDER_TYPE_URL,
                        &pb::MsgRegisterProvider {
                            provider: k.address().to_bech32(),
                            bond: BOND.to_string(),
                            device: "test device".into(),
                        },
                    )],
                )
            })
            .collect();
        let r = self.block(&txs);
        r.tx_results.iter().for_each(ok);
    }

    /// A gemm-i8 job from `requester` with R = 3 at `PRICE`, as a message.
    fn job_msg(requester: &Address, input: &[u8]) -> Any {
        Self::job_msg_with(requester, input, 3, 0)
    }

    /// A gemm-i8 job from `requester` with `replication` replicas at
    /// `PRICE` and `deadline` (0 for none), as a message.
    fn job_msg_with(requester: &Address, input: &[u8], replication: u32, deadline: u64) -> Any {
        any(
            deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
            &pb::MsgSubmitJob {
                requester: requester.to_bech32(),
                kind: "gemm-i8".into(),
                model_id: String::new(),
                input: input.to_vec(),
                input_hash: sha3(&[input]).to_vec(),
                replication,
                price_per_replica: PRICE.to_string(),
                deadline,
            },
        )
    }

    /// Submits a job from the requester; returns its id.
    fn submit_job(&mut self, input: &[u8]) -> u64 {
        let requester = self.keys.requester.clone();
        let tx = self.tx(&requester, vec![Self::job_msg(&requester.address(), input)]);
        let r = self.block(&[tx]);
        ok(&r.tx_results[0]);
        attr(&r.tx_results[0].events, "compute_job_submitted", "job_id")[0]
            .parse()
            .unwrap()
    }

    /// One block in which each provider `i` with `Some(result)` commits to it
    /// with salt `[i+1; 16]`.
    fn commit(&mut self, job_id: u64, results: &[Option<Hash>]) -> Vec<ExecTxResult> {
        let providers = self.keys.providers.clone();
        let txs: Vec<_> = providers
            .iter()
            .zip(results)
            .enumerate()
            .filter_map(|(i, (k, r))| r.map(|r| (i, k, r)))
            .map(|(i, k, r)| {
                let salt = vec![i as u8 + 1; 16];
                self.tx(
                    k,
                    vec![any(
                        deai_compute_module::MSG_COMMIT_RESULT_TYPE_URL,
                        &pb::MsgCommitResult {
                            provider: k.address().to_bech32(),
                            job_id,
                            commitment: commitment(&r, &k.address(), &salt).to_vec(),
                        },
                    )],
                )
            })
            .collect();
        self.block(&txs).tx_results
    }

    /// One block in which each provider `i` with `Some((result, output))`
    /// reveals it with the salt of [`Chain::commit`].
    fn reveal(&mut self, job_id: u64, reveals: &[Option<(Hash, Vec<u8>)>]) -> Vec<ExecTxResult> {
        let providers = self.keys.providers.clone();
        let txs: Vec<_> = providers
            .iter()
            .zip(reveals)
            .enumerate()
            .filter_map(|(i, (k, r))| r.clone().map(|r| (i, k, r)))
            .map(|(i, k, (hash, output))| {
                self.tx(
                    k,
                    vec![any(
                        deai_compute_module::MSG_REVEAL_RESULT_TYPE_URL,
                        &pb::MsgRevealResult {
                            provider: k.address().to_bech32(),
                            job_id,
                            result_hash: hash.to_vec(),
                            salt: vec![i as u8 + 1; 16],
                            output,
                        },
                    )],
                )
            })
            .collect();
        self.block(&txs).tx_results
    }

    /// Empty blocks until job `id` is settled; returns the settling block's
    /// events (end_block events are the block's own).
    fn settle(&mut self, id: u64) -> Vec<tendermint_proto::v0_38::abci::Event> {
        for _ in 0..20 {
            let r = self.block(&[]);
            if !attr(&r.events, "compute_job_settled", "job_id")
                .iter()
                .all(|j| j != &id.to_string())
            {
                return r.events;
            }
        }
        panic!("job {id} was not settled: {:?}", self.job(id));
    }
}

/// A DGM1 gemm-i8 header for `m × k` times `k × n`.
fn gemm_header(m: u32, n: u32, k: u32) -> Vec<u8> {
    let mut v = deai_compute_module::input::GEMM_I8_MAGIC_V1.to_vec();
    for d in [m, n, k] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v
}

/// A valid gemm-i8 input: a 2×2×2 product (8 multiply-adds, one work unit)
/// whose matrices depend on `tag`, so that different jobs differ.
fn gemm(tag: u8) -> Vec<u8> {
    let mut v = gemm_header(2, 2, 2);
    v.extend((0..8u8).map(|i| tag.wrapping_add(i)));
    v
}

/// The results the providers compute: the output bytes and their hash.
fn result(output: &[u8]) -> (Hash, Vec<u8>) {
    (sha3(&[output]), output.to_vec())
}

/// Sums the `compute_provider_paid.reward` attributes: the tokens minted.
fn minted(events: &[tendermint_proto::v0_38::abci::Event]) -> u128 {
    attr(events, "compute_provider_paid", "reward")
        .iter()
        .map(|r| r.parse::<u128>().unwrap())
        .sum()
}

/// What [`run_job`] leaves behind.
struct Run {
    chain: Chain,
    job_id: u64,
    /// The events of the settling block.
    events: Vec<tendermint_proto::v0_38::abci::Event>,
    /// Each provider's balance once the job was submitted.
    provider_balances: Vec<u128>,
    /// The requester's balance once the job was submitted (escrow paid).
    requester_balance: u128,
    /// The supply after the providers registered.
    supply: u128,
}

/// Runs one job: providers register, the requester submits, every provider
/// with a commitment in `commits` commits (in the assignment block), every
/// one with a reveal in `reveals` reveals (in the next), and the job settles.
fn run_job(commits: &[Option<Hash>], reveals: &[Option<(Hash, Vec<u8>)>]) -> Run {
    let mut chain = Chain::new(0);
    chain.register_providers();
    let supply = chain.supply_matches_balances();
    assert_eq!(supply, 4 * START);
    let job_id = chain.submit_job(&gemm(1));
    // Assigned in the next block's begin_block, before that block's commits.
    let provider_balances: Vec<u128> = chain
        .provider_addresses()
        .iter()
        .map(|a| chain.balance(a))
        .collect();
    let requester = chain.keys.requester.address();
    let requester_balance = chain.balance(&requester);
    let results = chain.commit(job_id, commits);
    results.iter().for_each(ok);
    let job = chain.job(job_id);
    assert_eq!(job.status, pb::JobStatus::Assigned as i32, "{job:?}");
    assert_eq!(job.assignments.len(), 3);
    let results = chain.reveal(job_id, reveals);
    results.iter().for_each(ok);
    let events = chain.settle(job_id);
    Run {
        chain,
        job_id,
        events,
        provider_balances,
        requester_balance,
        supply,
    }
}

fn fees_paid(commits: &[Option<Hash>], reveals: &[Option<(Hash, Vec<u8>)>], i: usize) -> u128 {
    FEE * (u128::from(commits[i].is_some()) + u128::from(reveals[i].is_some()))
}

#[test]
fn honest_providers_agree_and_are_paid_the_price_and_the_minted_reward() {
    let (h, out) = result(b"the product");
    let commits = [Some(h); 3];
    let reveals = [
        Some((h, out.clone())),
        Some((h, Vec::new())),
        Some((h, Vec::new())),
    ];
    let mut run = run_job(&commits, &reveals);
    let job = run.chain.job(run.job_id);
    assert_eq!(job.status, pb::JobStatus::Finalized as i32, "{job:?}");
    assert_eq!(job.result_hash, h.to_vec());
    assert_eq!(job.escrow, "0");
    // A 2×2×2 gemm-i8 product is one work unit (at most 2^20 multiply-adds).
    assert_eq!(job.work_units, 1);
    for (i, a) in run.chain.provider_addresses().iter().enumerate() {
        assert_eq!(
            run.chain.balance(a),
            run.provider_balances[i] - fees_paid(&commits, &reveals, i) + PRICE + REWARD,
            "provider {i}"
        );
        let p = run.chain.provider(a);
        assert_eq!(p.bond, BOND.to_string());
        assert_eq!((p.open_jobs, p.jailed_until), (0, 0));
    }
    // The requester paid the escrow when submitting and gets nothing back.
    let requester = run.chain.keys.requester.address();
    assert_eq!(run.chain.balance(&requester), run.requester_balance);
    // The compute module holds exactly the bonds again.
    assert_eq!(
        run.chain.balance(&deai_compute_module::module_address()),
        3 * BOND
    );
    // The result query shows the final hash and the revealed output.
    let r: pb::QueryResultResponse = run.chain.query(
        deai_compute_module::query::RESULT_PATH,
        &pb::QueryResultRequest { job_id: run.job_id },
    );
    assert_eq!(r.status, pb::JobStatus::Finalized as i32);
    assert_eq!((r.result_hash, r.output), (h.to_vec(), out));
    // Supply grew by exactly the minted rewards.
    assert_eq!(minted(&run.events), 3 * REWARD);
    assert_eq!(run.chain.supply_matches_balances(), run.supply + 3 * REWARD);
}

#[test]
fn a_provider_with_a_wrong_result_is_slashed_to_the_treasury() {
    let (h, out) = result(b"the product");
    let (wrong, _) = result(b"something else");
    let commits = [Some(h), Some(h), Some(wrong)];
    let reveals = [
        Some((h, out)),
        Some((h, Vec::new())),
        Some((wrong, Vec::new())),
    ];
    let mut run = run_job(&commits, &reveals);
    let job = run.chain.job(run.job_id);
    assert_eq!(job.status, pb::JobStatus::Finalized as i32, "{job:?}");
    assert_eq!(job.result_hash, h.to_vec());
    let addrs = run.chain.provider_addresses();
    let slash = BOND * SLASH_WRONG_PPM / 1_000_000;
    assert_eq!(
        run.chain.provider(&addrs[2]).bond,
        (BOND - slash).to_string()
    );
    assert_eq!(
        attr(&run.events, "compute_provider_slashed", "reason"),
        vec!["wrong"]
    );
    // The slash went to the treasury (no fee share in these tests).
    assert_eq!(run.chain.balance(&deai_treasury::address()), slash);
    // The wrong provider got nothing; the two others were paid.
    assert_eq!(
        run.chain.balance(&addrs[2]),
        run.provider_balances[2] - fees_paid(&commits, &reveals, 2)
    );
    for (i, a) in addrs.iter().enumerate().take(2) {
        assert_eq!(
            run.chain.balance(a),
            run.provider_balances[i] - fees_paid(&commits, &reveals, i) + PRICE + REWARD
        );
    }
    // The unpaid replica's price goes back to the requester.
    let requester = run.chain.keys.requester.address();
    assert_eq!(run.chain.balance(&requester), run.requester_balance + PRICE);
    assert_eq!(
        run.chain.balance(&deai_compute_module::module_address()),
        3 * BOND - slash
    );
    assert_eq!(run.chain.supply_matches_balances(), run.supply + 2 * REWARD);
}

#[test]
fn a_provider_that_never_reveals_is_penalized_and_jailed() {
    let (h, out) = result(b"the product");
    let commits = [Some(h); 3];
    let reveals = [Some((h, out)), Some((h, Vec::new())), None];
    let mut run = run_job(&commits, &reveals);
    let job = run.chain.job(run.job_id);
    assert_eq!(job.status, pb::JobStatus::Finalized as i32, "{job:?}");
    let addrs = run.chain.provider_addresses();
    let slash = BOND * SLASH_MISSED_PPM / 1_000_000;
    let p = run.chain.provider(&addrs[2]);
    assert_eq!(p.bond, (BOND - slash).to_string());
    assert_eq!(p.jailed_until, job.settled_height + JAIL, "{p:?}");
    assert_eq!(
        attr(&run.events, "compute_provider_slashed", "reason"),
        vec!["missed"]
    );
    assert_eq!(
        attr(&run.events, "compute_provider_jailed", "provider"),
        vec![addrs[2].to_bech32()]
    );
    assert_eq!(run.chain.balance(&deai_treasury::address()), slash);
    assert_eq!(
        run.chain.balance(&addrs[2]),
        run.provider_balances[2] - fees_paid(&commits, &reveals, 2)
    );
    assert_eq!(run.chain.supply_matches_balances(), run.supply + 2 * REWARD);

    // While jailed it is not eligible: a new R = 3 job finds only two
    // providers and is refused at submission, for the fee alone.
    let requester = run.chain.keys.requester.clone();
    let before = run.chain.balance(&requester.address());
    let module_before = run.chain.balance(&deai_compute_module::module_address());
    let tx = run.chain.tx(
        &requester,
        vec![Chain::job_msg(&requester.address(), &gemm(2))],
    );
    let r = run.chain.block(&[tx]);
    assert_ne!(r.tx_results[0].code, 0);
    assert!(
        r.tx_results[0]
            .log
            .contains("exceeds the 2 providers eligible"),
        "{}",
        r.tx_results[0].log
    );
    assert_eq!(run.chain.balance(&requester.address()), before - FEE);
    assert_eq!(
        run.chain.balance(&deai_compute_module::module_address()),
        module_before
    );
}

#[test]
fn a_three_way_split_refunds_the_requester_and_marks_the_job_disputed() {
    let hashes: Vec<(Hash, Vec<u8>)> = [b"one", b"two", b"six"]
        .iter()
        .map(|o| result(*o))
        .collect();
    let commits: Vec<Option<Hash>> = hashes.iter().map(|(h, _)| Some(*h)).collect();
    let reveals: Vec<_> = hashes.iter().cloned().map(Some).collect();
    let mut run = run_job(&commits, &reveals);
    let job = run.chain.job(run.job_id);
    assert_eq!(job.status, pb::JobStatus::Disputed as i32, "{job:?}");
    assert!(job.result_hash.is_empty());
    assert_eq!(
        attr(&run.events, "compute_job_settled", "refund"),
        vec![(3 * PRICE).to_string()]
    );
    let requester = run.chain.keys.requester.address();
    assert_eq!(
        run.chain.balance(&requester),
        run.requester_balance + 3 * PRICE
    );
    // No majority: nobody is paid or slashed, nothing is minted.
    assert!(attr(&run.events, "compute_provider_slashed", "provider").is_empty());
    for (i, a) in run.chain.provider_addresses().iter().enumerate() {
        assert_eq!(
            run.chain.balance(a),
            run.provider_balances[i] - fees_paid(&commits, &reveals, i)
        );
        assert_eq!(run.chain.provider(a).bond, BOND.to_string());
    }
    assert_eq!(run.chain.supply_matches_balances(), run.supply);
}

#[test]
fn a_reveal_that_does_not_open_its_commitment_is_rejected_and_changes_nothing_but_fee_and_sequence()
{
    let mut chain = Chain::new(0);
    chain.register_providers();
    let job_id = chain.submit_job(&gemm(3));
    let (h, _) = result(b"the product");
    chain.commit(job_id, &[Some(h); 3]).iter().for_each(ok);

    let cheat = chain.keys.providers[0].clone();
    let addr = cheat.address();
    let (other, _) = result(b"a different result");
    let job_before = chain.job(job_id);
    let balance_before = chain.balance(&addr);
    let module_before = chain.balance(&deai_compute_module::module_address());
    let (number, sequence) = chain.account(&addr);
    let supply = chain.supply_matches_balances();
    // The right salt with another result, then the right result with another salt.
    for (hash, salt) in [(other, vec![1u8; 16]), (h, vec![9u8; 16])] {
        let tx = chain.tx(
            &cheat,
            vec![any(
                deai_compute_module::MSG_REVEAL_RESULT_TYPE_URL,
                &pb::MsgRevealResult {
                    provider: addr.to_bech32(),
                    job_id,
                    result_hash: hash.to_vec(),
                    salt,
                    output: Vec::new(),
                },
            )],
        );
        let r = chain.block(&[tx]);
        assert_ne!(r.tx_results[0].code, 0);
        assert!(
            r.tx_results[0].log.contains("commitment"),
            "{}",
            r.tx_results[0].log
        );
    }
    assert_eq!(chain.job(job_id), job_before);
    assert_eq!(chain.balance(&addr), balance_before - 2 * FEE);
    assert_eq!(chain.account(&addr), (number, sequence + 2));
    assert_eq!(
        chain.balance(&deai_compute_module::module_address()),
        module_before
    );
    assert_eq!(chain.supply_matches_balances(), supply);
    // The honest reveal still works afterwards.
    chain
        .reveal(job_id, &[Some((h, Vec::new())), None, None])
        .iter()
        .for_each(ok);
}

#[test]
fn a_passed_proposal_runs_a_treasury_funded_job_escrowed_from_the_treasury() {
    const TREASURY: u128 = 1_000_000;
    let mut chain = Chain::new(TREASURY);
    chain.register_providers();
    let treasury = deai_treasury::address();
    let input = &gemm(4);
    let (proposal_id, supply) = chain.propose_and_pass(vec![Chain::job_msg(&treasury, input)]);
    assert_eq!(
        chain.proposal(proposal_id).status,
        gpb::ProposalStatus::Passed as i32
    );
    // The job was submitted in the end_block that passed the proposal.
    let jobs: pb::QueryJobsResponse = chain.query(
        deai_compute_module::query::JOBS_PATH,
        &pb::QueryJobsRequest::default(),
    );
    let job_id = jobs.jobs[0].id;
    let job = chain.job(job_id);
    assert_eq!(job.requester, treasury.to_bech32());
    assert_eq!(job.escrow, (3 * PRICE).to_string());
    assert_eq!(chain.balance(&treasury), TREASURY - 3 * PRICE);
    // The escrow shows in the treasury's spend history as a job.
    let spends: tpb::QuerySpendsResponse = chain.query(
        "/deai.treasury.v1.Query/Spends",
        &tpb::QuerySpendsRequest { pagination: None },
    );
    let spend = spends.spends.iter().find(|s| s.kind == "job").unwrap();
    assert_eq!(
        spend.amount,
        vec![ProtoCoin {
            denom: "udeai".into(),
            amount: (3 * PRICE).to_string()
        }]
    );
    assert_eq!(
        spend.recipient,
        deai_compute_module::module_address().to_bech32()
    );
    // The providers run it like any job and are paid from the escrow.
    let (h, out) = result(b"the public result");
    chain.commit(job_id, &[Some(h); 3]).iter().for_each(ok);
    chain
        .reveal(
            job_id,
            &[Some((h, out)), Some((h, Vec::new())), Some((h, Vec::new()))],
        )
        .iter()
        .for_each(ok);
    let events = chain.settle(job_id);
    assert_eq!(chain.job(job_id).status, pb::JobStatus::Finalized as i32);
    assert_eq!(minted(&events), 3 * REWARD);
    assert_eq!(chain.balance(&treasury), TREASURY - 3 * PRICE);
    assert_eq!(chain.supply_matches_balances(), supply + 3 * REWARD);
}

/// Empty blocks until a `compute_job_expired` event for `id`; returns its
/// height, refund and reason.
fn wait_expired(chain: &mut Chain, id: u64) -> (i64, String, String) {
    for _ in 0..20 {
        let r = chain.block(&[]);
        let ids = attr(&r.events, "compute_job_expired", "job_id");
        if let Some(i) = ids.iter().position(|j| j == &id.to_string()) {
            return (
                chain.c.height,
                attr(&r.events, "compute_job_expired", "refund")[i].clone(),
                attr(&r.events, "compute_job_expired", "reason")[i].clone(),
            );
        }
    }
    panic!("job {id} did not expire: {:?}", chain.job(id));
}

#[test]
fn a_job_without_enough_providers_is_refused_or_expires_and_its_escrow_is_refunded() {
    let mut chain = Chain::new(0);
    let supply = chain.supply_matches_balances();
    let requester = chain.keys.requester.clone();
    let before = chain.balance(&requester.address());
    // No provider at all: R = 3 is refused at submission, for the fee alone.
    let tx = chain.tx(
        &requester,
        vec![Chain::job_msg(&requester.address(), &gemm(6))],
    );
    let r = chain.block(&[tx]);
    assert_ne!(r.tx_results[0].code, 0);
    assert!(
        r.tx_results[0]
            .log
            .contains("exceeds the 0 providers eligible"),
        "{}",
        r.tx_results[0].log
    );
    assert_eq!(chain.balance(&requester.address()), before - FEE);
    let jobs: pb::QueryJobsResponse = chain.query(
        deai_compute_module::query::JOBS_PATH,
        &pb::QueryJobsRequest::default(),
    );
    assert!(jobs.jobs.is_empty(), "{jobs:?}");

    // Three providers: two R = 3 jobs are accepted (one with a deadline),
    // but in the same block, after them, a provider withdraws its whole
    // bond. The jobs wait for a third provider that never comes, then
    // expire and are refunded: the one with a deadline at the last block
    // its deadline allows an assignment in (two phases of min_phase_window
    // = 1 block each), the other after max_pending_blocks (10).
    chain.register_providers();
    let quitter = chain.keys.providers[0].clone();
    // Bonds only move tokens into the module account.
    assert_eq!(chain.supply_matches_balances(), supply);
    let before = chain.balance(&requester.address());
    let quitter_before = chain.balance(&quitter.address());
    let submitted = chain.c.height + 1;
    let deadline = submitted as u64 + 6;
    let submit = chain.tx(
        &requester,
        vec![
            Chain::job_msg(&requester.address(), &gemm(7)),
            Chain::job_msg_with(&requester.address(), &gemm(8), 3, deadline),
        ],
    );
    let unbond = chain.tx(
        &quitter,
        vec![any(
            deai_compute_module::MSG_UNBOND_TYPE_URL,
            &pb::MsgUnbond {
                provider: quitter.address().to_bech32(),
                amount: BOND.to_string(),
            },
        )],
    );
    let r = chain.block(&[submit, unbond]);
    r.tx_results.iter().for_each(ok);
    let ids: Vec<u64> = attr(&r.tx_results[0].events, "compute_job_submitted", "job_id")
        .iter()
        .map(|j| j.parse().unwrap())
        .collect();
    let (plain, with_deadline) = (ids[0], ids[1]);
    assert_eq!(
        chain.balance(&requester.address()),
        before - FEE - 6 * PRICE
    );
    let (h, refund, reason) = wait_expired(&mut chain, with_deadline);
    assert_eq!(
        (refund, reason),
        ((3 * PRICE).to_string(), "deadline".into())
    );
    assert_eq!(h as u64, deadline - 2 + 1);
    assert_eq!(chain.job(plain).status, pb::JobStatus::Pending as i32);
    let (h, refund, reason) = wait_expired(&mut chain, plain);
    assert_eq!(
        (refund, reason),
        ((3 * PRICE).to_string(), "no_providers".into())
    );
    assert_eq!(h, submitted + 11);
    for id in [plain, with_deadline] {
        let job = chain.job(id);
        assert_eq!(job.status, pb::JobStatus::Expired as i32, "{job:?}");
        assert_eq!(job.escrow, "0");
        assert!(job.assignments.is_empty(), "{job:?}");
    }
    assert_eq!(chain.balance(&requester.address()), before - FEE);
    // The unbonding period (3) is long past: the quitter has its bond back.
    assert_eq!(
        chain.balance(&quitter.address()),
        quitter_before - FEE + BOND
    );
    assert_eq!(
        chain.balance(&deai_compute_module::module_address()),
        2 * BOND
    );
    assert_eq!(chain.supply_matches_balances(), supply);
}

#[test]
fn an_unbonding_is_refused_during_open_jobs_and_paid_out_after_its_period() {
    let mut chain = Chain::new(0);
    chain.register_providers();
    let provider = chain.keys.providers[0].clone();
    let addr = provider.address();
    let unbond = |chain: &mut Chain| {
        chain.tx(
            &provider,
            vec![any(
                deai_compute_module::MSG_UNBOND_TYPE_URL,
                &pb::MsgUnbond {
                    provider: addr.to_bech32(),
                    amount: (BOND / 2).to_string(),
                },
            )],
        )
    };
    // While assigned to a job, its bond must stay to cover slashes.
    let job_id = chain.submit_job(&gemm(3));
    let (h, _) = result(b"the product");
    chain.commit(job_id, &[Some(h); 3]).iter().for_each(ok);
    let tx = unbond(&mut chain);
    let r = chain.block(&[tx]);
    assert_ne!(r.tx_results[0].code, 0);
    assert!(
        r.tx_results[0].log.contains("unsettled jobs"),
        "{}",
        r.tx_results[0].log
    );
    assert_eq!(chain.provider(&addr).bond, BOND.to_string());
    let h3 = [
        Some((h, Vec::new())),
        Some((h, Vec::new())),
        Some((h, Vec::new())),
    ];
    chain.reveal(job_id, &h3).iter().for_each(ok);
    chain.settle(job_id);

    // Once settled, half the bond moves to the unbonding queue and is paid
    // out in the end_block of its completion height.
    let supply = chain.supply_matches_balances();
    let before = chain.balance(&addr);
    let tx = unbond(&mut chain);
    let r = chain.block(&[tx]);
    ok(&r.tx_results[0]);
    let completion: u64 = attr(
        &r.tx_results[0].events,
        "compute_provider_unbonding",
        "completion_height",
    )[0]
    .parse()
    .unwrap();
    let p = chain.provider(&addr);
    assert_eq!(
        (p.bond, p.unbonding),
        ((BOND / 2).to_string(), (BOND / 2).to_string())
    );
    while (chain.c.height as u64) < completion {
        assert_eq!(chain.balance(&addr), before - FEE);
        chain.block(&[]);
    }
    assert_eq!(chain.balance(&addr), before - FEE + BOND / 2);
    assert_eq!(chain.provider(&addr).unbonding, "0");
    assert_eq!(
        chain.balance(&deai_compute_module::module_address()),
        3 * BOND - BOND / 2
    );
    assert_eq!(chain.supply_matches_balances(), supply);
}

#[test]
fn a_treasury_job_over_the_spending_cap_fails_its_proposal_and_moves_nothing() {
    const TREASURY: u128 = 1_000_000;
    // The job escrows 3 × PRICE, above the cap.
    let mut chain = Chain::with_cap(TREASURY, Some(2 * PRICE));
    chain.register_providers();
    let treasury = deai_treasury::address();
    let (id, supply) = chain.propose_and_pass(vec![Chain::job_msg(&treasury, &gemm(5))]);
    let p = chain.proposal(id);
    assert_eq!(p.status, gpb::ProposalStatus::Failed as i32, "{p:?}");
    assert!(p.failed_reason.contains("spend cap"), "{p:?}");
    assert_eq!(chain.balance(&treasury), TREASURY);
    let jobs: pb::QueryJobsResponse = chain.query(
        deai_compute_module::query::JOBS_PATH,
        &pb::QueryJobsRequest::default(),
    );
    assert!(jobs.jobs.is_empty(), "{jobs:?}");
    let spends: tpb::QuerySpendsResponse = chain.query(
        "/deai.treasury.v1.Query/Spends",
        &tpb::QuerySpendsRequest { pagination: None },
    );
    assert!(spends.spends.is_empty(), "{spends:?}");
    assert_eq!(
        chain.balance(&deai_compute_module::module_address()),
        3 * BOND
    );
    assert_eq!(chain.supply_matches_balances(), supply);
}

#[test]
fn a_job_with_one_replica_pays_its_provider_the_price_without_a_reward_when_the_reveal_lands() {
    let mut chain = Chain::new(0);
    chain.register_providers();
    let requester = chain.keys.requester.clone();
    let msg = Chain::job_msg_with(&requester.address(), &gemm(9), 1, 0);
    let tx = chain.tx(&requester, vec![msg]);
    let r = chain.block(&[tx]);
    ok(&r.tx_results[0]);
    let job_id: u64 = attr(&r.tx_results[0].events, "compute_job_submitted", "job_id")[0]
        .parse()
        .unwrap();
    let supply = chain.supply_matches_balances();
    chain.block(&[]);
    let job = chain.job(job_id);
    assert_eq!(job.assignments.len(), 1, "{job:?}");
    let i = chain
        .provider_addresses()
        .iter()
        .position(|a| a.to_bech32() == job.assignments[0].provider)
        .unwrap();
    let provider = chain.keys.providers[i].clone();
    let addr = provider.address();
    let before = chain.balance(&addr);
    let (h, out) = result(b"the product");
    let salt = vec![42u8; 8];
    let commit = chain.tx(
        &provider,
        vec![any(
            deai_compute_module::MSG_COMMIT_RESULT_TYPE_URL,
            &pb::MsgCommitResult {
                provider: addr.to_bech32(),
                job_id,
                commitment: commitment(&h, &addr, &salt).to_vec(),
            },
        )],
    );
    ok(&chain.block(&[commit]).tx_results[0]);
    let reveal = chain.tx(
        &provider,
        vec![any(
            deai_compute_module::MSG_REVEAL_RESULT_TYPE_URL,
            &pb::MsgRevealResult {
                provider: addr.to_bech32(),
                job_id,
                result_hash: h.to_vec(),
                salt,
                output: out.clone(),
            },
        )],
    );
    let r = chain.block(&[reveal]);
    ok(&r.tx_results[0]);
    // Paid the price by the reveal itself, not at the reveal deadline; a
    // single unverified answer mints nothing.
    assert_eq!(
        attr(&r.tx_results[0].events, "compute_provider_paid", "price"),
        vec![PRICE.to_string()]
    );
    assert_eq!(
        attr(&r.tx_results[0].events, "compute_provider_paid", "reward"),
        vec!["0".to_string()]
    );
    let job = chain.job(job_id);
    assert_eq!(job.status, pb::JobStatus::Finalized as i32, "{job:?}");
    assert_eq!(job.output, out);
    assert_eq!(chain.balance(&addr), before - 2 * FEE + PRICE);
    assert_eq!(chain.provider(&addr).open_jobs, 0);
    // Nothing happens again at the reveal deadline.
    for _ in 0..6 {
        let r = chain.block(&[]);
        assert!(attr(&r.events, "compute_job_settled", "job_id").is_empty());
    }
    assert_eq!(chain.job(job_id).settled_height, job.settled_height);
    assert_eq!(chain.balance(&addr), before - 2 * FEE + PRICE);
    assert_eq!(chain.job(job_id).escrow, "0");
    assert_eq!(chain.supply_matches_balances(), supply);
}

#[test]
fn two_agreeing_replicas_are_paid_the_price_and_nothing_is_minted() {
    let mut chain = Chain::new(0);
    chain.register_providers();
    let requester = chain.keys.requester.clone();
    let tx = chain.tx(
        &requester,
        vec![Chain::job_msg_with(&requester.address(), &gemm(10), 2, 0)],
    );
    let r = chain.block(&[tx]);
    ok(&r.tx_results[0]);
    let job_id: u64 = attr(&r.tx_results[0].events, "compute_job_submitted", "job_id")[0]
        .parse()
        .unwrap();
    let requester_balance = chain.balance(&requester.address());
    let supply = chain.supply_matches_balances();
    let before: Vec<u128> = chain
        .provider_addresses()
        .iter()
        .map(|a| chain.balance(a))
        .collect();
    // Assigned in the next block; each assigned provider commits and reveals.
    chain.block(&[]);
    let job = chain.job(job_id);
    assert_eq!(job.assignments.len(), 2, "{job:?}");
    let assigned: Vec<bool> = chain
        .provider_addresses()
        .iter()
        .map(|a| job.assignments.iter().any(|x| x.provider == a.to_bech32()))
        .collect();
    let (h, out) = result(b"the product");
    let commits: Vec<Option<Hash>> = assigned.iter().map(|&a| a.then_some(h)).collect();
    let reveals: Vec<Option<(Hash, Vec<u8>)>> = assigned
        .iter()
        .map(|&a| a.then(|| (h, out.clone())))
        .collect();
    chain.commit(job_id, &commits).iter().for_each(ok);
    chain.reveal(job_id, &reveals).iter().for_each(ok);
    let events = chain.settle(job_id);
    let job = chain.job(job_id);
    assert_eq!(job.status, pb::JobStatus::Finalized as i32, "{job:?}");
    assert_eq!(job.result_hash, h.to_vec());
    assert_eq!(
        attr(&events, "compute_provider_paid", "price"),
        vec![PRICE.to_string(); 2]
    );
    assert_eq!(minted(&events), 0);
    for (i, a) in chain.provider_addresses().iter().enumerate() {
        let paid = if assigned[i] { PRICE } else { 0 };
        assert_eq!(
            chain.balance(a),
            before[i] - fees_paid(&commits, &reveals, i) + paid,
            "provider {i}"
        );
    }
    assert_eq!(chain.balance(&requester.address()), requester_balance);
    assert_eq!(
        chain.balance(&deai_compute_module::module_address()),
        3 * BOND
    );
    assert_eq!(chain.supply_matches_balances(), supply);
}

#[test]
fn a_job_nobody_reveals_is_refunded_and_nobody_is_slashed_or_jailed() {
    // Two providers commit, one does not; none reveals.
    let (h, _) = result(b"the product");
    let commits = [Some(h), Some(h), None];
    let reveals = [None, None, None];
    let mut run = run_job(&commits, &reveals);
    let job = run.chain.job(run.job_id);
    assert_eq!(job.status, pb::JobStatus::Expired as i32, "{job:?}");
    assert!(job.result_hash.is_empty());
    assert_eq!(job.escrow, "0");
    assert_eq!(
        attr(&run.events, "compute_job_settled", "outcome"),
        vec!["no_reveals"]
    );
    assert_eq!(
        attr(&run.events, "compute_job_settled", "refund"),
        vec![(3 * PRICE).to_string()]
    );
    assert!(attr(&run.events, "compute_provider_slashed", "provider").is_empty());
    assert!(attr(&run.events, "compute_provider_jailed", "provider").is_empty());
    assert!(attr(&run.events, "compute_provider_paid", "provider").is_empty());
    let requester = run.chain.keys.requester.address();
    assert_eq!(
        run.chain.balance(&requester),
        run.requester_balance + 3 * PRICE
    );
    for (i, a) in run.chain.provider_addresses().iter().enumerate() {
        assert_eq!(
            run.chain.balance(a),
            run.provider_balances[i] - fees_paid(&commits, &reveals, i),
            "provider {i}"
        );
        let p = run.chain.provider(a);
        assert_eq!(p.bond, BOND.to_string());
        assert_eq!((p.open_jobs, p.jailed_until), (0, 0), "{p:?}");
    }
    assert_eq!(run.chain.balance(&deai_treasury::address()), 0);
    assert_eq!(
        run.chain.balance(&deai_compute_module::module_address()),
        3 * BOND
    );
    assert_eq!(run.chain.supply_matches_balances(), run.supply);
}

#[test]
fn a_gemm_input_no_provider_could_run_is_refused_at_submission_and_changes_nothing() {
    let mut chain = Chain::new(0);
    chain.register_providers();
    let requester = chain.keys.requester.clone();
    // The attack: k = 0 with huge m and n needs no body bytes, and a
    // provider sizing the 2^64-element result would ask for terabytes.
    let input = gemm_header(u32::MAX, u32::MAX, 0);
    let tx = chain.tx(
        &requester,
        vec![Chain::job_msg(&requester.address(), &input)],
    );
    let account = chain.account(&requester.address());
    let balance = chain.balance(&requester.address());
    let supply = chain.supply_matches_balances();
    // CheckTx refuses it, so it never enters the mempool.
    let r = chain.c.conn.check_tx(&tx, false).unwrap();
    assert_ne!(r.code, 0);
    assert!(r.log.contains("gemm-i8 shape"), "{}", r.log);
    // A proposer drops it, and a proposal that carries it is rejected.
    assert!(chain
        .c
        .prepare(std::slice::from_ref(&tx), 1 << 22)
        .unwrap()
        .is_empty());
    assert!(!chain.c.process(std::slice::from_ref(&tx)).unwrap());
    // Even in a decided block it fails before the fee is taken.
    let r = chain.c.finalize(&[tx]).unwrap();
    assert_eq!(r.tx_results.len(), 1);
    assert_ne!(r.tx_results[0].code, 0);
    assert!(
        r.tx_results[0].log.contains("gemm-i8 shape"),
        "{}",
        r.tx_results[0].log
    );
    chain.c.commit().unwrap();
    chain.c.app_hash = r.app_hash.to_vec();
    // No job, no escrow, no fee, no sequence number.
    let jobs: pb::QueryJobsResponse = chain.query(
        deai_compute_module::query::JOBS_PATH,
        &pb::QueryJobsRequest::default(),
    );
    assert!(jobs.jobs.is_empty(), "{jobs:?}");
    assert_eq!(chain.account(&requester.address()), account);
    assert_eq!(chain.balance(&requester.address()), balance);
    assert_eq!(
        chain.balance(&deai_compute_module::module_address()),
        3 * BOND
    );
    assert_eq!(chain.supply_matches_balances(), supply);
    // The same tx with a valid input goes through.
    let id = chain.submit_job(&gemm(11));
    assert_eq!(chain.job(id).work_units, 1);
}
