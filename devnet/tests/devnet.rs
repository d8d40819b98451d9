//! The embedded devnet: blocks, their hashes and signatures, restart and
//! replay, and a tendermint-rs light client accepting what it produces.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use deai_auth::AuthRead;
use deai_bank::BankRead;
use deai_client::tx::{msg_send, sign_tx, Key, TxParams};
use deai_devnet::{chain, home, Devnet, DevnetHome, MempoolError, MempoolLimits};
use deai_keys::{Backend, Keyring};
use deai_types::{Address, Coin};
use tendermint::block::signed_header::SignedHeader;
use tendermint_light_client_verifier::{
    options::Options,
    types::{TrustThreshold, TrustedBlockState, UntrustedBlockState},
    ProdVerifier, Verdict, Verifier,
};

const CHAIN_ID: &str = "deai-devnet-test";

fn fresh() -> (tempfile::TempDir, DevnetHome, Vec<home::DevAccount>) {
    let dir = tempfile::tempdir().unwrap();
    let home = DevnetHome(dir.path().to_path_buf());
    // Genesis time is now: a light client only trusts recent headers.
    let now = chain::now_after(tendermint::Time::unix_epoch()).unwrap();
    let accounts = home::ensure_genesis(&home, CHAIN_ID, &now.to_rfc3339()).unwrap();
    (dir, home, accounts)
}

fn dev_key(home: &DevnetHome, name: &str) -> Key {
    let kr = Keyring::open(&home.keyring(), Backend::Test).unwrap();
    Key::from_signing_key(kr.signing_key(name, None).unwrap())
}

fn send(devnet: &Devnet, from: &Key, to: &Address, amount: u128, sequence: u64) -> Vec<u8> {
    let account = devnet
        .app()
        .storage()
        .latest_snapshot()
        .account(&from.address())
        .unwrap()
        .unwrap();
    let p = TxParams {
        chain_id: CHAIN_ID.to_string(),
        account_number: account.account_number,
        sequence,
        fee: Some(Coin::new(2_000, "udeai")),
        gas_limit: 200_000,
        memo: String::new(),
    };
    sign_tx(
        from,
        vec![msg_send(&from.address(), to, &[Coin::new(amount, "udeai")])],
        &p,
    )
}

fn balance(devnet: &Devnet, addr: &Address) -> u128 {
    devnet
        .app()
        .storage()
        .latest_snapshot()
        .balance(addr, "udeai")
        .unwrap()
}

#[test]
fn first_start_creates_a_validator_key_three_funded_dev_accounts_and_a_genesis() {
    let (_dir, home, accounts) = fresh();
    let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["dev0", "dev1", "dev2"]);
    assert!(accounts.iter().all(|a| a.mnemonic.split(' ').count() == 24));
    let key = home::PrivValidatorKey::load(&home.validator_key()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.validator_key()).unwrap()).unwrap();
    assert_eq!(json["pub_key"]["type"], "tendermint/PubKeyEd25519");
    assert_eq!(json["priv_key"]["type"], "tendermint/PrivKeyEd25519");
    assert_eq!(json["address"], key.address.to_string());
    assert!(
        home::ensure_genesis(&home, CHAIN_ID, "2026-01-01T00:00:00Z")
            .unwrap()
            .is_empty(),
        "a second start creates nothing"
    );
    let mut devnet = Devnet::open(&home).unwrap();
    // Genesis is committed with the first block.
    devnet.produce_block().unwrap();
    for a in &accounts {
        assert_eq!(balance(&devnet, &a.address), home::DEV_BALANCE);
    }
}

#[test]
fn blocks_are_produced_and_heights_advance() {
    let (_dir, home, _) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    assert_eq!(devnet.last_height(), 0);
    for h in 1..=3 {
        let b = devnet.produce_block().unwrap();
        assert_eq!(b.height, h);
        assert_eq!(devnet.last_height(), h);
        assert_eq!(devnet.app().last_height(), h);
    }
    assert!(devnet.block(3).unwrap().is_some());
    assert!(devnet.block(4).unwrap().is_none());
}

#[test]
fn each_header_chains_to_its_parent_and_carries_the_parents_app_hash() {
    let (_dir, home, _) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    for _ in 0..4 {
        devnet.produce_block().unwrap();
    }
    let first = devnet.block(1).unwrap().unwrap();
    assert!(first.block.header.last_block_id.is_none());
    assert!(first.block.last_commit.is_none());
    for h in 2..=4 {
        let parent = devnet.block(h - 1).unwrap().unwrap();
        let b = devnet.block(h).unwrap().unwrap();
        let header = &b.block.header;
        assert_eq!(
            header.last_block_id.unwrap().hash,
            parent.block.header.hash()
        );
        assert_eq!(header.last_block_id.unwrap(), parent.commit.block_id);
        assert_eq!(header.app_hash.as_bytes(), parent.results.app_hash.as_ref());
        assert_eq!(b.block.last_commit.as_ref(), Some(&parent.commit));
        assert_eq!(
            header.last_commit_hash,
            Some(chain::commit_hash(Some(&parent.commit)))
        );
        assert_eq!(
            header.last_results_hash,
            Some(chain::results_hash(&parent.results.tx_results))
        );
        assert!(header.time > parent.block.header.time);
        assert_eq!(header.validators_hash, devnet.validators().hash());
        assert_eq!(b.commit.block_id, chain::block_id(&b.block).unwrap());
    }
    let last = devnet.block(4).unwrap().unwrap();
    assert_eq!(
        devnet.app().last_app_hash().unwrap(),
        last.results.app_hash.to_vec()
    );
}

#[test]
fn a_transfer_lands_in_the_next_block_and_is_indexed_by_hash() {
    let (_dir, home, accounts) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    devnet.produce_block().unwrap();
    let dev0 = dev_key(&home, "dev0");
    let to = accounts[1].address;
    let tx1 = send(&devnet, &dev0, &to, 5, 0);
    let tx2 = send(&devnet, &dev0, &to, 7, 1);
    assert_eq!(devnet.check_tx(tx1.clone()).unwrap().code, 0);
    assert_eq!(devnet.check_tx(tx2.clone()).unwrap().code, 0);
    let replay = send(&devnet, &dev0, &to, 6, 0);
    assert_ne!(
        devnet.check_tx(replay).unwrap().code,
        0,
        "a replayed sequence is refused"
    );
    assert_eq!(devnet.mempool().len(), 2);
    let b = devnet.produce_block().unwrap();
    assert_eq!(b.txs, 2);
    assert!(devnet.mempool().is_empty());
    assert_eq!(balance(&devnet, &to), home::DEV_BALANCE + 12);
    let stored = devnet.block(2).unwrap().unwrap();
    assert_eq!(stored.block.data, vec![tx1.clone(), tx2.clone()]);
    assert!(stored.results.tx_results.iter().all(|r| r.code == 0));
    assert_eq!(
        stored.block.header.data_hash,
        Some(chain::data_hash(&[tx1.clone(), tx2.clone()]))
    );
    let hash = tendermint::Hash::Sha256(deai_app::tx::tx_hash(&tx2));
    let loc = devnet.tx(&hash).unwrap().unwrap();
    assert_eq!((loc.height, loc.index), (2, 1));
    devnet.produce_block().unwrap();
    let next = devnet.block(3).unwrap().unwrap();
    assert_ne!(
        next.block.header.last_results_hash,
        Some(chain::results_hash(&[]))
    );
}

#[test]
fn a_tx_the_mempool_has_seen_is_refused_as_cometbfts_cache_refuses_it() {
    let (_dir, home, accounts) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    devnet.produce_block().unwrap();
    let dev0 = dev_key(&home, "dev0");
    let to = accounts[1].address;
    let tx = send(&devnet, &dev0, &to, 5, 0);
    assert_eq!(devnet.check_tx(tx.clone()).unwrap().code, 0);
    // Waiting in the mempool: the same bytes again are refused before the app.
    assert_eq!(devnet.check_tx(tx.clone()), Err(MempoolError::InCache));
    assert_eq!(
        MempoolError::InCache.to_string(),
        "tx already exists in cache"
    );
    devnet.produce_block().unwrap();
    // Committed: still remembered.
    assert_eq!(devnet.check_tx(tx.clone()), Err(MempoolError::InCache));
    // A tx the app refused is forgotten, so it may be sent again (and is
    // refused by the app again, not by the cache).
    let early = send(&devnet, &dev0, &to, 5, 7);
    assert_ne!(devnet.check_tx(early.clone()).unwrap().code, 0);
    assert_ne!(devnet.check_tx(early).unwrap().code, 0);
    // The cache holds the newest `cache_size` txs.
    devnet.set_mempool_limits(MempoolLimits {
        cache_size: 1,
        ..MempoolLimits::default()
    });
    let next = send(&devnet, &dev0, &to, 5, 1);
    assert_eq!(devnet.check_tx(next).unwrap().code, 0);
    assert_ne!(
        devnet.check_tx(tx).unwrap().code,
        0,
        "forgotten by the cache, the committed tx reaches the app"
    );
}

#[test]
fn a_tx_checked_while_a_block_is_being_stored_waits_for_the_next_block() {
    let (_dir, home, accounts) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    devnet.produce_block().unwrap();
    let dev0 = dev_key(&home, "dev0");
    let to = accounts[1].address;
    let first = send(&devnet, &dev0, &to, 5, 0);
    assert_eq!(devnet.check_tx(first.clone()).unwrap().code, 0);
    let block = devnet.finalize_next_block().unwrap();
    // The producer lets the lock go while the block is written: CheckTx
    // goes on against the mempool's view, which still holds `first`.
    let second = send(&devnet, &dev0, &to, 6, 1);
    assert_eq!(devnet.check_tx(second.clone()).unwrap().code, 0);
    devnet.store().put(&block.stored).unwrap();
    devnet.commit_block(block).unwrap();
    // The recheck kept it; the next block takes it.
    assert_eq!(devnet.mempool(), std::slice::from_ref(&second));
    assert_eq!(devnet.produce_block().unwrap().txs, 1);
    assert_eq!(devnet.block(3).unwrap().unwrap().block.data, vec![second]);
    assert_eq!(balance(&devnet, &to), home::DEV_BALANCE + 11);
}

#[test]
fn a_finalized_block_must_be_stored_before_it_is_committed_and_before_the_next() {
    let (_dir, home, _) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    let block = devnet.finalize_next_block().unwrap();
    assert!(devnet.finalize_next_block().is_err());
    assert!(devnet.commit_block(block).is_err());
    assert_eq!(devnet.last_height(), 0);
}

#[test]
fn a_tx_larger_than_the_mempool_takes_is_refused_with_cometbfts_error() {
    let (_dir, home, _) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    let big = vec![0u8; 1_048_577];
    assert_eq!(
        devnet.check_tx(big).unwrap_err().to_string(),
        "Tx too large. Max size is 1048576, but got 1048577"
    );
    devnet.set_max_tx_bytes(100);
    assert_eq!(
        devnet.check_tx(vec![0u8; 100]).unwrap_err().to_string(),
        "tx pre check: tx size is too big: 102, max: 100"
    );
}

#[test]
fn recheck_drops_a_queued_tx_that_the_last_block_made_invalid_and_keeps_the_rest() {
    let (_dir, home, accounts) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    devnet.produce_block().unwrap();
    let dev0 = dev_key(&home, "dev0");
    let dev1 = dev_key(&home, "dev1");
    let sink = accounts[2].address;
    // dev0 sends all but 1000udeai (after its 2000udeai fee): too little
    // left for the fee of its next tx, which CheckTx accepted before.
    let drain = send(&devnet, &dev0, &sink, home::DEV_BALANCE - 3_000, 0);
    let doomed = send(&devnet, &dev0, &sink, 1, 1);
    let fine = send(&devnet, &dev1, &sink, 1, 0);
    for tx in [&drain, &doomed, &fine] {
        assert_eq!(devnet.check_tx(tx.clone()).unwrap().code, 0);
    }
    // Room for one tx per block, so the others wait for recheck.
    devnet.set_max_tx_bytes(drain.len() as u64);
    assert_eq!(devnet.produce_block().unwrap().txs, 1);
    assert_eq!(devnet.mempool(), std::slice::from_ref(&fine));
    assert_eq!(devnet.produce_block().unwrap().txs, 1);
    assert!(devnet.mempool().is_empty());
    assert_eq!(devnet.block(3).unwrap().unwrap().block.data, vec![fine]);
    assert_eq!(balance(&devnet, &accounts[0].address), 1_000);
}

#[test]
fn a_restart_resumes_at_the_last_height() {
    let (_dir, home, _) = fresh();
    let hash2 = {
        let mut devnet = Devnet::open(&home).unwrap();
        devnet.produce_block().unwrap();
        devnet.produce_block().unwrap().block_id.hash
    };
    let mut devnet = Devnet::open(&home).unwrap();
    assert_eq!(devnet.last_height(), 2);
    assert_eq!(devnet.app().last_height(), 2);
    let b = devnet.produce_block().unwrap();
    assert_eq!(b.height, 3);
    let stored = devnet.block(3).unwrap().unwrap();
    assert_eq!(stored.block.header.last_block_id.unwrap().hash, hash2);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn a_block_stored_but_not_committed_by_the_app_is_replayed_on_restart() {
    let (dir, home, accounts) = fresh();
    let saved = dir.path().join("state-at-2");
    {
        let mut devnet = Devnet::open(&home).unwrap();
        devnet.produce_block().unwrap();
        devnet.produce_block().unwrap();
    }
    copy_dir(&home.state_dir(), &saved);
    let app_hash3 = {
        let mut devnet = Devnet::open(&home).unwrap();
        let dev0 = dev_key(&home, "dev0");
        let tx = send(&devnet, &dev0, &accounts[2].address, 11, 0);
        assert_eq!(devnet.check_tx(tx).unwrap().code, 0);
        devnet.produce_block().unwrap().app_hash
    };
    // As if the process died after storing block 3 but before the app's Commit.
    std::fs::remove_dir_all(home.state_dir()).unwrap();
    copy_dir(&saved, &home.state_dir());
    let mut devnet = Devnet::open(&home).unwrap();
    assert_eq!(devnet.app().last_height(), 3);
    assert_eq!(devnet.app().last_app_hash().unwrap(), app_hash3);
    assert_eq!(
        balance(&devnet, &accounts[2].address),
        home::DEV_BALANCE + 11
    );
    assert_eq!(devnet.produce_block().unwrap().height, 4);
}

fn light_client_options() -> Options {
    Options {
        trust_threshold: TrustThreshold::ONE_THIRD,
        trusting_period: Duration::from_secs(3600),
        clock_drift: Duration::from_secs(10),
    }
}

/// Verifies block `h` (with `commit`) against block `h - 1` as a light client would.
fn verify(devnet: &Devnet, h: u64, commit: tendermint::block::Commit) -> Verdict {
    let vals = devnet.validators().clone();
    let chain_id = devnet.chain_id().clone();
    let trusted = devnet.block(h - 1).unwrap().unwrap().block.header;
    let b = devnet.block(h).unwrap().unwrap();
    let now = chain::now_after(b.block.header.time).unwrap();
    let signed = SignedHeader::new(b.block.header.clone(), commit).unwrap();
    let untrusted = UntrustedBlockState {
        signed_header: &signed,
        validators: &vals,
        next_validators: Some(&vals),
    };
    let trusted_state = TrustedBlockState {
        chain_id: &chain_id,
        header_time: trusted.time,
        height: trusted.height,
        next_validators: &vals,
        next_validators_hash: trusted.next_validators_hash,
    };
    ProdVerifier::default().verify_update_header(
        untrusted,
        trusted_state,
        &light_client_options(),
        now,
    )
}

#[test]
fn a_light_client_verifies_each_block_from_its_parent() {
    let (_dir, home, _) = fresh();
    let mut devnet = Devnet::open(&home).unwrap();
    for _ in 0..3 {
        devnet.produce_block().unwrap();
    }
    for h in 2..=3 {
        let commit = devnet.block(h).unwrap().unwrap().commit;
        let verdict = verify(&devnet, h, commit.clone());
        assert!(
            matches!(verdict, Verdict::Success),
            "height {h}: {verdict:?}"
        );
    }
    // A signature over other bytes is refused.
    let mut forged = devnet.block(3).unwrap().unwrap().commit;
    if let tendermint::block::CommitSig::BlockIdFlagCommit { timestamp, .. } =
        &mut forged.signatures[0]
    {
        *timestamp = (*timestamp + Duration::from_millis(1)).unwrap();
    }
    let verdict = verify(&devnet, 3, forged);
    assert!(!matches!(verdict, Verdict::Success), "{verdict:?}");
}
