//! Staking through the real [`App`] on RocksDB, with signed transactions:
//! a validator created by a transaction comes out of `FinalizeBlock` as a
//! validator update, a delegation raises its power, and undelegating all
//! of it sends power 0 and returns the tokens after the unbonding time.
//! The SDK's staking queries answer through the app's query router, and a
//! genesis validator's consensus key cannot be taken.

#![allow(clippy::unwrap_used)]

use cosmos_sdk_proto::cosmos::{base::v1beta1::Coin as ProtoCoin, staking::v1beta1 as sdk};
use deai_app::{App, BlockOutcome};
use deai_auth::AuthRead;
use deai_bank::BankRead;
use deai_client::tx::{any, sign_tx, Key, TxParams};
use deai_staking::{types::pubkey_any, ValoperAddress};
use deai_types::{module::BlockTime, Coin, StateRead, ValidatorUpdate};
use prost::Message;
use serde_json::json;

const CHAIN: &str = "deai-staking-app-test";
const DAY: i64 = 24 * 3600;

struct Chain {
    app: App,
    now: BlockTime,
    _dir: tempfile::TempDir,
}

fn consensus_key(seed: u8) -> [u8; 32] {
    ed25519_consensus::SigningKey::from([seed; 32])
        .verification_key()
        .to_bytes()
}

fn udeai(n: u128) -> Option<ProtoCoin> {
    Some(ProtoCoin {
        denom: "udeai".into(),
        amount: n.to_string(),
    })
}

impl Chain {
    /// A chain started from `genesis` on a fresh RocksDB, before its first block.
    fn from_genesis(genesis: &serde_json::Value) -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(dir.path()).unwrap();
        app.init_chain(CHAIN, 1, &serde_json::to_vec(genesis).unwrap())
            .unwrap();
        Chain {
            app,
            now: BlockTime {
                seconds: 1_750_000_000,
                nanos: 0,
            },
            _dir: dir,
        }
    }

    fn new(members: &[&Key]) -> Chain {
        let balances: Vec<_> = members
            .iter()
            .map(|k| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": "1000000000000"}]}))
            .collect();
        let genesis_key = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            consensus_key(200),
        );
        let genesis = json!({
            "bank": {"balances": balances},
            "staking": {"params": {
                "unbonding_time_seconds": 7 * DAY, "max_validators": 10, "max_entries": 7,
                "historical_entries": 0, "bond_denom": "udeai", "min_commission_rate": "0"
            }},
            "slashing": {"params": {
                "signed_blocks_window": 10, "min_signed_per_window": "0.5",
                "downtime_jail_duration_seconds": 60, "slash_fraction_double_sign": "0.05",
                "slash_fraction_downtime": "0.01"
            }},
            "validators": [{"name": "genesis", "pub_key": genesis_key, "power": 10}],
        });
        let mut chain = Chain::from_genesis(&genesis);
        chain.block(&[]);
        chain
    }

    /// One block `seconds` after the last.
    fn block_after(&mut self, seconds: i64, txs: &[Vec<u8>]) -> BlockOutcome {
        self.block_with(seconds, txs, Vec::new(), Vec::new())
    }

    /// One block `seconds` after the last whose last commit and evidence
    /// are as given.
    fn block_with(
        &mut self,
        seconds: i64,
        txs: &[Vec<u8>],
        last_commit: Vec<deai_types::module::CommitVote>,
        misbehavior: Vec<deai_types::module::Misbehavior>,
    ) -> BlockOutcome {
        self.now.seconds += seconds;
        let txs: Vec<bytes::Bytes> = txs.iter().cloned().map(bytes::Bytes::from).collect();
        let info = deai_app::BlockInfo {
            time: self.now,
            last_commit,
            misbehavior,
            ..deai_app::BlockInfo::at(self.app.last_height() + 1)
        };
        let out = self.app.finalize_block(&info, &txs).unwrap();
        self.app.commit().unwrap();
        out
    }

    fn block(&mut self, txs: &[Vec<u8>]) -> BlockOutcome {
        self.block_after(5, txs)
    }

    fn tx(&self, key: &Key, type_url: &str, msg: &impl Message) -> Vec<u8> {
        let acc = self
            .app
            .storage()
            .latest_snapshot()
            .account(&key.address())
            .unwrap()
            .unwrap();
        sign_tx(
            key,
            vec![any(type_url, msg)],
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

    fn query<R: Message + Default>(&self, path: &str, req: &impl Message) -> R {
        let answer = self
            .app
            .querier()
            .query(path, &req.encode_to_vec(), 0, false);
        assert_eq!(answer.code, 0, "{path}: {}", answer.log);
        R::decode(answer.value.as_slice()).unwrap()
    }

    fn balance(&self, key: &Key) -> u128 {
        self.app
            .storage()
            .latest_snapshot()
            .balance(&key.address(), "udeai")
            .unwrap()
    }
}

fn create_validator(op: &Key, pubkey: [u8; 32], amount: u128) -> sdk::MsgCreateValidator {
    sdk::MsgCreateValidator {
        description: Some(sdk::Description {
            moniker: "joiner".into(),
            ..Default::default()
        }),
        commission: Some(sdk::CommissionRates {
            rate: "100000000000000000".into(),
            max_rate: "200000000000000000".into(),
            max_change_rate: "10000000000000000".into(),
        }),
        min_self_delegation: "1".into(),
        #[allow(deprecated)]
        delegator_address: String::new(),
        validator_address: op.address().to_valoper(),
        pubkey: Some(pubkey_any(&pubkey)),
        value: udeai(amount),
    }
}

#[test]
fn a_validator_created_by_a_transaction_reaches_cometbfts_set_and_leaves_it() {
    let op = Key::from_label("staking-app-operator");
    let delegator = Key::from_label("staking-app-delegator");
    let mut chain = Chain::new(&[&op, &delegator]);

    // Created by a signed transaction: FinalizeBlock returns its key and power.
    let tx = chain.tx(
        &op,
        deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
        &create_validator(&op, consensus_key(1), 7_000_000),
    );
    let out = chain.block(&[tx]);
    assert_eq!(out.tx_results[0].code, 0, "{}", out.tx_results[0].log);
    assert_eq!(
        out.validator_updates,
        [ValidatorUpdate {
            pub_key: consensus_key(1),
            power: 7
        }]
    );
    assert!(out.events.iter().any(|e| e.kind == "validator_set_updated"));

    // A delegation raises the power.
    let delegate = sdk::MsgDelegate {
        delegator_address: delegator.address().to_bech32(),
        validator_address: op.address().to_valoper(),
        amount: udeai(3_000_000),
    };
    let tx = chain.tx(&delegator, deai_staking::MSG_DELEGATE_TYPE_URL, &delegate);
    let out = chain.block(&[tx]);
    assert_eq!(out.tx_results[0].code, 0, "{}", out.tx_results[0].log);
    assert_eq!(out.validator_updates[0].power, 10);

    // The SDK's queries answer through the app's router.
    let v: sdk::QueryValidatorResponse = chain.query(
        "/cosmos.staking.v1beta1.Query/Validator",
        &sdk::QueryValidatorRequest {
            validator_addr: op.address().to_valoper(),
        },
    );
    let v = v.validator.unwrap();
    assert_eq!(v.tokens, "10000000");
    assert_eq!(v.status, sdk::BondStatus::Bonded as i32);
    assert_eq!(v.delegator_shares, "10000000000000000000000000");
    let d: sdk::QueryDelegationResponse = chain.query(
        "/cosmos.staking.v1beta1.Query/Delegation",
        &sdk::QueryDelegationRequest {
            delegator_addr: delegator.address().to_bech32(),
            validator_addr: op.address().to_valoper(),
        },
    );
    assert_eq!(
        d.delegation_response.unwrap().balance.unwrap().amount,
        "3000000"
    );
    let pool: sdk::QueryPoolResponse = chain.query(
        "/cosmos.staking.v1beta1.Query/Pool",
        &sdk::QueryPoolRequest {},
    );
    assert_eq!(pool.pool.unwrap().bonded_tokens, "10000000");
    let all: sdk::QueryValidatorsResponse = chain.query(
        "/cosmos.staking.v1beta1.Query/Validators",
        &sdk::QueryValidatorsRequest {
            status: "BOND_STATUS_BONDED".into(),
            pagination: None,
        },
    );
    assert_eq!(all.validators.len(), 1);

    // Everyone leaves: power 0, the validator unbonds, and the tokens come
    // back after the unbonding time, exactly.
    let before = chain.balance(&delegator);
    let undelegate = |who: &Key, amount| sdk::MsgUndelegate {
        delegator_address: who.address().to_bech32(),
        validator_address: op.address().to_valoper(),
        amount: udeai(amount),
    };
    let txs = [
        chain.tx(
            &delegator,
            deai_staking::MSG_UNDELEGATE_TYPE_URL,
            &undelegate(&delegator, 3_000_000),
        ),
        chain.tx(
            &op,
            deai_staking::MSG_UNDELEGATE_TYPE_URL,
            &undelegate(&op, 7_000_000),
        ),
    ];
    let out = chain.block(&txs);
    for r in &out.tx_results {
        assert_eq!(r.code, 0, "{}", r.log);
    }
    assert_eq!(
        out.validator_updates,
        [ValidatorUpdate {
            pub_key: consensus_key(1),
            power: 0
        }]
    );
    assert_eq!(chain.balance(&delegator), before - 5_000);
    chain.block_after(7 * DAY, &[]);
    let out = chain.block(&[]);
    assert!(out.validator_updates.is_empty());
    assert_eq!(chain.balance(&delegator), before - 5_000 + 3_000_000);
    let pool: sdk::QueryPoolResponse = chain.query(
        "/cosmos.staking.v1beta1.Query/Pool",
        &sdk::QueryPoolRequest {},
    );
    assert_eq!(
        pool.pool.unwrap(),
        sdk::Pool {
            not_bonded_tokens: "0".into(),
            bonded_tokens: "0".into(),
        }
    );
}

#[test]
fn a_genesis_validators_key_cannot_be_taken_and_pools_take_no_sends() {
    let op = Key::from_label("staking-app-thief");
    let mut chain = Chain::new(&[&op]);
    let tx = chain.tx(
        &op,
        deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
        &create_validator(&op, consensus_key(200), 7_000_000),
    );
    let out = chain.block(&[tx]);
    assert_ne!(out.tx_results[0].code, 0);
    assert!(
        out.tx_results[0].log.contains("already used"),
        "{}",
        out.tx_results[0].log
    );
    assert!(out.validator_updates.is_empty());

    // The pools hold exactly the stake: a plain send to one is refused.
    let send = deai_client::tx::msg_send(
        &op.address(),
        &deai_staking::bonded_pool(),
        &[Coin::new(1, "udeai")],
    );
    let acc = chain
        .app
        .storage()
        .latest_snapshot()
        .account(&op.address())
        .unwrap()
        .unwrap();
    let tx = sign_tx(
        &op,
        vec![send],
        &TxParams {
            chain_id: CHAIN.into(),
            account_number: acc.account_number,
            sequence: acc.sequence,
            fee: Some(Coin::new(5_000, "udeai")),
            gas_limit: 500_000,
            memo: String::new(),
        },
    );
    let out = chain.block(&[tx]);
    assert!(
        out.tx_results[0].log.contains("module account"),
        "{}",
        out.tx_results[0].log
    );
}

fn vote(
    seed: u8,
    power: u64,
    flag: deai_types::module::VoteFlag,
) -> deai_types::module::CommitVote {
    deai_types::module::CommitVote {
        validator: deai_staking::types::consensus_address(&consensus_key(seed)).to_vec(),
        power,
        flag,
    }
}

#[test]
fn cometbfts_commits_and_evidence_slash_and_jail_staked_validators() {
    use deai_types::module::{Misbehavior, MisbehaviorKind, VoteFlag};
    let a = Key::from_label("staking-app-slash-a");
    let b = Key::from_label("staking-app-slash-b");
    let mut chain = Chain::new(&[&a, &b]);
    let txs = [
        chain.tx(
            &a,
            deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
            &create_validator(&a, consensus_key(1), 10_000_000),
        ),
        chain.tx(
            &b,
            deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
            &create_validator(&b, consensus_key(2), 20_000_000),
        ),
    ];
    let out = chain.block(&txs);
    assert_eq!(out.validator_updates.len(), 2);
    let treasury = |c: &Chain| {
        c.app
            .storage()
            .latest_snapshot()
            .balance(&deai_treasury::address(), "udeai")
            .unwrap()
    };
    let before = treasury(&chain);

    // b stops signing: after its first window, it is slashed 1% and leaves the set.
    let mut left = false;
    for _ in 0..30 {
        let out = chain.block_with(
            5,
            &[],
            vec![vote(1, 10, VoteFlag::Commit), vote(2, 20, VoteFlag::Absent)],
            Vec::new(),
        );
        if out.validator_updates
            == [ValidatorUpdate {
                pub_key: consensus_key(2),
                power: 0,
            }]
        {
            assert!(out.events.iter().any(|e| e.kind == "slash"));
            left = true;
            break;
        }
    }
    assert!(left, "b was never jailed");
    assert!(treasury(&chain) >= before + 200_000);

    // a signs twice at an earlier height: 5%, tombstoned, out of the set.
    let out = chain.block_with(
        5,
        &[],
        vec![vote(1, 10, VoteFlag::Commit)],
        vec![Misbehavior {
            kind: MisbehaviorKind::DuplicateVote,
            validator: deai_staking::types::consensus_address(&consensus_key(1)).to_vec(),
            power: 10,
            height: chain.app.last_height() - 1,
            time: chain.now,
            total_voting_power: 40,
        }],
    );
    assert_eq!(
        out.validator_updates,
        [ValidatorUpdate {
            pub_key: consensus_key(1),
            power: 0
        }]
    );
    let info: cosmos_sdk_proto::cosmos::slashing::v1beta1::QuerySigningInfoResponse = chain.query(
        "/cosmos.slashing.v1beta1.Query/SigningInfo",
        &cosmos_sdk_proto::cosmos::slashing::v1beta1::QuerySigningInfoRequest {
            cons_address: deai_slashing::to_valcons(&deai_staking::types::consensus_address(
                &consensus_key(1),
            )),
        },
    );
    assert!(info.val_signing_info.unwrap().tombstoned);
    let v: sdk::QueryValidatorResponse = chain.query(
        "/cosmos.staking.v1beta1.Query/Validator",
        &sdk::QueryValidatorRequest {
            validator_addr: a.address().to_valoper(),
        },
    );
    let v = v.validator.unwrap();
    assert!(v.jailed);
    assert_eq!(v.tokens, "9500000");
}

/// Genesis transaction JSON: `op` stakes `amount` to consensus key `seed`,
/// signed for account number 0, as `deaid genesis gentx` writes it.
fn gentx(op: &Key, seed: u8, amount: u128, chain_id: &str) -> serde_json::Value {
    use cosmos_sdk_proto::cosmos::tx::v1beta1::{AuthInfo, Tx, TxBody, TxRaw};
    let bytes = sign_tx(
        op,
        vec![any(
            deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
            &create_validator(op, consensus_key(seed), amount),
        )],
        &TxParams {
            chain_id: chain_id.into(),
            account_number: 0,
            sequence: 0,
            fee: None,
            gas_limit: 400_000,
            memo: String::new(),
        },
    );
    let raw = TxRaw::decode(bytes.as_slice()).unwrap();
    let tx = Tx {
        body: Some(TxBody::decode(raw.body_bytes.as_slice()).unwrap()),
        auth_info: Some(AuthInfo::decode(raw.auth_info_bytes.as_slice()).unwrap()),
        signatures: raw.signatures,
    };
    let desc = deai_proto::descriptor_pool()
        .get_message_by_name("cosmos.tx.v1beta1.Tx")
        .unwrap();
    deai_proto::to_lcd_json(
        &prost_reflect::DynamicMessage::decode(desc, tx.encode_to_vec().as_slice()).unwrap(),
    )
    .unwrap()
}

fn gentx_genesis(ops: &[&Key], gen_txs: Vec<serde_json::Value>) -> serde_json::Value {
    let balances: Vec<_> = ops
        .iter()
        .map(|k| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": "100000000"}]}))
        .collect();
    json!({
        "bank": {"balances": balances},
        "staking": {"params": {
            "unbonding_time_seconds": 60, "max_validators": 10, "max_entries": 7,
            "historical_entries": 0, "bond_denom": "udeai", "min_commission_rate": "0"
        }},
        "genutil": {"gen_txs": gen_txs},
    })
}

#[test]
fn genesis_transactions_make_the_first_set_which_never_empties() {
    let a = Key::from_label("gentx-a");
    let b = Key::from_label("gentx-b");
    let genesis = gentx_genesis(
        &[&a, &b],
        vec![
            gentx(&a, 11, 10_000_000, CHAIN),
            gentx(&b, 12, 5_000_000, CHAIN),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(dir.path()).unwrap();
    let (_, first) = app
        .init_chain(CHAIN, 1, &serde_json::to_vec(&genesis).unwrap())
        .unwrap();
    assert_eq!(
        first,
        [
            ValidatorUpdate {
                pub_key: consensus_key(11),
                power: 10
            },
            ValidatorUpdate {
                pub_key: consensus_key(12),
                power: 5
            },
        ]
    );
    let mut chain = Chain {
        app,
        now: BlockTime {
            seconds: 1_750_000_000,
            nanos: 0,
        },
        _dir: dir,
    };
    let out = chain.block(&[]);
    assert!(
        out.validator_updates.is_empty(),
        "already in CometBFT's set"
    );
    // Both operators unbond everything: the set would be empty, so it is
    // left as it is (the chain keeps its validators).
    let undelegate = |who: &Key, amount: u128| sdk::MsgUndelegate {
        delegator_address: who.address().to_bech32(),
        validator_address: who.address().to_valoper(),
        amount: udeai(amount),
    };
    let txs = [
        chain.tx(
            &a,
            deai_staking::MSG_UNDELEGATE_TYPE_URL,
            &undelegate(&a, 10_000_000),
        ),
        chain.tx(
            &b,
            deai_staking::MSG_UNDELEGATE_TYPE_URL,
            &undelegate(&b, 5_000_000),
        ),
    ];
    let out = chain.block(&txs);
    for r in &out.tx_results {
        assert_eq!(r.code, 0, "{}", r.log);
    }
    assert!(
        out.validator_updates.is_empty(),
        "{:?}",
        out.validator_updates
    );
}

#[test]
fn bad_genesis_transactions_stop_init_chain_with_the_reason() {
    let a = Key::from_label("gentx-bad");
    let init = |gen_txs: Vec<serde_json::Value>| {
        let dir = tempfile::tempdir().unwrap();
        let e = App::open(dir.path())
            .unwrap()
            .init_chain(
                CHAIN,
                1,
                &serde_json::to_vec(&gentx_genesis(&[&a], gen_txs)).unwrap(),
            )
            .unwrap_err();
        format!("{e:#}")
    };
    // Tampered after signing: the stake no longer matches the signature.
    let mut tampered = gentx(&a, 13, 5_000_000, CHAIN);
    tampered["body"]["messages"][0]["value"]["amount"] = json!("6000000");
    let e = init(vec![tampered]);
    assert!(
        e.contains("genesis transaction 0") && e.contains("signature"),
        "{e}"
    );
    // Signed for another chain.
    let e = init(vec![gentx(&a, 13, 5_000_000, "another-chain")]);
    assert!(e.contains("signature"), "{e}");
    // More than the account holds.
    let e = init(vec![gentx(&a, 13, 500_000_000, CHAIN)]);
    assert!(e.contains("insufficient"), "{e}");
    // Not JSON of a transaction.
    let e = init(vec![json!({"body": 5})]);
    assert!(e.contains("cosmos.tx.v1beta1.Tx"), "{e}");
}

#[test]
fn light_client_attack_evidence_slashes_as_a_double_sign_does() {
    use deai_types::module::{Misbehavior, MisbehaviorKind};
    let a = Key::from_label("staking-app-lca");
    let mut chain = Chain::new(&[&a]);
    let tx = chain.tx(
        &a,
        deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
        &create_validator(&a, consensus_key(3), 10_000_000),
    );
    chain.block(&[tx]);
    chain.block(&[]);
    let out = chain.block_with(
        5,
        &[],
        Vec::new(),
        vec![Misbehavior {
            kind: MisbehaviorKind::LightClientAttack,
            validator: deai_staking::types::consensus_address(&consensus_key(3)).to_vec(),
            power: 10,
            height: chain.app.last_height() - 1,
            time: chain.now,
            total_voting_power: 20,
        }],
    );
    assert_eq!(
        out.validator_updates,
        [ValidatorUpdate {
            pub_key: consensus_key(3),
            power: 0
        }]
    );
    let v: sdk::QueryValidatorResponse = chain.query(
        "/cosmos.staking.v1beta1.Query/Validator",
        &sdk::QueryValidatorRequest {
            validator_addr: a.address().to_valoper(),
        },
    );
    assert_eq!(v.validator.unwrap().tokens, "9500000");
}

#[test]
fn an_exported_chain_with_fixed_and_staked_validators_resumes_with_both() {
    let a = Key::from_label("staking-app-export");
    let mut chain = Chain::new(&[&a]);
    let tx = chain.tx(
        &a,
        deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
        &create_validator(&a, consensus_key(4), 3_000_000),
    );
    let out = chain.block(&[tx]);
    assert_eq!(out.validator_updates.len(), 1);
    let (exported, validators) = chain.app.export(None).unwrap();
    let height: u64 = exported.height.parse().unwrap();
    let app_state = serde_json::to_vec(&deai_genesis::AppState {
        validators,
        exported: Some(exported),
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut new = App::open(dir.path()).unwrap();
    let (_, set) = new.init_chain(CHAIN, height + 1, &app_state).unwrap();
    let keys: Vec<[u8; 32]> = set.iter().map(|u| u.pub_key).collect();
    assert_eq!(
        keys,
        [consensus_key(200), consensus_key(4)],
        "the fixed one and the staked one"
    );
    assert_eq!(set[1].power, 3);
}

#[test]
fn a_blocks_fees_reach_the_last_commits_validators_and_delegators_withdraw_them_exactly() {
    use cosmos_sdk_proto::cosmos::distribution::v1beta1 as dist;
    use deai_types::module::VoteFlag;
    let a = Key::from_label("rewards-a");
    let b = Key::from_label("rewards-b");
    let d = Key::from_label("rewards-d");
    let mut genesis = gentx_genesis(
        &[&a, &b, &d],
        vec![
            gentx(&a, 21, 30_000_000, CHAIN),
            gentx(&b, 22, 10_000_000, CHAIN),
        ],
    );
    // No inflation: only the fees are paid, to the udeai.
    genesis["mint"] = json!({
        "params": {
            "mint_denom": "udeai", "inflation_rate_change": "0", "inflation_max": "0",
            "inflation_min": "0", "goal_bonded": "0.67", "blocks_per_year": 6311520
        },
        "minter": {"inflation": "0", "annual_provisions": "0"}
    });
    let mut chain = Chain::from_genesis(&genesis);
    chain.block(&[]);
    let votes = |pa: u64| {
        vec![
            vote(21, pa, VoteFlag::Commit),
            vote(22, 10, VoteFlag::Commit),
        ]
    };

    // d delegates 10 to a, paying a 5 000 udeai fee: the treasury takes
    // its 20% at the block's end, the collector keeps 4 000.
    let tx = chain.tx(
        &d,
        deai_staking::MSG_DELEGATE_TYPE_URL,
        &sdk::MsgDelegate {
            delegator_address: d.address().to_bech32(),
            validator_address: a.address().to_valoper(),
            amount: udeai(10_000_000),
        },
    );
    let out = chain.block_with(5, &[tx], votes(30), Vec::new());
    assert_eq!(out.tx_results[0].code, 0, "{}", out.tx_results[0].log);
    // The next block pays them: 2% to the treasury, 3 920 split 40:10;
    // a keeps 10% of its 3 136 and shares the rest over its 40 staked.
    chain.block_with(5, &[], votes(40), Vec::new());
    let rewards = |c: &Chain, who: &Key| -> String {
        let r: dist::QueryDelegationRewardsResponse = c.query(
            "/cosmos.distribution.v1beta1.Query/DelegationRewards",
            &dist::QueryDelegationRewardsRequest {
                delegator_address: who.address().to_bech32(),
                validator_address: a.address().to_valoper(),
            },
        );
        r.rewards
            .first()
            .map(|c| c.amount.clone())
            .unwrap_or_default()
    };
    assert_eq!(rewards(&chain, &d), "705600000000000000000");
    assert_eq!(rewards(&chain, &a), "2116800000000000000000");
    let commission: dist::QueryValidatorCommissionResponse = chain.query(
        "/cosmos.distribution.v1beta1.Query/ValidatorCommission",
        &dist::QueryValidatorCommissionRequest {
            validator_address: a.address().to_valoper(),
        },
    );
    assert_eq!(
        commission.commission.unwrap().commission[0].amount,
        "313600000000000000000"
    );

    // Withdrawing pays whole coins: 705 to d, 2 116 + 313 to a.
    let (d0, a0) = (chain.balance(&d), chain.balance(&a));
    let txs = [
        chain.tx(
            &d,
            deai_distribution::MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL,
            &dist::MsgWithdrawDelegatorReward {
                delegator_address: d.address().to_bech32(),
                validator_address: a.address().to_valoper(),
            },
        ),
        chain.tx(
            &a,
            deai_distribution::MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL,
            &dist::MsgWithdrawDelegatorReward {
                delegator_address: a.address().to_bech32(),
                validator_address: a.address().to_valoper(),
            },
        ),
    ];
    let out = chain.block(&txs);
    for r in &out.tx_results {
        assert_eq!(r.code, 0, "{}", r.log);
    }
    let tx = chain.tx(
        &a,
        deai_distribution::MSG_WITHDRAW_VALIDATOR_COMMISSION_TYPE_URL,
        &dist::MsgWithdrawValidatorCommission {
            validator_address: a.address().to_valoper(),
        },
    );
    let out = chain.block(&[tx]);
    assert_eq!(out.tx_results[0].code, 0, "{}", out.tx_results[0].log);
    assert_eq!(chain.balance(&d), d0 + 705 - 5_000);
    assert_eq!(chain.balance(&a), a0 + 2_116 + 313 - 2 * 5_000);
    assert_eq!(rewards(&chain, &d), "");
}

#[test]
fn historical_info_keeps_the_last_headers_and_sets_and_forgets_older_ones() {
    let a = Key::from_label("hist-a");
    let b = Key::from_label("hist-b");
    let mut genesis = gentx_genesis(
        &[&a, &b],
        vec![
            gentx(&a, 31, 10_000_000, CHAIN),
            gentx(&b, 32, 5_000_000, CHAIN),
        ],
    );
    genesis["staking"]["params"]["historical_entries"] = json!(3);
    let mut chain = Chain::from_genesis(&genesis);
    let hist = |c: &Chain, h: u64| {
        let answer = c.app.querier().query(
            "/cosmos.staking.v1beta1.Query/HistoricalInfo",
            &sdk::QueryHistoricalInfoRequest {
                height: i64::try_from(h).unwrap(),
            }
            .encode_to_vec(),
            0,
            false,
        );
        (answer.code == 0)
            .then(|| sdk::QueryHistoricalInfoResponse::decode(answer.value.as_slice()).unwrap())
            .and_then(|r| r.hist)
    };
    chain.block(&[]);
    let prev_hash = chain.app.last_app_hash().unwrap();
    chain.block(&[]);
    let h = chain.app.last_height();
    let info = hist(&chain, h).unwrap();
    let header = info.header.unwrap();
    assert_eq!(
        (header.chain_id.as_str(), header.height, header.app_hash),
        (CHAIN, i64::try_from(h).unwrap(), prev_hash)
    );
    let ops: Vec<&str> = info
        .valset
        .iter()
        .map(|v| v.operator_address.as_str())
        .collect();
    let (a_op, b_op) = (a.address().to_valoper(), b.address().to_valoper());
    assert_eq!(ops, [a_op.as_str(), b_op.as_str()], "most powerful first");

    // b's operator stakes past a: the set in force from the next block
    // has b first; the heights before still show the old order.
    let tx = chain.tx(
        &b,
        deai_staking::MSG_DELEGATE_TYPE_URL,
        &sdk::MsgDelegate {
            delegator_address: b.address().to_bech32(),
            validator_address: b_op.clone(),
            amount: udeai(20_000_000),
        },
    );
    let out = chain.block(&[tx]);
    assert_eq!(out.tx_results[0].code, 0, "{}", out.tx_results[0].log);
    chain.block(&[]);
    let now = chain.app.last_height();
    let first = |h: u64| hist(&chain, h).unwrap().valset[0].operator_address.clone();
    assert_eq!(first(now), b_op);
    assert_eq!(first(h), a_op);
    // Three heights are kept: older ones are gone, and so is the set only
    // they used.
    for _ in 0..3 {
        chain.block(&[]);
    }
    assert!(hist(&chain, h).is_none());
    assert!(hist(&chain, chain.app.last_height()).is_some());
    let sets = chain
        .app
        .storage()
        .latest_snapshot()
        .prefix_raw(deai_staking::historical::SETS, None, 10)
        .unwrap();
    assert_eq!(sets.len(), 1, "one set in force over the kept heights");
}
