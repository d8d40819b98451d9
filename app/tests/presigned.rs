//! Signatures verified ahead of time: by a [`SigVerifier`] outside the lock
//! that serialises the app (the devnet's RPC threads), and by CheckTx for
//! FinalizeBlock, which does not verify again what this node verified. Both
//! must give exactly the answers full verification gives.

#![allow(clippy::unwrap_used, missing_docs)]

use deai_app::{App, PreChecked};
use deai_auth::AuthRead;
use deai_client::tx::{msg_send, sign_tx, Key, TxParams};
use deai_types::Coin;
use serde_json::json;

const CHAIN: &str = "deai-presigned-test";

/// An app whose genesis funds `keys`, with its first block committed.
fn app(keys: &[Key]) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(dir.path()).unwrap();
    let balances: Vec<_> = keys
        .iter()
        .map(|k| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": "100000000"}]}))
        .collect();
    let genesis = json!({"bank": {"balances": balances}});
    app.init_chain(CHAIN, 1, &serde_json::to_vec(&genesis).unwrap())
        .unwrap();
    app.finalize_block(&deai_app::BlockInfo::at(1), &[])
        .unwrap();
    app.commit().unwrap();
    (dir, app)
}

fn send(app: &App, from: &Key, to: &Key, amount: u128, sequence: u64) -> Vec<u8> {
    let account_number = app
        .storage()
        .latest_snapshot()
        .account(&from.address())
        .unwrap()
        .unwrap()
        .account_number;
    let p = TxParams {
        chain_id: CHAIN.to_string(),
        account_number,
        sequence,
        fee: Some(Coin::new(2_000, "udeai")),
        gas_limit: 200_000,
        memo: String::new(),
    };
    sign_tx(
        from,
        vec![msg_send(
            &from.address(),
            &to.address(),
            &[Coin::new(amount, "udeai")],
        )],
        &p,
    )
}

fn keys() -> Vec<Key> {
    (0..3)
        .map(|i| Key::from_label(&format!("presigned-{i}")))
        .collect()
}

/// The last byte of the signature flipped: decodes, does not verify.
fn forged(tx: &[u8]) -> Vec<u8> {
    let mut f = tx.to_vec();
    let last = f.len() - 1;
    f[last] ^= 1;
    f
}

#[test]
fn a_block_this_node_checked_ends_in_the_same_state_as_on_a_node_that_never_saw_its_txs() {
    let k = keys();
    let (_a_dir, mut checked) = app(&k);
    let (_b_dir, mut fresh) = app(&k);
    let txs: Vec<Vec<u8>> = vec![
        send(&checked, &k[0], &k[1], 5, 0),
        send(&checked, &k[0], &k[2], 6, 1),
        send(&checked, &k[1], &k[2], 7, 0),
    ];
    for tx in &txs {
        assert_eq!(checked.check_tx(tx).code, 0);
    }
    // A forged tx in the block: CheckTx never verified these bytes, so
    // FinalizeBlock verifies them and refuses the tx, on both nodes.
    let mut block: Vec<bytes::Bytes> = txs.into_iter().map(bytes::Bytes::from).collect();
    block.push(forged(&send(&checked, &k[2], &k[0], 8, 0)).into());
    let a = checked
        .finalize_block(&deai_app::BlockInfo::at(2), &block)
        .unwrap();
    let b = fresh
        .finalize_block(&deai_app::BlockInfo::at(2), &block)
        .unwrap();
    assert_eq!(a.app_hash, b.app_hash);
    assert_eq!(a.tx_results, b.tx_results);
    let codes: Vec<u32> = a.tx_results.iter().map(|r| r.code).collect();
    assert_eq!(codes, [0, 0, 0, 4]);
}

#[test]
fn signatures_verified_outside_the_lock_give_the_answers_check_tx_gives() {
    let k = keys();
    let (_dir, mut app) = app(&k);
    let verifier = app.sig_verifier().expect("the chain has started");
    let tx = send(&app, &k[0], &k[1], 5, 0);
    let bad = forged(&send(&app, &k[1], &k[0], 5, 0));
    let pre = verifier.verify(&tx);
    let pre_bad = verifier.verify(&bad);
    assert_ne!(pre, PreChecked::default());

    let r = app.check_tx_preverified(&tx, &pre);
    assert_eq!(r.code, 0, "{}", r.log);
    let r = app.check_tx_preverified(&bad, &pre_bad);
    assert_eq!(r.code, 4, "{}", r.log);
    // A pre-check counts only for the bytes it was made for: a valid tx's
    // pre-check does not let a forged one through.
    let r = app.check_tx_preverified(&bad, &pre);
    assert_eq!(r.code, 4, "{}", r.log);
    // Bytes that do not decode get no pre-check and CheckTx's own answer.
    assert_eq!(verifier.verify(b"\x01\x02"), PreChecked::default());
    assert_eq!(
        app.check_tx_preverified(b"\x01\x02", &PreChecked::default())
            .code,
        app.check_tx(b"\x01\x02").code
    );
}
