//! Governance and the treasury through the real [`App`], driven with the
//! calls CometBFT makes (PrepareProposal, ProcessProposal, FinalizeBlock,
//! Commit, CheckTx) on a temporary RocksDB, and read back through the app's
//! own ABCI query router: the treasury's exact share of a block's fees; a
//! params-change proposal that passes and takes effect; a passed proposal
//! whose second message fails and so applies nothing; and a proposal
//! carrying a bank send from the governance account, refused with a clear
//! error and no state change.

#![allow(clippy::unwrap_used)]

use cosmos_sdk_proto::{
    cosmos::{
        bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse},
        base::v1beta1::Coin as ProtoCoin,
        gov::v1 as sdk_gov,
    },
    Any,
};
use deai_app::{end_block::Host, App, BlockOutcome, TxOutcome};
use deai_auth::AuthRead;
use deai_client::tx::{any, msg_send, msg_vote, sign_tx, Key, TxParams};
use deai_gov::GovParams;
use deai_proto::{gov::v1 as gpb, treasury::v1 as tpb};
use deai_treasury::TreasuryParams;
use deai_types::{Address, BlockHost, Coin, Overlay};
use prost::Message;
use serde_json::json;

const CHAIN: &str = "deai-gov-app-test";
/// Opening balance of each member.
const START: u128 = 100_000_000;
/// Opening balance of the treasury.
const TREASURY: u128 = 1_000_000;
/// Gas limit of every tx; its minimum fee is 1% of this.
const GAS: u64 = 500_000;
/// Fee of every tx unless a test says otherwise.
const FEE: u128 = 5_000;
/// Blocks of voting.
const VOTING_BLOCKS: u64 = 3;

/// A chain of one app with three equal members.
struct Chain {
    app: App,
    members: Vec<Key>,
    _dir: tempfile::TempDir,
}

fn udeai(n: u128) -> Vec<ProtoCoin> {
    vec![ProtoCoin {
        denom: "udeai".into(),
        amount: n.to_string(),
    }]
}

fn attr(events: &[deai_types::Event], kind: &str, key: &str) -> Option<String> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .flat_map(|e| &e.attributes)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

fn ok(r: &TxOutcome) {
    assert_eq!(r.code, 0, "tx failed: {}", r.log);
}

impl Chain {
    /// A fresh chain with short governance periods, the treasury holding
    /// [`TREASURY`] and taking `fee_share_ppm` of fees; genesis committed.
    fn new(fee_share_ppm: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(dir.path()).unwrap();
        let members: Vec<Key> = (0..3)
            .map(|i| Key::from_label(&format!("gov-app-member-{i}")))
            .collect();
        let mut balances: Vec<_> = members
            .iter()
            .map(|k| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": START.to_string()}]}))
            .collect();
        balances.push(json!({"address": deai_treasury::address().to_bech32(), "coins": [{"denom": "udeai", "amount": TREASURY.to_string()}]}));
        let mut gov = serde_json::to_value(GovParams::default()).unwrap();
        gov["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
        gov["max_deposit_period_blocks"] = json!(10);
        gov["voting_period_blocks"] = json!(VOTING_BLOCKS);
        gov["expedited_voting_period_blocks"] = json!(VOTING_BLOCKS - 1);
        let mut treasury = serde_json::to_value(TreasuryParams::default()).unwrap();
        treasury["fee_share_ppm"] = json!(fee_share_ppm);
        let genesis = json!({
            "bank": {"balances": balances},
            "gov": {"params": gov},
            "treasury": {"params": treasury},
        });
        app.init_chain(CHAIN, 1, &serde_json::to_vec(&genesis).unwrap())
            .unwrap();
        let mut chain = Chain {
            app,
            members,
            _dir: dir,
        };
        // Genesis is readable by queries once the first block commits.
        chain.block(&[]);
        chain
    }

    /// One block as CometBFT runs it: the app chooses and checks its own
    /// proposal, then finalizes and commits it.
    fn block(&mut self, txs: &[Vec<u8>]) -> BlockOutcome {
        let txs: Vec<bytes::Bytes> = txs.iter().cloned().map(bytes::Bytes::from).collect();
        let chosen = self.app.prepare_proposal(&txs, 4 * 1024 * 1024);
        assert_eq!(chosen.len(), txs.len(), "PrepareProposal dropped a tx");
        assert!(self.app.process_proposal(&chosen));
        let out = self.finalize(&chosen);
        assert_eq!(out.tx_results.len(), txs.len());
        out
    }

    /// FinalizeBlock and Commit of exactly `txs`, as a proposer that skips
    /// PrepareProposal's filter would send them.
    fn finalize(&mut self, txs: &[bytes::Bytes]) -> BlockOutcome {
        let height = self.app.last_height() + 1;
        let out = self
            .app
            .finalize_block(&deai_app::BlockInfo::at(height), txs)
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

    /// (account number, sequence) in the committed state.
    fn account(&self, addr: &Address) -> (u64, u64) {
        let acc = self
            .app
            .storage()
            .latest_snapshot()
            .account(addr)
            .unwrap()
            .unwrap();
        (acc.account_number, acc.sequence)
    }

    /// `msgs` signed by `key` at its committed sequence, paying `fee`.
    fn tx_with_fee(&self, key: &Key, msgs: Vec<Any>, fee: u128) -> Vec<u8> {
        let (account_number, sequence) = self.account(&key.address());
        sign_tx(
            key,
            msgs,
            &TxParams {
                chain_id: CHAIN.into(),
                account_number,
                sequence,
                fee: Some(Coin::new(fee, "udeai")),
                gas_limit: GAS,
                memo: String::new(),
            },
        )
    }

    fn tx(&self, key: &Key, msgs: Vec<Any>) -> Vec<u8> {
        self.tx_with_fee(key, msgs, FEE)
    }

    fn submit_msg(&self, proposer: &Key, messages: Vec<Any>) -> Any {
        any(
            deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
            &sdk_gov::MsgSubmitProposal {
                messages,
                initial_deposit: udeai(1000),
                proposer: proposer.address().to_bech32(),
                metadata: String::new(),
                title: "A proposal".into(),
                summary: "For the test.".into(),
                expedited: false,
            },
        )
    }

    /// Member 0 proposes `messages`, every member votes yes, and blocks run
    /// until voting ends; returns the finished proposal.
    fn propose_and_pass(&mut self, messages: Vec<Any>) -> gpb::Proposal {
        let proposer = self.members[0].clone();
        let tx = self.tx(&proposer, vec![self.submit_msg(&proposer, messages)]);
        let r = self.block(&[tx]);
        ok(&r.tx_results[0]);
        let id: u64 = attr(&r.tx_results[0].events, "submit_proposal", "proposal_id")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            self.proposal(id).status,
            gpb::ProposalStatus::VotingPeriod as i32
        );
        let votes: Vec<_> = self
            .members
            .iter()
            .map(|k| self.tx(k, vec![msg_vote(&k.address(), id, gpb::VoteOption::Yes)]))
            .collect();
        self.block(&votes).tx_results.iter().for_each(ok);
        for _ in 0..=VOTING_BLOCKS {
            let p = self.proposal(id);
            if p.status != gpb::ProposalStatus::VotingPeriod as i32 {
                return p;
            }
            self.block(&[]);
        }
        panic!("proposal {id} still open: {:?}", self.proposal(id));
    }

    fn proposal(&self, id: u64) -> gpb::Proposal {
        let r: gpb::QueryProposalResponse = self.query(
            "/deai.gov.v1.Query/Proposal",
            &gpb::QueryProposalRequest { proposal_id: id },
        );
        r.proposal.unwrap()
    }

    fn proposals(&self) -> Vec<gpb::Proposal> {
        let r: gpb::QueryProposalsResponse = self.query(
            "/deai.gov.v1.Query/Proposals",
            &gpb::QueryProposalsRequest {
                status: 0,
                pagination: None,
            },
        );
        r.proposals
    }

    fn treasury_params(&self) -> TreasuryParams {
        let r: tpb::QueryParamsResponse = self.query(
            "/deai.treasury.v1.Query/Params",
            &tpb::QueryParamsRequest {},
        );
        TreasuryParams::from_proto(r.params.unwrap()).unwrap()
    }

    fn gov_params(&self) -> GovParams {
        let r: gpb::QueryParamsResponse =
            self.query("/deai.gov.v1.Query/Params", &gpb::QueryParamsRequest {});
        GovParams::from_proto(r.params.unwrap()).unwrap()
    }

    fn spends(&self) -> Vec<tpb::SpendRecord> {
        let r: tpb::QuerySpendsResponse = self.query(
            "/deai.treasury.v1.Query/Spends",
            &tpb::QuerySpendsRequest { pagination: None },
        );
        r.spends
    }
}

fn fee_collector() -> Address {
    Address::module(deai_app::ante::FEE_COLLECTOR)
}

fn spend(to: &Address, amount: u128) -> Any {
    any(
        deai_treasury::MSG_SPEND_TYPE_URL,
        &tpb::MsgSpend {
            authority: deai_gov::authority().to_bech32(),
            recipient: to.to_bech32(),
            amount: udeai(amount),
        },
    )
}

/// `share` ppm of `amount`, rounded down, computed independently of the app.
fn ppm_of(amount: u128, share: u64) -> u128 {
    amount * u128::from(share) / 1_000_000
}

#[test]
fn the_treasury_receives_its_governable_share_of_every_fee_a_block_collects() {
    let mut chain = Chain::new(250_000);
    let [a, b, c] = [0, 1, 2].map(|i| chain.members[i].clone());
    let outsider = Key::from_label("gov-app-outsider").address();
    let treasury_before = chain.balance(&deai_treasury::address());
    let collector_before = chain.balance(&fee_collector());

    // Three fees in one block, one of them on a tx whose message fails (an
    // overdraft still pays its fee); a tx at a stale sequence pays nothing.
    let fees = [5_003u128, 7_001, 9_999];
    let good = chain.tx_with_fee(
        &a,
        vec![msg_send(&a.address(), &outsider, &[Coin::new(1, "udeai")])],
        fees[0],
    );
    let overdraft = chain.tx_with_fee(
        &b,
        vec![msg_send(
            &b.address(),
            &outsider,
            &[Coin::new(START * 2, "udeai")],
        )],
        fees[1],
    );
    let third = chain.tx_with_fee(
        &c,
        vec![msg_send(&c.address(), &outsider, &[Coin::new(2, "udeai")])],
        fees[2],
    );
    let replayed = good.clone();
    let r = chain.block(&[good, overdraft, third, replayed]);
    let codes: Vec<u32> = r.tx_results.iter().map(|t| t.code).collect();
    assert_eq!(codes[0], 0, "{}", r.tx_results[0].log);
    assert_ne!(codes[1], 0, "the overdraft succeeded");
    assert_eq!(codes[2], 0, "{}", r.tx_results[2].log);
    assert_ne!(codes[3], 0, "the replay succeeded");
    assert_eq!(chain.balance(&b.address()), START - fees[1]);

    let total: u128 = fees.iter().sum();
    let share = ppm_of(total, 250_000);
    assert_eq!(share, 5_500);
    assert_eq!(
        chain.balance(&deai_treasury::address()),
        treasury_before + share
    );
    assert_eq!(
        chain.balance(&fee_collector()),
        collector_before + total - share
    );

    // A block without fees moves nothing.
    chain.block(&[]);
    assert_eq!(
        chain.balance(&deai_treasury::address()),
        treasury_before + share
    );
}

#[test]
fn a_passed_params_change_proposal_takes_effect_for_later_blocks() {
    let mut chain = Chain::new(200_000);
    let mut treasury = chain.treasury_params();
    assert_eq!(treasury.fee_share_ppm, 200_000);
    treasury.fee_share_ppm = 500_000;
    let mut gov = chain.gov_params();
    assert_eq!(gov.voting_period_blocks, VOTING_BLOCKS);
    gov.voting_period_blocks = 7;
    gov.quorum_ppm = 400_000;
    let p = chain.propose_and_pass(vec![
        any(
            deai_treasury::MSG_UPDATE_PARAMS_TYPE_URL,
            &tpb::MsgUpdateParams {
                authority: deai_gov::authority().to_bech32(),
                params: Some(treasury.to_proto()),
            },
        ),
        any(
            deai_gov::MSG_UPDATE_PARAMS_TYPE_URL,
            &gpb::MsgUpdateParams {
                authority: deai_gov::authority().to_bech32(),
                params: Some(gov.to_proto()),
            },
        ),
    ]);
    assert_eq!(
        p.status,
        gpb::ProposalStatus::Passed as i32,
        "{}",
        p.failed_reason
    );
    assert_eq!(chain.treasury_params(), treasury);
    assert_eq!(chain.gov_params(), gov);

    // The next block's fees split at the new share.
    let a = chain.members[1].clone();
    let before = chain.balance(&deai_treasury::address());
    let tx = chain.tx_with_fee(
        &a,
        vec![msg_send(
            &a.address(),
            &chain.members[2].address(),
            &[Coin::new(1, "udeai")],
        )],
        8_001,
    );
    ok(&chain.block(&[tx]).tx_results[0]);
    assert_eq!(
        chain.balance(&deai_treasury::address()),
        before + ppm_of(8_001, 500_000)
    );
    // And a new proposal votes for the new period.
    let proposer = chain.members[0].clone();
    let tx = chain.tx(&proposer, vec![chain.submit_msg(&proposer, Vec::new())]);
    let r = chain.block(&[tx]);
    ok(&r.tx_results[0]);
    let id: u64 = attr(&r.tx_results[0].events, "submit_proposal", "proposal_id")
        .unwrap()
        .parse()
        .unwrap();
    let q = chain.proposal(id);
    assert_eq!(q.voting_end_height - q.voting_start_height, 7);
}

#[test]
fn a_passed_proposal_whose_second_message_fails_applies_neither() {
    // No fee share, so the treasury moves only by spends.
    let mut chain = Chain::new(0);
    let grantee = Key::from_label("gov-app-grantee").address();
    let proposer = chain.members[0].address();
    let before = chain.balance(&proposer);
    let p = chain.propose_and_pass(vec![
        spend(&grantee, 400_000),
        spend(&grantee, TREASURY + 1),
    ]);
    assert_eq!(p.status, gpb::ProposalStatus::Failed as i32, "{p:?}");
    assert!(
        p.failed_reason
            .starts_with("message 1 (/deai.treasury.v1.MsgSpend) failed"),
        "{}",
        p.failed_reason
    );
    assert_eq!(chain.balance(&grantee), 0, "the first spend was applied");
    assert_eq!(chain.balance(&deai_treasury::address()), TREASURY);
    assert!(chain.spends().is_empty(), "{:?}", chain.spends());
    // The deposit came back: the proposer paid only its two fees.
    assert_eq!(chain.balance(&proposer), before - 2 * FEE);
    assert_eq!(chain.balance(&deai_gov::address()), 0);

    // The same proposal without the failing message passes and pays.
    let p = chain.propose_and_pass(vec![spend(&grantee, 400_000)]);
    assert_eq!(p.status, gpb::ProposalStatus::Passed as i32, "{p:?}");
    assert_eq!(chain.balance(&grantee), 400_000);
    assert_eq!(chain.balance(&deai_treasury::address()), TREASURY - 400_000);
}

#[test]
fn a_proposal_carrying_a_bank_send_from_the_governance_account_is_refused_and_changes_nothing() {
    let mut chain = Chain::new(200_000);
    let proposer = chain.members[0].clone();
    let thief = Key::from_label("gov-app-thief").address();
    // Deposits sit in the governance account: a send from it would take them.
    let send = msg_send(&deai_gov::authority(), &thief, &[Coin::new(1, "udeai")]);
    let tx = chain.tx(
        &proposer,
        vec![chain.submit_msg(&proposer, vec![send.clone()])],
    );
    let balance = chain.balance(&proposer.address());
    let account = chain.account(&proposer.address());
    let treasury = chain.balance(&deai_treasury::address());

    let checked = chain.app.check_tx(&tx);
    assert_ne!(checked.code, 0);
    assert!(
        checked.log.contains(
            "proposal message 0 (/cosmos.bank.v1beta1.MsgSend) is not one a proposal may execute"
        ),
        "{}",
        checked.log
    );
    // A proposer that includes it anyway gets the same refusal in the block.
    let txs = [bytes::Bytes::from(tx)];
    assert!(chain.app.prepare_proposal(&txs, 1 << 20).is_empty());
    let r = chain.finalize(&txs);
    assert_eq!(r.tx_results[0].code, checked.code);
    assert_eq!(r.tx_results[0].log, checked.log);
    assert_eq!(chain.balance(&proposer.address()), balance);
    assert_eq!(chain.account(&proposer.address()), account);
    assert_eq!(chain.balance(&deai_treasury::address()), treasury);
    assert_eq!(chain.balance(&thief), 0);
    assert!(chain.proposals().is_empty());

    // The executor that runs passed proposals refuses it too, and a valid
    // spend before it in the same list is not applied.
    let height = chain.app.last_height() + 1;
    let prev = chain.app.last_app_hash().unwrap();
    let committed = chain.app.storage().latest_snapshot();
    let host = Host {
        storage: chain.app.storage(),
        since_genesis: &committed,
        prev_app_hash: &prev,
        time: Default::default(),
        modules: deai_app::modules::MODULES,
    };
    let mut layer = Overlay::new(chain.app.storage().latest_snapshot());
    let e = host
        .execute_as_governance(&mut layer, height, &[spend(&thief, 10), send])
        .unwrap_err();
    assert!(
        e.starts_with("message 1 (/cosmos.bank.v1beta1.MsgSend) failed")
            && e.ends_with("not a governance action"),
        "{e}"
    );
    assert!(layer.into_changes().is_empty());
}
