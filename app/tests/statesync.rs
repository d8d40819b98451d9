//! State sync through the real [`App`] on RocksDB, with the calls CometBFT
//! makes: a node restored from another's snapshot has the same root and
//! the same entries and then follows the chain; corrupt chunks are fetched
//! again; a snapshot of another chain, or one whose chunks decode to
//! nonsense, is rejected with nothing written, and the next snapshot
//! offered still restores; a node with state refuses to restore.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use deai_app::{
    statesync::{Applied, Offer, SnapshotInfo, SnapshotStore, MAX_BAD_CHUNKS},
    App,
};
use deai_auth::AuthRead;
use deai_client::tx::{msg_send, sign_tx, Key, TxParams};
use deai_types::{Address, Coin, StateRead};
use serde_json::json;

/// Accounts funded at genesis.
const ACCOUNTS: usize = 2_000;

struct Node {
    app: App,
    dir: tempfile::TempDir,
}

impl Node {
    fn empty() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(&dir.path().join("state")).unwrap();
        Node { app, dir }
    }

    /// A chain whose genesis funds [`ACCOUNTS`] accounts, after `blocks`
    /// blocks of transfers.
    fn chain(chain_id: &str, blocks: u64) -> (Node, Vec<Key>) {
        let mut node = Node::empty();
        let keys: Vec<Key> = (0..ACCOUNTS)
            .map(|i| Key::from_label(&format!("statesync-{i}")))
            .collect();
        let balances: Vec<_> = keys
            .iter()
            .map(|k| json!({"address": k.address().to_bech32(), "coins": [{"denom": "udeai", "amount": "1000000000"}]}))
            .collect();
        let genesis = json!({"bank": {"balances": balances}});
        node.app
            .init_chain(chain_id, 1, &serde_json::to_vec(&genesis).unwrap())
            .unwrap();
        node.block(&[]);
        for b in 0..blocks {
            let txs: Vec<Vec<u8>> = (0..5)
                .map(|i| {
                    let from = &keys[(b as usize * 5 + i) % ACCOUNTS];
                    let to = Key::from_label(&format!("new-{b}-{i}")).address();
                    node.transfer(chain_id, from, &to, 1_000)
                })
                .collect();
            node.block(&txs);
        }
        (node, keys)
    }

    fn block(&mut self, txs: &[Vec<u8>]) -> Vec<u8> {
        let txs: Vec<bytes::Bytes> = txs.iter().cloned().map(bytes::Bytes::from).collect();
        let height = self.app.last_height() + 1;
        let out = self
            .app
            .finalize_block(&deai_app::BlockInfo::at(height), &txs)
            .unwrap();
        for r in &out.tx_results {
            assert_eq!(r.code, 0, "{}", r.log);
        }
        self.app.commit().unwrap();
        out.app_hash.to_vec()
    }

    fn transfer(&self, chain_id: &str, from: &Key, to: &Address, amount: u128) -> Vec<u8> {
        let acc = self
            .app
            .storage()
            .latest_snapshot()
            .account(&from.address())
            .unwrap()
            .unwrap();
        sign_tx(
            from,
            vec![msg_send(&from.address(), to, &[Coin::new(amount, "udeai")])],
            &TxParams {
                chain_id: chain_id.into(),
                account_number: acc.account_number,
                sequence: acc.sequence,
                fee: Some(Coin::new(5_000, "udeai")),
                gas_limit: 500_000,
                memo: String::new(),
            },
        )
    }

    /// Takes a snapshot of the latest height in small chunks.
    fn snapshot(&self) -> (SnapshotStore, SnapshotInfo) {
        let mut store = SnapshotStore::new(self.dir.path().join("snapshots"), 0, 2).unwrap();
        store.set_chunk_target(16 << 10);
        let info = store
            .take(self.app.storage(), self.app.last_height())
            .unwrap();
        assert!(info.chunks > 5, "{} chunks", info.chunks);
        (store, info)
    }

    /// Every entry of the latest state.
    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.app
            .storage()
            .latest_snapshot()
            .prefix_raw(&[], None, usize::MAX)
            .unwrap()
    }
}

/// Offers `info` and applies all its chunks from `store`; the last result.
fn restore(target: &mut App, store: &SnapshotStore, info: &SnapshotInfo, root: &[u8]) -> Applied {
    assert_eq!(target.offer_snapshot(info.clone(), root), Offer::Accept);
    let mut last = Applied::Abort;
    for i in 0..info.chunks {
        last = target
            .apply_snapshot_chunk(i, &store.load_chunk(info.height, info.format, i))
            .unwrap();
        if i + 1 < info.chunks {
            assert_eq!(last, Applied::Accept(None), "chunk {i}");
        }
    }
    last
}

#[test]
fn a_restored_node_has_the_same_state_and_follows_the_chain() {
    let (mut source, keys) = Node::chain("deai-statesync", 4);
    let (store, info) = source.snapshot();
    let root = source.app.last_app_hash().unwrap();
    assert_eq!(store.list().unwrap(), vec![info.clone()]);

    let mut fresh = Node::empty();
    let done = restore(&mut fresh.app, &store, &info, &root);
    assert_eq!(done, Applied::Accept(Some(info.height)));
    assert_eq!(fresh.app.last_height(), source.app.last_height());
    assert_eq!(fresh.app.last_app_hash().unwrap(), root);
    assert_eq!(fresh.entries(), source.entries());
    assert_eq!(fresh.app.chain().unwrap().chain_id, "deai-statesync");

    // Both run the next block, with a transfer, to the same app hash.
    let tx = source.transfer("deai-statesync", &keys[7], &keys[8].address(), 42);
    assert_eq!(fresh.block(std::slice::from_ref(&tx)), source.block(&[tx]));

    // A node that has state refuses a snapshot.
    assert_eq!(fresh.app.offer_snapshot(info, &root), Offer::Abort);
}

#[test]
fn corrupt_chunks_are_fetched_again_and_bad_snapshots_are_rejected_with_nothing_written() {
    let (source, _) = Node::chain("deai-statesync", 2);
    let (store, info) = source.snapshot();
    let root = source.app.last_app_hash().unwrap();
    let mut fresh = Node::empty();

    // A corrupt chunk is refused and asked for again; the right one goes on.
    assert_eq!(fresh.app.offer_snapshot(info.clone(), &root), Offer::Accept);
    let chunk0 = store.load_chunk(info.height, 1, 0);
    let mut bad = chunk0.clone();
    bad[10] ^= 0xff;
    assert_eq!(
        fresh.app.apply_snapshot_chunk(0, &bad).unwrap(),
        Applied::Refetch
    );
    assert_eq!(
        fresh.app.apply_snapshot_chunk(0, &chunk0).unwrap(),
        Applied::Accept(None)
    );
    // Peers that keep sending bad chunks make the snapshot be given up: one
    // bad chunk was seen above; after MAX_BAD_CHUNKS more it is rejected.
    for _ in 1..MAX_BAD_CHUNKS {
        assert_eq!(
            fresh.app.apply_snapshot_chunk(1, &bad).unwrap(),
            Applied::Refetch
        );
    }
    assert_eq!(
        fresh.app.apply_snapshot_chunk(1, &bad).unwrap(),
        Applied::RejectSnapshot
    );
    assert_eq!(fresh.app.storage().latest_version(), None);

    // A snapshot of another chain, offered with this chain's trusted app
    // hash: every chunk is well formed, the root is not the trusted one.
    let (other, _) = Node::chain("deai-other", 2);
    let (other_store, other_info) = other.snapshot();
    assert_eq!(
        restore(&mut fresh.app, &other_store, &other_info, &root),
        Applied::RejectSnapshot
    );
    assert_eq!(fresh.app.storage().latest_version(), None);
    assert!(fresh.app.chain().is_none());

    // Chunks whose hashes match the metadata but whose entries are out of
    // order: rejected at that chunk.
    let mut swapped = vec![store.load_chunk(info.height, 1, 1), chunk0.clone()];
    swapped.extend((2..info.chunks).map(|i| store.load_chunk(info.height, 1, i)));
    let metadata: Vec<u8> = swapped
        .iter()
        .flat_map(|c| <sha2::Sha256 as sha2::Digest>::digest(c).to_vec())
        .collect();
    let forged = forged_info(info.height, metadata);
    assert_eq!(
        fresh.app.offer_snapshot(forged.clone(), &root),
        Offer::Accept
    );
    assert_eq!(
        fresh.app.apply_snapshot_chunk(0, &swapped[0]).unwrap(),
        Applied::Accept(None)
    );
    assert_eq!(
        fresh.app.apply_snapshot_chunk(1, &swapped[1]).unwrap(),
        Applied::RejectSnapshot
    );
    assert_eq!(fresh.app.storage().latest_version(), None);

    // Offers that disagree with themselves are rejected up front.
    let mut lying = info.clone();
    lying.chunks += 1;
    assert_eq!(fresh.app.offer_snapshot(lying, &root), Offer::Reject);
    let mut other_format = info.clone();
    other_format.format = 2;
    assert_eq!(
        fresh.app.offer_snapshot(other_format, &root),
        Offer::RejectFormat
    );

    // After all that, the real snapshot still restores.
    assert_eq!(
        restore(&mut fresh.app, &store, &info, &root),
        Applied::Accept(Some(info.height))
    );
    assert_eq!(fresh.app.last_app_hash().unwrap(), root);
}

#[test]
fn commits_take_periodic_snapshots_and_keep_the_newest() {
    let (mut node, _) = Node::chain("deai-statesync", 0);
    let store = Arc::new(SnapshotStore::new(node.dir.path().join("periodic"), 2, 2).unwrap());
    node.app.set_snapshots(store.clone());
    for _ in 0..6 {
        node.block(&[]);
        // Snapshots are written on a thread of their own; wait for each.
        let want = node.app.last_height();
        if want % 2 == 0 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while store.busy() || !store.list().unwrap().iter().any(|s| s.height == want) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no snapshot at {want}"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
    let heights: Vec<u64> = store.list().unwrap().iter().map(|s| s.height).collect();
    assert_eq!(heights, vec![6, 4]);
}

/// A snapshot listing for `metadata`, as a peer could make one up.
fn forged_info(height: u64, metadata: Vec<u8>) -> SnapshotInfo {
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut h, b"deai-snapshot/1");
    sha2::Digest::update(&mut h, height.to_be_bytes());
    sha2::Digest::update(&mut h, &metadata);
    SnapshotInfo {
        height,
        format: 1,
        chunks: u32::try_from(metadata.len() / 32).unwrap(),
        hash: sha2::Digest::finalize(h).to_vec(),
        metadata,
    }
}
