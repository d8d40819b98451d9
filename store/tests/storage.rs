//! Behaviour of `Storage` and `Snapshot` on a temporary RocksDB.

use std::{collections::BTreeMap, time::Instant};

use deai_store::{
    proof_spec, verify_membership, verify_non_membership, Snapshot, Storage, StoreError,
};
use deai_types::{state::Changes, StateRead};
use tempfile::TempDir;

fn open() -> (TempDir, Storage) {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = Storage::open(dir.path()).expect("open storage");
    (dir, storage)
}

fn changes(items: &[(&[u8], Option<&[u8]>)]) -> Changes {
    items
        .iter()
        .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
        .collect()
}

fn commit(storage: &Storage, version: u64, items: &[(&[u8], Option<&[u8]>)]) -> [u8; 32] {
    let prepared = storage.prepare(version, &changes(items)).expect("prepare");
    let root = prepared.root_hash;
    storage.commit(prepared).expect("commit");
    root
}

fn keys(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
    entries.into_iter().map(|(k, _)| k).collect()
}

fn v(bytes: &[u8]) -> Option<Vec<u8>> {
    Some(bytes.to_vec())
}

#[test]
fn storage_and_snapshots_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Storage>();
    assert_send_sync::<Snapshot>();
    fn assert_send<T: Send>() {}
    assert_send::<deai_store::PreparedCommit>();
}

#[test]
fn an_empty_store_reads_as_the_empty_tree() {
    let (_dir, storage) = open();
    assert_eq!(storage.latest_version(), None);
    let snap = storage.latest_snapshot();
    assert_eq!(snap.version(), None);
    assert_eq!(snap.root_hash(), *b"SPARSE_MERKLE_PLACEHOLDER_HASH__");
    assert_eq!(snap.get(b"a").unwrap(), None);
    assert!(snap.prefix_raw(b"", None, 10).unwrap().is_empty());
    assert!(matches!(
        snap.get_with_proof(b"a"),
        Err(StoreError::EmptyTree)
    ));
    assert!(matches!(
        storage.snapshot(0),
        Err(StoreError::UnknownVersion(0))
    ));
    assert!(matches!(
        storage.root_hash(1),
        Err(StoreError::UnknownVersion(1))
    ));
}

#[test]
fn values_round_trip_across_commits_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (root1, root2) = {
        let storage = Storage::open(dir.path()).unwrap();
        let root1 = commit(&storage, 1, &[(b"a", Some(b"1")), (b"b", Some(b"2"))]);
        let root2 = commit(
            &storage,
            2,
            &[(b"a", Some(b"1b")), (b"b", None), (b"c\0", Some(b""))],
        );
        assert_eq!(storage.latest_version(), Some(2));
        (root1, root2)
    };
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.latest_version(), Some(2));
    assert_eq!(storage.root_hash(1).unwrap(), root1);
    assert_eq!(storage.root_hash(2).unwrap(), root2);
    let latest = storage.latest_snapshot();
    assert_eq!(latest.version(), Some(2));
    assert_eq!(latest.root_hash(), root2);
    assert_eq!(latest.get(b"a").unwrap(), v(b"1b"));
    assert_eq!(latest.get(b"b").unwrap(), None);
    assert_eq!(latest.get(b"c\0").unwrap(), v(b""));
    assert_eq!(latest.get(b"c").unwrap(), None);
    // Reopened storage keeps building on the stored tree.
    let root3 = commit(&storage, 3, &[(b"d", Some(b"4"))]);
    assert_ne!(root3, root2);
    assert_eq!(storage.latest_snapshot().get(b"a").unwrap(), v(b"1b"));
}

#[test]
fn old_versions_stay_readable_after_newer_commits() {
    let (_dir, storage) = open();
    commit(&storage, 1, &[(b"k", Some(b"one")), (b"gone", Some(b"x"))]);
    let held = storage.latest_snapshot();
    commit(&storage, 2, &[(b"k", Some(b"two")), (b"gone", None)]);
    commit(&storage, 3, &[(b"k", Some(b"three")), (b"new", Some(b"n"))]);

    assert_eq!(held.get(b"k").unwrap(), v(b"one"));
    let s1 = storage.snapshot(1).unwrap();
    assert_eq!(s1.root_hash(), held.root_hash());
    assert_eq!(s1.get(b"gone").unwrap(), v(b"x"));
    assert_eq!(s1.get(b"new").unwrap(), None);
    let s2 = storage.snapshot(2).unwrap();
    assert_eq!(s2.get(b"k").unwrap(), v(b"two"));
    assert_eq!(s2.get(b"gone").unwrap(), None);
    let s3 = storage.snapshot(3).unwrap();
    assert_eq!(s3.get(b"k").unwrap(), v(b"three"));
    assert_eq!(s3.get(b"new").unwrap(), v(b"n"));
    assert!(matches!(
        storage.snapshot(4),
        Err(StoreError::UnknownVersion(4))
    ));
}

#[test]
fn prefix_scans_skip_deletions_and_honour_start_after_and_limit_at_every_version() {
    let (_dir, storage) = open();
    commit(
        &storage,
        1,
        &[
            (b"a/1", Some(b"1")),
            (b"a/2", Some(b"2")),
            (b"a/3", Some(b"3")),
            (b"a/3\0", Some(b"3z")),
            (b"a0", Some(b"out")),
            (b"a", Some(b"out")),
            (b"b/1", Some(b"b")),
        ],
    );
    commit(
        &storage,
        2,
        &[(b"a/2", None), (b"a/4", Some(b"4")), (b"a/1", Some(b"1b"))],
    );

    let s1 = storage.snapshot(1).unwrap();
    let s2 = storage.latest_snapshot();
    assert_eq!(
        s1.prefix_raw(b"a/", None, 10).unwrap(),
        vec![
            (b"a/1".to_vec(), b"1".to_vec()),
            (b"a/2".to_vec(), b"2".to_vec()),
            (b"a/3".to_vec(), b"3".to_vec()),
            (b"a/3\0".to_vec(), b"3z".to_vec()),
        ]
    );
    assert_eq!(
        s2.prefix_raw(b"a/", None, 10).unwrap(),
        vec![
            (b"a/1".to_vec(), b"1b".to_vec()),
            (b"a/3".to_vec(), b"3".to_vec()),
            (b"a/3\0".to_vec(), b"3z".to_vec()),
            (b"a/4".to_vec(), b"4".to_vec()),
        ]
    );
    // Paging: strictly after the last key seen, at most `limit`.
    assert_eq!(
        keys(s2.prefix_raw(b"a/", None, 2).unwrap()),
        vec![b"a/1".to_vec(), b"a/3".to_vec()]
    );
    assert_eq!(
        keys(s2.prefix_raw(b"a/", Some(b"a/3"), 2).unwrap()),
        vec![b"a/3\0".to_vec(), b"a/4".to_vec()]
    );
    assert_eq!(
        keys(s1.prefix_raw(b"a/", Some(b"a/1"), 1).unwrap()),
        vec![b"a/2".to_vec()]
    );
    // A deleted key can still be the cursor.
    assert_eq!(
        keys(s2.prefix_raw(b"a/", Some(b"a/2"), 1).unwrap()),
        vec![b"a/3".to_vec()]
    );
    // Cursors before and after the prefix.
    assert_eq!(s2.prefix_raw(b"a/", Some(b"A"), 10).unwrap().len(), 4);
    assert!(s2.prefix_raw(b"a/", Some(b"a0"), 10).unwrap().is_empty());
    assert!(s2.prefix_raw(b"a/", None, 0).unwrap().is_empty());
    // The empty prefix scans everything.
    assert_eq!(
        keys(s2.prefix_raw(b"", None, 100).unwrap()),
        vec![
            b"a".to_vec(),
            b"a/1".to_vec(),
            b"a/3".to_vec(),
            b"a/3\0".to_vec(),
            b"a/4".to_vec(),
            b"a0".to_vec(),
            b"b/1".to_vec(),
        ]
    );
}

#[test]
fn existence_and_non_existence_proofs_verify_against_the_root_only() {
    let (_dir, storage) = open();
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..50u32)
        .map(|i| {
            (
                format!("key/{i}").into_bytes(),
                Some(format!("value {i}").into_bytes()),
            )
        })
        .collect();
    let first = storage.prepare(1, &items.into_iter().collect()).unwrap();
    storage.commit(first).unwrap();
    let old_root = storage.root_hash(1).unwrap();
    commit(&storage, 2, &[(b"key/7", Some(b"seven")), (b"key/8", None)]);
    let snap = storage.latest_snapshot();
    let root = snap.root_hash();
    assert_eq!(proof_spec(), jmt::ics23_spec());

    let (value, proof) = snap.get_with_proof(b"key/7").unwrap();
    assert_eq!(value, v(b"seven"));
    assert!(verify_membership(&root, &proof, b"key/7", b"seven"));
    assert!(!verify_membership(&root, &proof, b"key/7", b"value 7"));
    assert!(!verify_membership(&old_root, &proof, b"key/7", b"seven"));
    assert!(!verify_membership(&root, &proof, b"key/6", b"seven"));
    assert!(!verify_non_membership(&root, &proof, b"key/7"));

    for absent in [&b"key/8"[..], b"nope", b"", b"\xff\xff"] {
        let (value, proof) = snap.get_with_proof(absent).unwrap();
        assert_eq!(value, None);
        assert!(
            verify_non_membership(&root, &proof, absent),
            "absent key {absent:?}"
        );
        assert!(!verify_non_membership(&[7u8; 32], &proof, absent));
        assert!(!verify_non_membership(&root, &proof, b"key/7"));
    }

    // Proofs at an old version verify against that version's root.
    let old = storage.snapshot(1).unwrap();
    let (value, proof) = old.get_with_proof(b"key/8").unwrap();
    assert_eq!(value, v(b"value 8"));
    assert!(verify_membership(&old_root, &proof, b"key/8", b"value 8"));
    assert!(!verify_membership(&root, &proof, b"key/8", b"value 8"));
}

#[test]
fn a_tree_with_one_key_proves_absence_of_others() {
    let (_dir, storage) = open();
    let root = commit(&storage, 1, &[(b"only", Some(b"1"))]);
    let (value, proof) = storage.latest_snapshot().get_with_proof(b"other").unwrap();
    assert_eq!(value, None);
    assert!(verify_non_membership(&root, &proof, b"other"));
}

#[test]
fn two_stores_given_the_same_changes_produce_identical_roots() {
    let (_d1, one) = open();
    let (_d2, two) = open();
    type Block<'a> = Vec<(&'a [u8], Option<&'a [u8]>)>;
    let blocks: Vec<Block> = vec![
        vec![(b"x", Some(b"1")), (b"y", Some(b"2")), (b"z", None)],
        vec![(b"x", None), (b"w", Some(b"3"))],
        vec![],
        vec![(b"y", Some(b"22"))],
    ];
    for (i, block) in blocks.iter().enumerate() {
        let version = 10 + i as u64;
        assert_eq!(commit(&one, version, block), commit(&two, version, block));
    }
    // Preparing twice on the same base gives the same root.
    let c = changes(&[(b"q", Some(b"9"))]);
    assert_eq!(
        one.prepare(20, &c).unwrap().root_hash,
        one.prepare(20, &c).unwrap().root_hash
    );
}

#[test]
fn a_root_changes_when_any_value_changes() {
    let (_dir, storage) = open();
    let base: Vec<(Vec<u8>, Option<Vec<u8>>)> =
        (0..20u8).map(|i| (vec![b'k', i], Some(vec![i]))).collect();
    let base_root = storage
        .prepare(1, &base.iter().cloned().collect())
        .unwrap()
        .root_hash;
    for i in 0..20 {
        let mut changed = base.clone();
        changed[i].1 = Some(vec![200]);
        assert_ne!(
            storage
                .prepare(1, &changed.into_iter().collect())
                .unwrap()
                .root_hash,
            base_root
        );
        let mut removed = base.clone();
        removed[i].1 = None;
        assert_ne!(
            storage
                .prepare(1, &removed.into_iter().collect())
                .unwrap()
                .root_hash,
            base_root
        );
    }
}

#[test]
fn an_empty_block_keeps_the_root_and_deleting_absent_keys_is_harmless() {
    let (_dir, storage) = open();
    let root1 = commit(&storage, 1, &[(b"a", Some(b"1"))]);
    let root2 = commit(&storage, 2, &[]);
    let root3 = commit(&storage, 3, &[(b"never", None)]);
    assert_eq!(root1, root2);
    assert_eq!(root1, root3);
    assert_eq!(storage.snapshot(3).unwrap().get(b"a").unwrap(), v(b"1"));
    assert!(storage
        .latest_snapshot()
        .prefix_raw(b"n", None, 10)
        .unwrap()
        .is_empty());
}

#[test]
fn deleting_every_key_gives_back_the_empty_root() {
    let (_dir, storage) = open();
    let empty = storage.latest_snapshot().root_hash();
    commit(&storage, 1, &[(b"a", Some(b"1")), (b"b", Some(b"2"))]);
    let root = commit(&storage, 2, &[(b"a", None), (b"b", None)]);
    assert_eq!(root, empty);
    assert!(matches!(
        storage.latest_snapshot().get_with_proof(b"a"),
        Err(StoreError::EmptyTree)
    ));
    let root = commit(&storage, 3, &[(b"c", Some(b"3"))]);
    assert_ne!(root, empty);
}

#[test]
fn the_first_commit_may_be_at_any_height_and_heights_may_skip() {
    let (_dir, storage) = open();
    let a = commit(&storage, 7, &[(b"a", Some(b"1"))]);
    let b = commit(&storage, 9, &[(b"b", Some(b"2"))]);
    assert_eq!(storage.latest_version(), Some(9));
    assert_eq!(storage.root_hash(7).unwrap(), a);
    assert_eq!(storage.root_hash(9).unwrap(), b);
    assert!(matches!(
        storage.snapshot(8),
        Err(StoreError::UnknownVersion(8))
    ));
    assert_eq!(storage.snapshot(9).unwrap().get(b"a").unwrap(), v(b"1"));

    // The same data committed at consecutive heights has the same root.
    let (_d2, other) = open();
    commit(&other, 1, &[(b"a", Some(b"1"))]);
    assert_eq!(commit(&other, 2, &[(b"b", Some(b"2"))]), b);
    // A tree built at height 0 too.
    let (_d3, zero) = open();
    assert_eq!(commit(&zero, 0, &[(b"a", Some(b"1"))]), a);
}

#[test]
fn versions_must_increase() {
    let (_dir, storage) = open();
    commit(&storage, 5, &[(b"a", Some(b"1"))]);
    assert!(matches!(
        storage.prepare(5, &Changes::new()),
        Err(StoreError::VersionNotAfterLatest {
            version: 5,
            latest: 5
        })
    ));
    assert!(storage.prepare(4, &Changes::new()).is_err());
    assert!(matches!(
        storage.prepare(u64::MAX, &Changes::new()),
        Err(StoreError::ReservedVersion(_))
    ));
}

#[test]
fn prepare_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Storage::open(dir.path()).unwrap();
        commit(&storage, 1, &[(b"a", Some(b"1"))]);
        let prepared = storage
            .prepare(2, &changes(&[(b"a", Some(b"2")), (b"b", Some(b"3"))]))
            .unwrap();
        assert_eq!(prepared.version, 2);
        assert_eq!(storage.latest_version(), Some(1));
        assert_eq!(storage.latest_snapshot().get(b"b").unwrap(), None);
        drop(prepared);
    }
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.latest_version(), Some(1));
    let snap = storage.latest_snapshot();
    assert_eq!(snap.get(b"a").unwrap(), v(b"1"));
    assert_eq!(snap.get(b"b").unwrap(), None);
    assert_eq!(
        keys(snap.prefix_raw(b"", None, 10).unwrap()),
        vec![b"a".to_vec()]
    );
    assert!(matches!(
        storage.snapshot(2),
        Err(StoreError::UnknownVersion(2))
    ));
}

#[test]
fn committing_a_stale_prepared_commit_fails() {
    let (_dir, storage) = open();
    let first = storage.prepare(1, &changes(&[(b"a", Some(b"1"))])).unwrap();
    let rival = storage
        .prepare(1, &changes(&[(b"a", Some(b"other"))]))
        .unwrap();
    let later = storage.prepare(2, &changes(&[(b"b", Some(b"2"))])).unwrap();
    storage.commit(first).unwrap();
    assert!(matches!(
        storage.commit(rival),
        Err(StoreError::StaleCommit {
            base: None,
            latest: Some(1)
        })
    ));
    assert!(matches!(
        storage.commit(later),
        Err(StoreError::StaleCommit { .. })
    ));
    assert_eq!(storage.latest_snapshot().get(b"a").unwrap(), v(b"1"));
    assert_eq!(storage.latest_snapshot().get(b"b").unwrap(), None);
}

#[test]
fn a_prepared_commit_only_applies_to_the_storage_that_made_it() {
    let (_d1, one) = open();
    let (_d2, two) = open();
    let prepared = one.prepare(1, &changes(&[(b"a", Some(b"1"))])).unwrap();
    assert!(matches!(
        two.commit(prepared),
        Err(StoreError::ForeignCommit)
    ));
    assert_eq!(two.latest_version(), None);
}

#[test]
fn a_block_of_three_thousand_keys_prepares_and_commits_in_one_go() {
    let (_dir, storage) = open();
    let key = |id: u64| format!("bank/balance/{id:012}").into_bytes();
    let genesis: Changes = (0..20_000).map(|id| (key(id), Some(vec![0; 8]))).collect();
    let start = Instant::now();
    storage
        .commit(storage.prepare(1, &genesis).unwrap())
        .unwrap();
    println!("genesis of 20000 keys: {:?}", start.elapsed());

    for height in 2..=4u64 {
        // 1,500 updates, 1,200 new keys and 300 deletions.
        let value = Some(height.to_be_bytes().to_vec());
        let mut changes = Changes::new();
        for i in 0..1500 {
            changes.insert(key((height - 2) * 1500 + i), value.clone());
        }
        for i in 0..1200 {
            changes.insert(key(100_000 * height + i), value.clone());
        }
        for i in 0..300 {
            changes.insert(key(10_000 + (height - 2) * 300 + i), None);
        }
        let start = Instant::now();
        let prepared = storage.prepare(height, &changes).unwrap();
        let prepared_in = start.elapsed();
        storage.commit(prepared).unwrap();
        println!(
            "block {height} (3000 keys): prepare {prepared_in:?}, prepare+commit {:?}",
            start.elapsed()
        );
    }
    let snap = storage.latest_snapshot();
    assert_eq!(
        snap.get(&key(4000)).unwrap(),
        Some(4u64.to_be_bytes().to_vec())
    );
    assert_eq!(snap.get(&key(10_000)).unwrap(), None);
    assert_eq!(
        snap.get(&key(400_000)).unwrap(),
        Some(4u64.to_be_bytes().to_vec())
    );
    assert_eq!(
        snap.prefix_raw(b"bank/balance/", None, 100_000)
            .unwrap()
            .len(),
        20_000 + 3 * 1200 - 3 * 300
    );
}

#[test]
fn pruning_keeps_later_versions_whole_and_refuses_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Storage::open(dir.path()).unwrap();
        commit(&storage, 1, &[(b"a", Some(b"1")), (b"b", Some(b"1"))]);
        commit(&storage, 2, &[(b"a", Some(b"2")), (b"c", Some(b"2"))]);
        commit(&storage, 3, &[(b"b", None)]);
        commit(&storage, 4, &[(b"c", Some(b"4"))]);
        let held = storage.snapshot(2).unwrap();
        let root3 = storage.root_hash(3).unwrap();

        storage.prune(3).unwrap();
        assert!(matches!(
            held.get(b"a"),
            Err(StoreError::Pruned {
                version: 2,
                earliest: 3
            })
        ));
        assert!(matches!(
            storage.snapshot(1),
            Err(StoreError::Pruned { .. })
        ));
        assert!(matches!(
            storage.root_hash(2),
            Err(StoreError::Pruned { .. })
        ));
        let s3 = storage.snapshot(3).unwrap();
        assert_eq!(s3.root_hash(), root3);
        assert_eq!(
            s3.prefix_raw(b"", None, 10).unwrap(),
            vec![
                (b"a".to_vec(), b"2".to_vec()),
                (b"c".to_vec(), b"2".to_vec())
            ]
        );
        let (value, proof) = s3.get_with_proof(b"a").unwrap();
        assert_eq!(value, v(b"2"));
        assert!(verify_membership(&root3, &proof, b"a", b"2"));
        // Pruning backwards or past the latest version is harmless.
        storage.prune(1).unwrap();
        storage.prune(100).unwrap();
        assert_eq!(storage.latest_snapshot().get(b"c").unwrap(), v(b"4"));
    }
    let storage = Storage::open(dir.path()).unwrap();
    assert!(matches!(
        storage.snapshot(3),
        Err(StoreError::Pruned { earliest: 4, .. })
    ));
    assert_eq!(storage.latest_snapshot().get(b"a").unwrap(), v(b"2"));
    commit(&storage, 5, &[(b"d", Some(b"5"))]);
    assert_eq!(storage.snapshot(4).unwrap().get(b"d").unwrap(), None);
}

/// A model of the store: every version's full key-value map.
type Model = BTreeMap<u64, BTreeMap<Vec<u8>, Vec<u8>>>;

fn model_prefix(
    state: &BTreeMap<Vec<u8>, Vec<u8>>,
    prefix: &[u8],
    start_after: Option<&[u8]>,
    limit: usize,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    state
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .filter(|(k, _)| start_after.is_none_or(|after| k.as_slice() > after))
        .take(limit)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

mod model {
    use proptest::prelude::*;

    use super::*;

    fn key() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(b'a'), Just(b'b'), Just(0xff)],
            0..4,
        )
    }

    fn block() -> impl Strategy<Value = Changes> {
        proptest::collection::btree_map(
            key(),
            proptest::option::weighted(0.7, proptest::collection::vec(any::<u8>(), 0..3)),
            0..12,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn reads_at_every_retained_version_match_a_btreemap_model(
            first in 0u64..3,
            blocks in proptest::collection::vec((1u64..3, block()), 1..7),
            probes in proptest::collection::vec((key(), proptest::option::of(key()), 0usize..6), 1..8),
            prune_at in any::<proptest::sample::Index>(),
        ) {
            let (_dir, storage) = open();
            let mut model = Model::new();
            let mut state = BTreeMap::new();
            // jmt's own in-memory store, updated one key at a time, is the
            // reference for the roots.
            let mock = jmt::mock::MockTreeStore::default();
            let mut roots = BTreeMap::new();
            let mut version = first;
            for (i, (gap, changes)) in blocks.iter().enumerate() {
                let prepared = storage.prepare(version, changes).unwrap();
                let (mock_root, mock_batch) = jmt::Sha256Jmt::new(&mock)
                    .put_value_set(
                        changes.iter().map(|(k, v)| (jmt::KeyHash::with::<sha2::Sha256>(k), v.clone())),
                        i as u64,
                    )
                    .unwrap();
                mock.write_tree_update_batch(mock_batch).unwrap();
                prop_assert_eq!(prepared.root_hash, mock_root.0);
                roots.insert(version, mock_root.0);
                storage.commit(prepared).unwrap();
                for (k, v) in changes {
                    match v {
                        Some(v) => { state.insert(k.clone(), v.clone()); }
                        None => { state.remove(k); }
                    }
                }
                model.insert(version, state.clone());
                version += gap;
            }

            // Prune somewhere in the middle; later versions must not notice.
            let versions: Vec<u64> = model.keys().copied().collect();
            let retain_from = versions[prune_at.index(versions.len())];
            let held = storage.snapshot(versions[0]).unwrap();
            storage.prune(retain_from).unwrap();
            if versions[0] < retain_from {
                let pruned = matches!(held.get(b"a"), Err(StoreError::Pruned { .. }));
                prop_assert!(pruned);
                let pruned = matches!(storage.snapshot(versions[0]), Err(StoreError::Pruned { .. }));
                prop_assert!(pruned);
            }

            for (version, expected) in model.range(retain_from..) {
                let snap = storage.snapshot(*version).unwrap();
                prop_assert_eq!(storage.root_hash(*version).unwrap(), roots[version]);
                let all: Vec<_> = expected.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                prop_assert_eq!(snap.prefix_raw(b"", None, usize::MAX).unwrap(), all);
                for (probe, _, _) in &probes {
                    prop_assert_eq!(snap.get_raw(probe).unwrap(), expected.get(probe).cloned());
                }
                for (prefix, after, limit) in &probes {
                    prop_assert_eq!(
                        snap.prefix_raw(prefix, after.as_deref(), *limit).unwrap(),
                        model_prefix(expected, prefix, after.as_deref(), *limit)
                    );
                }
                // Every present key proves its value against the version's root.
                if let Some((k, val)) = expected.iter().next() {
                    let (got, proof) = snap.get_with_proof(k).unwrap();
                    prop_assert_eq!(got.as_ref(), Some(val));
                    // ICS-23 refuses empty keys and empty values outright.
                    if !k.is_empty() && !val.is_empty() {
                        prop_assert!(verify_membership(&snap.root_hash(), &proof, k, val));
                    }
                }
            }
        }
    }
}

#[test]
fn reads_answer_what_each_version_holds_as_the_read_cache_fills_and_moves_on() {
    let (_dir, storage) = open();
    // A model of every version: key -> value.
    let mut models: Vec<BTreeMap<Vec<u8>, Vec<u8>>> = Vec::new();
    let mut model = BTreeMap::new();
    let mut held: Vec<(u64, Snapshot)> = Vec::new();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        seed >> 33
    };
    for version in 1..=30u64 {
        let mut changes = Changes::new();
        for _ in 0..(next() % 12) {
            let key = vec![b'k', (next() % 20) as u8];
            if next() % 4 == 0 {
                changes.insert(key.clone(), None);
                model.remove(&key);
            } else {
                let value = format!("{version}-{}", next() % 100).into_bytes();
                changes.insert(key.clone(), Some(value.clone()));
                model.insert(key, value);
            }
        }
        let prepared = storage.prepare(version, &changes).unwrap();
        // A read of the latest version before the commit lands must not
        // leave its answer in the cache for the new version.
        let before = storage.latest_snapshot();
        let probe = before.get(&[b'k', 3]).unwrap();
        storage.commit(prepared).unwrap();
        if let Some(prev) = before.version() {
            let want = models[(prev - 1) as usize].get(&[b'k', 3][..]).cloned();
            assert_eq!(probe, want);
        }
        models.push(model.clone());
        held.push((version, storage.latest_snapshot()));
        // Every key, twice (a miss then a hit), at the latest version and
        // at each older snapshot still held.
        for (at, snap) in &held {
            let want = &models[(*at - 1) as usize];
            for k in 0..20u8 {
                let key = [b'k', k];
                for _ in 0..2 {
                    assert_eq!(
                        snap.get(&key).unwrap(),
                        want.get(&key[..]).cloned(),
                        "key {k} at version {at} read after version {version}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_store_reopened_before_every_block_computes_the_roots_of_one_kept_open() {
    // The reopened store has empty caches each time; the other's are warm.
    let (_kept_dir, kept) = open();
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 11u64;
    let mut next = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        seed >> 33
    };
    for version in 1..=15u64 {
        let mut changes = Changes::new();
        for _ in 0..300 {
            let key = format!("key/{}", next() % 2_000).into_bytes();
            let value = (next() % 5 != 0).then(|| format!("{version}").into_bytes());
            changes.insert(key, value);
        }
        let warm = kept.prepare(version, &changes).unwrap();
        let cold_store = Storage::open(dir.path()).unwrap();
        let cold = cold_store.prepare(version, &changes).unwrap();
        assert_eq!(warm.root_hash, cold.root_hash, "version {version}");
        kept.commit(warm).unwrap();
        cold_store.commit(cold).unwrap();
    }
}

#[test]
fn proofs_still_verify_for_keys_rewritten_after_a_cached_read() {
    // A key read (so cached with a value) and then rewritten does not get
    // its preimage written again; proofs that need it must still work.
    let (_dir, storage) = open();
    let items: Vec<(&[u8], Option<&[u8]>)> = vec![
        (b"key/1", Some(b"a")),
        (b"key/2", Some(b"b")),
        (b"key/3", Some(b"c")),
    ];
    commit(&storage, 1, &items);
    for version in 2..=4u64 {
        let snap = storage.latest_snapshot();
        for k in [&b"key/1"[..], b"key/2", b"key/3"] {
            assert!(snap.get(k).unwrap().is_some());
        }
        let value = format!("v{version}").into_bytes();
        commit(
            &storage,
            version,
            &[(b"key/1", Some(&value)), (b"key/3", Some(&value))],
        );
    }
    let snap = storage.latest_snapshot();
    let root = snap.root_hash();
    let (value, proof) = snap.get_with_proof(b"key/3").unwrap();
    assert_eq!(value, v(b"v4"));
    assert!(verify_membership(&root, &proof, b"key/3", b"v4"));
    for absent in [&b"key/0"[..], b"key/25", b"key/4"] {
        let (value, proof) = snap.get_with_proof(absent).unwrap();
        assert_eq!(value, None);
        assert!(verify_non_membership(&root, &proof, absent), "{absent:?}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_app_hashes_of_a_fixed_history_never_change() {
    // Pinned when the IBC substore was added: a store that never writes
    // under `ibc/` must keep the roots it had before.
    let (_dir, storage) = open();
    let mut roots = Vec::new();
    let mut seed = 5u64;
    let mut next = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        seed >> 33
    };
    for version in [3u64, 4, 5, 7, 8] {
        let mut changes = Changes::new();
        for _ in 0..(next() % 40) {
            // Keys that sort around the substore's prefix and its root key.
            let key = match next() % 4 {
                0 => format!("bank/{}", next() % 30),
                1 => format!("ibb{}", next() % 5),
                2 => format!("ibc{}", next() % 5),
                _ => format!("x/{}", next() % 30),
            };
            let value = (next() % 5 != 0).then(|| format!("{version}/{}", next()).into_bytes());
            changes.insert(key.into_bytes(), value);
        }
        let prepared = storage.prepare(version, &changes).unwrap();
        roots.push(hex(&prepared.root_hash));
        storage.commit(prepared).unwrap();
    }
    assert_eq!(
        roots,
        [
            "a30cbcc1152ffd14afa28330835e98d9b0195977b0964b5abd2b2f3a8112426f",
            "1022b761c686230586cede0bc7a39fc457d0877e4613fd6b7b47b14d288bdef5",
            "cecdbb782d9cbdb83dd81abd3c722557d52b1873ee2919441c8122f4d7f9e67f",
            "b5f937664195d2f7bdf7982d1ad65d5b9ce0d17a726d11cc28513ad18d4abccf",
            "b987a0b98bb69547b4df2ab48a2138c27fcb5dc398c763832701b710beb456ae",
        ]
    );
}
