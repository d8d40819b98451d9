//! Export through the real [`App`] on RocksDB: the state of a chain in
//! mid-flight (a proposal in its voting period, a voter with most of its
//! tokens staked and some unbonding, spent sequences, fees in the
//! treasury) exported at a height and started as a new chain at the next
//! height holds the same module entries, and then, fed the same blocks,
//! stays the same entry for entry: the proposal's last votes pass it on
//! both with the same tally, the staked voter's stake counted, and account
//! sequences carry over so the same signed txs are valid on both.

#![allow(clippy::unwrap_used)]

use cosmos_sdk_proto::{
    cosmos::{
        base::v1beta1::Coin as ProtoCoin, gov::v1 as sdk_gov, staking::v1beta1 as sdk_staking,
    },
    Any,
};
use deai_app::App;
use deai_auth::AuthRead;
use deai_bank::BankRead;
use deai_client::tx::{any, msg_send, msg_vote, sign_tx, Key, TxParams};
use deai_gov::{GovParams, GovRead};
use deai_staking::{types::pubkey_any, StakingRead, ValoperAddress};
use deai_types::{Coin, StateRead};
use prost::Message;
use serde_json::json;

const CHAIN: &str = "deai-export-test";

struct Node {
    app: App,
    _dir: tempfile::TempDir,
}

impl Node {
    fn new(initial_height: u64, app_state: &serde_json::Value) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(dir.path()).unwrap();
        app.init_chain(
            CHAIN,
            initial_height,
            &serde_json::to_vec(app_state).unwrap(),
        )
        .unwrap();
        Node { app, _dir: dir }
    }

    fn block(&mut self, txs: &[Vec<u8>]) {
        let txs: Vec<bytes::Bytes> = txs.iter().cloned().map(bytes::Bytes::from).collect();
        let height = self.app.last_height().max(self.first_height() - 1) + 1;
        let out = self
            .app
            .finalize_block(&deai_app::BlockInfo::at(height), &txs)
            .unwrap();
        for r in &out.tx_results {
            assert_eq!(r.code, 0, "{}", r.log);
        }
        self.app.commit().unwrap();
    }

    fn first_height(&self) -> u64 {
        self.app.chain().unwrap().initial_height
    }

    fn tx(&self, key: &Key, msgs: Vec<Any>) -> Vec<u8> {
        let acc = self
            .app
            .storage()
            .latest_snapshot()
            .account(&key.address())
            .unwrap()
            .unwrap();
        sign_tx(
            key,
            msgs,
            &TxParams {
                chain_id: CHAIN.into(),
                account_number: acc.account_number,
                sequence: acc.sequence,
                fee: Some(Coin::new(5_000, "udeai")),
                gas_limit: 500_000,
                memo: String::new(),
            },
        )
    }

    /// Every entry of the latest state but the app's own (`app/`).
    fn module_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut all = self
            .app
            .storage()
            .latest_snapshot()
            .prefix_raw(&[], None, usize::MAX)
            .unwrap();
        all.retain(|(k, _)| !k.starts_with(b"app/"));
        // Headers name the app hash before their block, which the two
        // chains do not share (the new one's genesis state is its own);
        // every other entry must be the same.
        for (k, v) in &mut all {
            if k.starts_with(deai_staking::historical::HEADERS) {
                let mut h = tendermint_proto::types::Header::decode(v.get(8..).unwrap_or_default())
                    .unwrap();
                h.app_hash.clear();
                v.truncate(8);
                v.extend(h.encode_to_vec());
            }
        }
        all
    }
}

fn udeai(n: u128) -> Vec<ProtoCoin> {
    vec![ProtoCoin {
        denom: "udeai".into(),
        amount: n.to_string(),
    }]
}

/// `op` runs a validator with `amount` of its own stake.
fn create_validator(op: &Key, amount: u128) -> Any {
    let key = ed25519_consensus::SigningKey::from([7; 32])
        .verification_key()
        .to_bytes();
    any(
        deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
        &sdk_staking::MsgCreateValidator {
            description: Some(sdk_staking::Description {
                moniker: "export".into(),
                ..Default::default()
            }),
            commission: Some(sdk_staking::CommissionRates {
                rate: "100000000000000000".into(),
                max_rate: "200000000000000000".into(),
                max_change_rate: "10000000000000000".into(),
            }),
            min_self_delegation: "1".into(),
            #[allow(deprecated)]
            delegator_address: String::new(),
            validator_address: op.address().to_valoper(),
            pubkey: Some(pubkey_any(&key)),
            value: udeai(amount).pop(),
        },
    )
}

#[test]
fn a_chain_started_from_an_export_holds_and_evolves_the_same_state() {
    let members: Vec<Key> = (0..3)
        .map(|i| Key::from_label(&format!("export-member-{i}")))
        .collect();
    let operator = Key::from_label("export-operator");
    let balances: Vec<_> = members
        .iter()
        .chain([&operator])
        .map(|k| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": "100000000"}]}))
        .chain([json!({"address": deai_treasury::address().to_bech32(), "coins": [{"denom": "udeai", "amount": "1000000"}]})])
        .collect();
    let mut gov = serde_json::to_value(GovParams::default()).unwrap();
    gov["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
    gov["max_deposit_period_blocks"] = json!(10);
    gov["voting_period_blocks"] = json!(4);
    gov["expedited_voting_period_blocks"] = json!(3);
    let genesis = json!({"bank": {"balances": balances}, "gov": {"params": gov}});
    let mut old = Node::new(1, &genesis);
    old.block(&[]);

    // A validator; member 1 stakes 90 of its 100 deai with it and starts
    // unbonding 20 of those (the unbonding time, 21 days, outlasts the test).
    let tx = old.tx(&operator, vec![create_validator(&operator, 5_000_000)]);
    old.block(&[tx]);
    let stake = |msg: &str, amount| {
        let (del, val) = (
            members[1].address().to_bech32(),
            operator.address().to_valoper(),
        );
        match msg {
            "delegate" => any(
                deai_staking::MSG_DELEGATE_TYPE_URL,
                &sdk_staking::MsgDelegate {
                    delegator_address: del,
                    validator_address: val,
                    amount: udeai(amount).pop(),
                },
            ),
            _ => any(
                deai_staking::MSG_UNDELEGATE_TYPE_URL,
                &sdk_staking::MsgUndelegate {
                    delegator_address: del,
                    validator_address: val,
                    amount: udeai(amount).pop(),
                },
            ),
        }
    };
    let tx = old.tx(
        &members[1],
        vec![
            stake("delegate", 90_000_000),
            stake("undelegate", 20_000_000),
        ],
    );
    old.block(&[tx]);

    // Transfers, then a proposal to pay member 2 from the treasury, with
    // one yes vote of three: in its voting period at the export.
    let to = Key::from_label("export-recipient").address();
    let send = |n: &Node, k: &Key, amount| {
        n.tx(
            k,
            vec![msg_send(&k.address(), &to, &[Coin::new(amount, "udeai")])],
        )
    };
    let txs = vec![send(&old, &members[0], 10), send(&old, &members[1], 20)];
    old.block(&txs);
    let spend = any(
        deai_treasury::MSG_SPEND_TYPE_URL,
        &deai_proto::treasury::v1::MsgSpend {
            authority: deai_gov::address().to_bech32(),
            recipient: members[2].address().to_bech32(),
            amount: udeai(777),
        },
    );
    let submit = any(
        deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
        &sdk_gov::MsgSubmitProposal {
            messages: vec![spend],
            initial_deposit: udeai(1000),
            proposer: members[0].address().to_bech32(),
            metadata: String::new(),
            title: "Pay member 2".into(),
            summary: "For the export test.".into(),
            expedited: false,
        },
    );
    let tx = old.tx(&members[0], vec![submit]);
    old.block(&[tx]);
    let vote = |n: &Node, k: &Key| {
        n.tx(
            k,
            vec![msg_vote(
                &k.address(),
                1,
                deai_proto::gov::v1::VoteOption::Yes,
            )],
        )
    };
    let tx = vote(&old, &members[0]);
    old.block(&[tx]);

    let height = old.app.last_height();
    let (exported, validators) = old.app.export(None).unwrap();
    assert_eq!(exported.height, height.to_string());
    assert_eq!(
        exported.app_hash,
        hex::encode(old.app.last_app_hash().unwrap())
    );
    // The open vote's tally reads voting power at its start: that height's
    // balances travel with the export.
    assert_eq!(exported.history.len(), 1, "{:?}", exported.history);
    assert_eq!(exported.history[0].height, (height - 1).to_string());
    // Its voters' stake too: delegations, their validators, unbondings.
    for prefix in [
        &b"bank/"[..],
        b"staking/delegation/",
        b"staking/validator/",
        b"staking/unbonding/",
    ] {
        assert!(
            exported.history[0].prefixes.contains(&hex::encode(prefix)),
            "{:?}",
            exported.history[0].prefixes
        );
    }
    let start = old.app.storage().snapshot(height - 1).unwrap();
    let staked = start.delegator_stake(&members[1].address()).unwrap();
    assert_eq!(
        (staked.delegated, staked.unbonding),
        (70_000_000, 20_000_000)
    );
    // What a genesis file carries: JSON, read back.
    let app_state = serde_json::to_value(deai_genesis::AppState {
        validators,
        exported: Some(exported.clone()),
        ..Default::default()
    })
    .unwrap();
    let app_state: serde_json::Value =
        serde_json::from_str(&serde_json::to_string_pretty(&app_state).unwrap()).unwrap();
    // Starting below the exported height is refused.
    let dir = tempfile::tempdir().unwrap();
    let e = App::open(dir.path())
        .unwrap()
        .init_chain(CHAIN, height, &serde_json::to_vec(&app_state).unwrap())
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("initial_height must be above it"),
        "{e:#}"
    );
    let mut new = Node::new(height + 1, &app_state);
    assert!(
        old.app.export(Some(height + 1)).is_err(),
        "a height not yet committed"
    );

    // The same blocks on both chains: the other votes (valid on the new
    // chain because account numbers and sequences carried over), a
    // transfer, then blocks until voting ends.
    // The txs are signed with what the old chain says of the accounts: the
    // new chain's genesis (its state before its first block commits).
    let txs = vec![
        vote(&old, &members[1]),
        vote(&old, &members[2]),
        send(&old, &members[0], 30),
    ];
    old.block(&txs);
    new.block(&txs);
    assert_eq!(new.app.last_height(), old.app.last_height());
    assert_eq!(new.module_entries(), old.module_entries());
    for _ in 0..5 {
        old.block(&[]);
        new.block(&[]);
    }
    let balance = |n: &Node| {
        deai_bank::BankRead::balance(
            &n.app.storage().latest_snapshot(),
            &members[2].address(),
            "udeai",
        )
        .unwrap()
    };
    assert_eq!(
        balance(&new),
        100_000_000 - 5_000 + 777,
        "the proposal passed and paid on the new chain"
    );
    assert_eq!(balance(&new), balance(&old));
    assert_eq!(new.module_entries(), old.module_entries());
    // The same tally on both: every member's balance at the start, member
    // 1's stake with it, and a total that counts the staking pools.
    let tally = |n: &Node| {
        n.app
            .storage()
            .latest_snapshot()
            .proposal(1)
            .unwrap()
            .unwrap()
            .final_tally
            .unwrap()
    };
    assert_eq!(tally(&new), tally(&old));
    let liquid = |k: &Key| start.balance(&k.address(), "udeai").unwrap();
    let yes: u128 = members.iter().map(liquid).sum::<u128>() + 90_000_000;
    assert_eq!(tally(&new).yes, yes.to_string());
    let in_modules: u128 = deai_app::end_block::module_accounts()
        .iter()
        .map(|a| start.balance(a, "udeai").unwrap())
        .sum();
    let pools = start
        .balance(&deai_staking::bonded_pool(), "udeai")
        .unwrap()
        + start
            .balance(&deai_staking::not_bonded_pool(), "udeai")
            .unwrap();
    assert_eq!(pools, 5_000_000 + 90_000_000);
    assert_eq!(
        tally(&new).total_power,
        (start.supply("udeai").unwrap() - in_modules + pools).to_string()
    );

    // Exporting the new chain gives the old chain's export of the same height.
    // (Headers aside: each names the app hash before its block, which the
    // chains do not share; the same heights are kept on both.)
    let (a, _) = old.app.export(None).unwrap();
    let (b, _) = new.app.export(None).unwrap();
    let headers = hex::encode(deai_staking::historical::HEADERS);
    let split = |entries: Vec<_>| -> (Vec<_>, Vec<_>) {
        entries
            .into_iter()
            .partition(|x: &deai_genesis::ExportedEntry| x.key.starts_with(&headers))
    };
    let ((ha, ra), (hb, rb)) = (split(a.entries), split(b.entries));
    assert_eq!(ra, rb);
    let keys =
        |h: Vec<deai_genesis::ExportedEntry>| h.into_iter().map(|x| x.key).collect::<Vec<_>>();
    assert_eq!(keys(ha), keys(hb));
    assert_eq!(a.height, b.height);
}

#[test]
fn without_the_history_it_reads_an_open_vote_cannot_be_counted() {
    let member = Key::from_label("export-lone-member");
    let mut gov = serde_json::to_value(GovParams::default()).unwrap();
    gov["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
    let genesis = json!({
        "bank": {"balances": [{"address": member.address().to_bech32(), "coins": [{"denom": "udeai", "amount": "100000000"}]}]},
        "gov": {"params": gov},
    });
    let mut old = Node::new(1, &genesis);
    old.block(&[]);
    let submit = any(
        deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
        &sdk_gov::MsgSubmitProposal {
            messages: vec![],
            initial_deposit: udeai(1000),
            proposer: member.address().to_bech32(),
            metadata: String::new(),
            title: "Signal".into(),
            summary: "Text only.".into(),
            expedited: false,
        },
    );
    let tx = old.tx(&member, vec![submit]);
    old.block(&[tx]);
    let height = old.app.last_height();
    let (mut exported, validators) = old.app.export(None).unwrap();
    assert_eq!(exported.history.len(), 1);
    // A genesis stripped of that history: the vote's power cannot be read,
    // and the vote fails with that reason instead of counting as zero.
    exported.history.clear();
    let app_state = serde_json::to_value(deai_genesis::AppState {
        validators,
        exported: Some(exported),
        ..Default::default()
    })
    .unwrap();
    let mut new = Node::new(height + 1, &app_state);
    let vote = old.tx(
        &member,
        vec![msg_vote(
            &member.address(),
            1,
            deai_proto::gov::v1::VoteOption::Yes,
        )],
    );
    let out = new
        .app
        .finalize_block(
            &deai_app::BlockInfo::at(height + 1),
            &[bytes::Bytes::from(vote)],
        )
        .unwrap();
    assert_ne!(out.tx_results[0].code, 0);
    assert!(
        out.tx_results[0]
            .log
            .contains(&format!("height {}", height)),
        "{}",
        out.tx_results[0].log
    );
    new.app.commit().unwrap();
}
