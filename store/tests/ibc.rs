//! The IBC substore on a temporary RocksDB: where its keys go, how its root
//! is committed, and its two-layer ICS-23 proofs.

use std::collections::BTreeMap;

use deai_store::{
    ibc_proof_specs, proof_spec, verify_chained_membership, verify_chained_non_membership,
    verify_ibc_membership, verify_ibc_non_membership, verify_membership, Entries, Storage,
    StoreError, IBC_PREFIX, IBC_ROOT_KEY,
};
use deai_types::{state::Changes, StateRead};
use ics23::{commitment_proof::Proof, CommitmentProof, HostFunctionsManager};
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

fn v(bytes: &[u8]) -> Option<Vec<u8>> {
    Some(bytes.to_vec())
}

/// The root of a fresh store given `entries` in one prepare.
fn root_of(entries: &Entries, version: u64) -> [u8; 32] {
    let (_dir, fresh) = open();
    let all: Changes = entries
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    fresh.prepare(version, &all).expect("prepare").root_hash
}

/// Every live entry of `storage` at `version`.
fn entries_at(storage: &Storage, version: u64) -> Entries {
    storage
        .snapshot(version)
        .expect("a retained version")
        .prefix(b"", None, usize::MAX)
        .expect("scan")
}

/// The substore's root as committed in the main tree.
fn substore_root(storage: &Storage, version: u64) -> [u8; 32] {
    storage
        .snapshot(version)
        .expect("a retained version")
        .get(IBC_ROOT_KEY)
        .expect("read")
        .expect("the substore holds a key")
        .try_into()
        .expect("a root is 32 bytes")
}

#[test]
fn ibc_paths_get_two_layer_proofs_that_the_ics23_crate_verifies_against_the_app_hash() {
    let (_dir, storage) = open();
    let root = commit(
        &storage,
        1,
        &[
            (b"bank/a", Some(b"1")),
            (b"ibc/clients/07-tendermint-0/clientState", Some(b"state")),
            (b"ibc/connections/connection-0", Some(b"open")),
            (b"zz", Some(b"z")),
        ],
    );
    let snap = storage.latest_snapshot();
    let sub_root = substore_root(&storage, 1);
    let specs = ibc_proof_specs();
    assert_eq!(specs, vec![proof_spec(), proof_spec()]);
    let path: &[u8] = b"clients/07-tendermint-0/clientState";

    let (value, proofs) = snap.get_with_ibc_proof(path).unwrap();
    assert_eq!(value, v(b"state"));
    // Layer by layer, with the ics23 crate alone.
    let verify = ics23::verify_membership::<HostFunctionsManager>;
    assert!(verify(
        &proofs[0],
        &specs[0],
        &sub_root.to_vec(),
        path,
        b"state"
    ));
    assert!(verify(
        &proofs[1],
        &specs[1],
        &root.to_vec(),
        IBC_ROOT_KEY,
        &sub_root
    ));
    // As ibc-go's MerkleProof does.
    assert!(verify_ibc_membership(&root, &proofs, path, b"state"));
    assert!(verify_chained_membership(
        &specs,
        &root,
        &proofs,
        &[&b"ibc"[..], path],
        b"state"
    ));
    assert!(!verify_ibc_non_membership(&root, &proofs, path));

    for absent in [&b"channelEnds/ports/transfer"[..], b"a", b"zzz"] {
        let (value, proofs) = snap.get_with_ibc_proof(absent).unwrap();
        assert_eq!(value, None);
        assert!(ics23::verify_non_membership::<HostFunctionsManager>(
            &proofs[0],
            &specs[0],
            &sub_root.to_vec(),
            absent
        ));
        assert!(verify(
            &proofs[1],
            &specs[1],
            &root.to_vec(),
            IBC_ROOT_KEY,
            &sub_root
        ));
        assert!(verify_ibc_non_membership(&root, &proofs, absent));
        assert!(verify_chained_non_membership(
            &specs,
            &root,
            &proofs,
            &[&b"ibc"[..], absent]
        ));
        assert!(!verify_ibc_membership(&root, &proofs, absent, b"state"));
    }
}

#[test]
fn tampered_values_keys_roots_and_proofs_fail_to_verify() {
    let (_dir, storage) = open();
    let root = commit(
        &storage,
        1,
        &[
            (
                b"ibc/commitments/ports/transfer/channels/channel-0/sequences/1",
                Some(b"c1"),
            ),
            (
                b"ibc/commitments/ports/transfer/channels/channel-0/sequences/2",
                Some(b"c2"),
            ),
            (b"main", Some(b"m")),
        ],
    );
    let path: &[u8] = b"commitments/ports/transfer/channels/channel-0/sequences/1";
    let snap = storage.latest_snapshot();
    let (_, proofs) = snap.get_with_ibc_proof(path).unwrap();
    assert!(verify_ibc_membership(&root, &proofs, path, b"c1"));

    assert!(!verify_ibc_membership(&root, &proofs, path, b"c2"), "value");
    assert!(
        !verify_ibc_membership(&root, &proofs, path, b""),
        "empty value"
    );
    let other: &[u8] = b"commitments/ports/transfer/channels/channel-0/sequences/2";
    assert!(!verify_ibc_membership(&root, &proofs, other, b"c1"), "key");
    let mut wrong_root = root;
    wrong_root[0] ^= 1;
    assert!(
        !verify_ibc_membership(&wrong_root, &proofs, path, b"c1"),
        "root"
    );
    // The prefix is part of the path.
    let specs = ibc_proof_specs();
    assert!(!verify_chained_membership(
        &specs,
        &root,
        &proofs,
        &[&b"ibd"[..], path],
        b"c1"
    ));
    // The wrong number of proofs, specs or keys.
    assert!(!verify_ibc_membership(&root, &proofs[..1], path, b"c1"));
    assert!(!verify_chained_membership(
        &specs[..1],
        &root,
        &proofs[..1],
        &[path],
        b"c1"
    ));
    assert!(!verify_chained_membership(
        &specs,
        &root,
        &proofs,
        &[path],
        b"c1"
    ));
    // Swapped layers.
    let swapped = [proofs[1].clone(), proofs[0].clone()];
    assert!(!verify_ibc_membership(&root, &swapped, path, b"c1"));
    // A substore proof that claims another value in its leaf.
    let mut forged = proofs.clone();
    if let Some(Proof::Exist(exist)) = &mut forged[0].proof {
        exist.value = b"c2".to_vec();
    }
    assert!(!verify_ibc_membership(&root, &forged, path, b"c2"));
    // The main tree's proof of another key in place of `ibc`.
    let (_, main_proof) = snap.get_with_proof(b"main").unwrap();
    let mut forged = proofs.clone();
    forged[1] = main_proof;
    assert!(!verify_ibc_membership(&root, &forged, path, b"c1"));

    // Non-membership: an absent path's proofs do not show a present one
    // absent, nor verify against another root.
    let absent: &[u8] = b"commitments/ports/transfer/channels/channel-0/sequences/3";
    let (_, proofs) = snap.get_with_ibc_proof(absent).unwrap();
    assert!(verify_ibc_non_membership(&root, &proofs, absent));
    assert!(!verify_ibc_non_membership(&root, &proofs, path));
    assert!(!verify_ibc_non_membership(&wrong_root, &proofs, absent));
    assert!(!verify_ibc_non_membership(&root, &proofs[..1], absent));
    let (_, present) = snap.get_with_ibc_proof(path).unwrap();
    assert!(!verify_ibc_non_membership(&root, &present, path));
}

#[test]
fn main_tree_keys_keep_their_proofs_and_ibc_keys_are_refused_there() {
    let (_dir, storage) = open();
    let root = commit(
        &storage,
        1,
        &[
            (b"bank/a", Some(b"1")),
            (b"ibc/ports/transfer", Some(b"bound")),
            (b"ibcx", Some(b"main tree")),
        ],
    );
    let snap = storage.latest_snapshot();
    let (value, proof) = snap.get_with_proof(b"bank/a").unwrap();
    assert_eq!(value, v(b"1"));
    assert!(verify_membership(&root, &proof, b"bank/a", b"1"));
    let (value, proof) = snap.get_with_proof(b"ibcx").unwrap();
    assert_eq!(value, v(b"main tree"));
    assert!(verify_membership(&root, &proof, b"ibcx", b"main tree"));
    // `ibc` is a main-tree key holding the substore's root.
    let (value, proof) = snap.get_with_proof(IBC_ROOT_KEY).unwrap();
    let sub_root = substore_root(&storage, 1);
    assert_eq!(value, Some(sub_root.to_vec()));
    assert!(verify_membership(&root, &proof, IBC_ROOT_KEY, &sub_root));
    assert!(matches!(
        snap.get_with_proof(b"ibc/ports/transfer"),
        Err(StoreError::InIbcSubstore)
    ));
}

#[test]
fn ibc_keys_read_by_their_raw_keys_and_scan_with_the_rest() {
    let (_dir, storage) = open();
    commit(
        &storage,
        1,
        &[
            (b"ibb", Some(b"b")),
            (b"ibc/a", Some(b"1")),
            (b"ibc/b\0", Some(b"2")),
            (b"ibc0", Some(b"0")),
        ],
    );
    let snap = storage.latest_snapshot();
    assert_eq!(snap.get(b"ibc/a").unwrap(), v(b"1"));
    assert_eq!(snap.get_raw(b"ibc/b\0").unwrap(), v(b"2"));
    let sub_root = substore_root(&storage, 1);
    let keys: Vec<Vec<u8>> = snap
        .prefix(b"ib", None, 10)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        vec![
            b"ibb".to_vec(),
            b"ibc".to_vec(),
            b"ibc/a".to_vec(),
            b"ibc/b\0".to_vec(),
            b"ibc0".to_vec()
        ]
    );
    assert_eq!(
        snap.prefix_raw(IBC_PREFIX, None, 10).unwrap(),
        vec![
            (b"ibc/a".to_vec(), b"1".to_vec()),
            (b"ibc/b\0".to_vec(), b"2".to_vec())
        ]
    );
    assert_eq!(
        snap.prefix(b"ibc", None, 1).unwrap(),
        vec![(b"ibc".to_vec(), sub_root.to_vec())]
    );
}

#[test]
fn a_store_that_never_writes_under_ibc_has_no_ibc_root_key() {
    let (_dir, storage) = open();
    let (_d2, reference) = open();
    // `ibcx` and `ibc` itself are not under the prefix.
    let items: &[(&[u8], Option<&[u8]>)] = &[(b"a", Some(b"1")), (b"ibcx", Some(b"2"))];
    assert_eq!(commit(&storage, 1, items), commit(&reference, 1, items));
    assert_eq!(storage.latest_snapshot().get(IBC_ROOT_KEY).unwrap(), None);
    assert!(matches!(
        storage.latest_snapshot().get_with_ibc_proof(b"clients"),
        Err(StoreError::EmptyTree)
    ));
}

#[test]
fn a_write_to_the_ibc_root_key_is_ignored() {
    let (_dir, storage) = open();
    let (_d2, reference) = open();
    // Before the substore holds a key: the write leaves no trace.
    let root = commit(
        &storage,
        1,
        &[(b"a", Some(b"1")), (IBC_ROOT_KEY, Some(b"forged"))],
    );
    assert_eq!(root, commit(&reference, 1, &[(b"a", Some(b"1"))]));
    assert_eq!(storage.latest_snapshot().get(IBC_ROOT_KEY).unwrap(), None);

    // Once it does: the key holds the substore's root whatever is written.
    let items: &[(&[u8], Option<&[u8]>)] = &[(b"ibc/p", Some(b"v"))];
    let root = commit(&storage, 2, items);
    assert_eq!(root, commit(&reference, 2, items));
    let sub_root = substore_root(&storage, 2);
    let root = commit(&storage, 3, &[(IBC_ROOT_KEY, Some(&[7; 32]))]);
    assert_eq!(root, commit(&reference, 3, &[]));
    assert_eq!(substore_root(&storage, 3), sub_root);
    let root = commit(&storage, 4, &[(IBC_ROOT_KEY, None)]);
    assert_eq!(root, commit(&reference, 4, &[]));
    assert_eq!(substore_root(&storage, 4), sub_root);
    let snap = storage.latest_snapshot();
    let (value, proofs) = snap.get_with_ibc_proof(b"p").unwrap();
    assert_eq!(value, v(b"v"));
    assert!(verify_ibc_membership(
        &snap.root_hash(),
        &proofs,
        b"p",
        b"v"
    ));
}

#[test]
fn the_ibc_root_key_follows_the_substore_and_goes_when_it_empties() {
    let (_dir, storage) = open();
    let before = commit(&storage, 1, &[(b"a", Some(b"1"))]);
    commit(
        &storage,
        2,
        &[(b"ibc/p", Some(b"1")), (b"ibc/q", Some(b"2"))],
    );
    let first = substore_root(&storage, 2);
    commit(&storage, 3, &[(b"ibc/p", Some(b"changed"))]);
    let second = substore_root(&storage, 3);
    assert_ne!(first, second);
    // Empty blocks and blocks without IBC writes keep it.
    commit(&storage, 4, &[]);
    commit(&storage, 5, &[(b"b", Some(b"2"))]);
    assert_eq!(substore_root(&storage, 5), second);
    // Emptying the substore removes the key: the main tree is as if the
    // substore had never existed.
    let emptied = commit(&storage, 6, &[(b"ibc/p", None), (b"ibc/q", None)]);
    assert_eq!(storage.latest_snapshot().get(IBC_ROOT_KEY).unwrap(), None);
    let (_d2, reference) = open();
    commit(&reference, 1, &[(b"a", Some(b"1"))]);
    assert_eq!(commit(&reference, 2, &[(b"b", Some(b"2"))]), emptied);
    assert_ne!(before, emptied);
    assert!(matches!(
        storage.latest_snapshot().get_with_ibc_proof(b"p"),
        Err(StoreError::EmptyTree)
    ));
    // It comes back with the next key, in the same block as deletions.
    commit(&storage, 7, &[(b"ibc/r", Some(b"3")), (b"ibc/never", None)]);
    let snap = storage.latest_snapshot();
    let (value, proofs) = snap.get_with_ibc_proof(b"r").unwrap();
    assert_eq!(value, v(b"3"));
    assert!(verify_ibc_membership(
        &snap.root_hash(),
        &proofs,
        b"r",
        b"3"
    ));
    // Deleting absent paths on a store without a substore changes nothing.
    let (_d3, fresh) = open();
    let (_d4, plain) = open();
    assert_eq!(
        commit(&fresh, 1, &[(b"a", Some(b"1")), (b"ibc/never", None)]),
        commit(&plain, 1, &[(b"a", Some(b"1"))])
    );
    assert_eq!(fresh.latest_snapshot().get(IBC_ROOT_KEY).unwrap(), None);
}

#[test]
fn the_same_key_in_both_trees_proves_in_each() {
    // `p` in the main tree and `ibc/p` in the substore hash alike in their
    // trees, and share one preimage record.
    let (_dir, storage) = open();
    let root = commit(
        &storage,
        1,
        &[(b"p", Some(b"main")), (b"ibc/p", Some(b"ibc"))],
    );
    let snap = storage.latest_snapshot();
    let (value, proof) = snap.get_with_proof(b"p").unwrap();
    assert_eq!(value, v(b"main"));
    assert!(verify_membership(&root, &proof, b"p", b"main"));
    let (value, proofs) = snap.get_with_ibc_proof(b"p").unwrap();
    assert_eq!(value, v(b"ibc"));
    assert!(verify_ibc_membership(&root, &proofs, b"p", b"ibc"));
    // Non-membership proofs read neighbours' values through the preimages.
    let root = commit(
        &storage,
        2,
        &[(b"q", Some(b"main q")), (b"ibc/o", Some(b"o"))],
    );
    let snap = storage.latest_snapshot();
    for absent in [&b"a"[..], b"pp", b"z"] {
        let (value, proofs) = snap.get_with_ibc_proof(absent).unwrap();
        assert_eq!(value, None);
        assert!(
            verify_ibc_non_membership(&root, &proofs, absent),
            "{absent:?}"
        );
    }
}

#[test]
fn reads_and_proofs_at_an_older_retained_version_see_that_versions_substore() {
    let (_dir, storage) = open();
    let root1 = commit(&storage, 5, &[(b"ibc/k", Some(b"one")), (b"m", Some(b"1"))]);
    let root2 = commit(
        &storage,
        7,
        &[(b"ibc/k", Some(b"two")), (b"ibc/l", Some(b"l"))],
    );
    let root3 = commit(&storage, 8, &[(b"ibc/k", None), (b"m", Some(b"3"))]);
    for (version, root, k, l) in [
        (5, root1, v(b"one"), None),
        (7, root2, v(b"two"), v(b"l")),
        (8, root3, None, v(b"l")),
    ] {
        let snap = storage.snapshot(version).unwrap();
        assert_eq!(snap.root_hash(), root);
        assert_eq!(snap.get(b"ibc/k").unwrap(), k);
        for (path, value) in [(&b"k"[..], &k), (b"l", &l)] {
            let (got, proofs) = snap.get_with_ibc_proof(path).unwrap();
            assert_eq!(&got, value, "{path:?} at {version}");
            match value {
                Some(value) => assert!(verify_ibc_membership(&root, &proofs, path, value)),
                None => assert!(verify_ibc_non_membership(&root, &proofs, path)),
            }
        }
    }
    // A version's proof does not verify against another's app hash.
    let (_, proofs) = storage
        .snapshot(5)
        .unwrap()
        .get_with_ibc_proof(b"k")
        .unwrap();
    assert!(!verify_ibc_membership(&root2, &proofs, b"k", b"one"));
}

#[test]
fn the_substore_continues_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Storage::open(dir.path()).unwrap();
        commit(&storage, 1, &[(b"ibc/a", Some(b"1"))]);
    }
    let storage = Storage::open(dir.path()).unwrap();
    let root = commit(&storage, 2, &[(b"ibc/b", Some(b"2"))]);
    let (_d2, reference) = open();
    commit(&reference, 1, &[(b"ibc/a", Some(b"1"))]);
    assert_eq!(commit(&reference, 2, &[(b"ibc/b", Some(b"2"))]), root);
    let (value, proofs) = storage.latest_snapshot().get_with_ibc_proof(b"a").unwrap();
    assert_eq!(value, v(b"1"));
    assert!(verify_ibc_membership(&root, &proofs, b"a", b"1"));
}

#[test]
fn pruning_keeps_both_trees_readable_at_retained_versions() {
    let (_dir, storage) = open();
    for version in 1..=6u64 {
        let value = version.to_be_bytes();
        commit(
            &storage,
            version,
            &[
                (b"ibc/a", Some(&value)),
                (b"m", Some(&value)),
                (b"ibc/b", (version % 2 == 0).then_some(&value[..])),
            ],
        );
    }
    commit(&storage, 7, &[]);
    storage.prune(4).unwrap();
    assert!(matches!(
        storage.snapshot(3).unwrap_err(),
        StoreError::Pruned { .. }
    ));
    for version in 4..=7u64 {
        let snap = storage.snapshot(version).unwrap();
        let root = snap.root_hash();
        let want = version.min(6).to_be_bytes();
        let (value, proofs) = snap.get_with_ibc_proof(b"a").unwrap();
        assert_eq!(value.as_deref(), Some(&want[..]));
        assert!(verify_ibc_membership(&root, &proofs, b"a", &want));
        let (value, proofs) = snap.get_with_ibc_proof(b"b").unwrap();
        if version % 2 == 0 || version == 7 {
            let want = (version.min(6)).to_be_bytes();
            assert_eq!(value.as_deref(), Some(&want[..]), "b at {version}");
            assert!(verify_ibc_membership(&root, &proofs, b"b", &want));
        } else {
            assert_eq!(value, None);
            assert!(verify_ibc_non_membership(&root, &proofs, b"b"));
        }
        assert_eq!(root_of(&entries_at(&storage, version), 1), root);
    }
    // The store keeps building both trees after a prune.
    storage.prune(u64::MAX).unwrap();
    let root = commit(&storage, 8, &[(b"ibc/c", Some(b"c"))]);
    let (_, proofs) = storage.latest_snapshot().get_with_ibc_proof(b"c").unwrap();
    assert!(verify_ibc_membership(&root, &proofs, b"c", b"c"));
}

#[test]
fn restoring_every_live_entry_into_a_fresh_store_gives_the_same_root() {
    let (_dir, storage) = open();
    commit(
        &storage,
        10,
        &[
            (b"bank/a", Some(b"1")),
            (b"ibc/clients/c0", Some(b"s")),
            (b"ibc/ports/p", Some(b"p")),
        ],
    );
    let root = commit(
        &storage,
        11,
        &[(b"ibc/ports/p", None), (b"ibc/z", Some(b"z"))],
    );
    // What state sync feeds back: every live entry, `ibc` included.
    let entries = entries_at(&storage, 11);
    assert!(entries.iter().any(|(k, _)| k == IBC_ROOT_KEY));
    let (_d2, restored) = open();
    let all: Changes = entries
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    let prepared = restored.prepare(11, &all).unwrap();
    assert_eq!(prepared.root_hash, root);
    restored.commit(prepared).unwrap();
    assert_eq!(entries_at(&restored, 11), entries);
    let snap = restored.latest_snapshot();
    let (value, proofs) = snap.get_with_ibc_proof(b"clients/c0").unwrap();
    assert_eq!(value, v(b"s"));
    assert!(verify_ibc_membership(&root, &proofs, b"clients/c0", b"s"));
    // And the restored store goes on as the original does.
    let next: &[(&[u8], Option<&[u8]>)] = &[(b"ibc/clients/c0", Some(b"s2"))];
    assert_eq!(commit(&restored, 12, next), commit(&storage, 12, next));
}

mod model {
    use proptest::prelude::*;

    use super::*;

    fn key() -> impl Strategy<Value = Vec<u8>> {
        let tail = proptest::collection::vec(
            prop_oneof![Just(0u8), Just(b'a'), Just(b'b'), Just(b'/')],
            0..3,
        );
        let head = prop_oneof![
            Just(b"ibc/".to_vec()),
            Just(b"ibc".to_vec()),
            Just(b"ib".to_vec()),
            Just(b"x".to_vec()),
        ];
        (head, tail)
            .prop_map(|(mut head, tail)| {
                head.extend(tail);
                head
            })
            // ICS-23 refuses empty keys, so an empty path can be proved
            // neither present nor, as the neighbour, another path absent.
            .prop_filter("an empty IBC path", |k| k.as_slice() != IBC_PREFIX)
    }

    fn block() -> impl Strategy<Value = Changes> {
        proptest::collection::btree_map(
            key(),
            proptest::option::weighted(0.7, proptest::collection::vec(any::<u8>(), 1..3)),
            0..10,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn any_history_of_ibc_and_other_writes_has_the_root_of_its_final_entries(
            blocks in proptest::collection::vec(block(), 1..6),
        ) {
            let (_dir, storage) = open();
            let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for (i, changes) in blocks.iter().enumerate() {
                let version = i as u64 + 1;
                let root = commit_changes(&storage, version, changes);
                for (k, v) in changes {
                    if k.as_slice() == IBC_ROOT_KEY {
                        continue;
                    }
                    match v {
                        Some(v) => { state.insert(k.clone(), v.clone()); }
                        None => { state.remove(k); }
                    }
                }
                // The model's entries: the caller's, less `ibc`.
                let model: Entries = state.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                prop_assert_eq!(root_of(&model, 1), root);
                // The store's own entries, `ibc` included, give it too.
                let live = entries_at(&storage, version);
                prop_assert_eq!(root_of(&live, version), root);
                let without_root: Entries =
                    live.into_iter().filter(|(k, _)| k.as_slice() != IBC_ROOT_KEY).collect();
                prop_assert_eq!(without_root, model);

                let snap = storage.latest_snapshot();
                let substore = state.keys().any(|k| k.starts_with(IBC_PREFIX));
                prop_assert_eq!(snap.get(IBC_ROOT_KEY).unwrap().is_some(), substore);
                if substore {
                    // ICS-23 refuses empty keys, so no empty path.
                    for probe in [&b"a"[..], b"b/", b"\0"] {
                        let (value, proofs) = snap.get_with_ibc_proof(probe).unwrap();
                        prop_assert_eq!(&value, &state.get(&[IBC_PREFIX, probe].concat()).cloned());
                        match value {
                            Some(value) => prop_assert!(verify_ibc_membership(&root, &proofs, probe, &value)),
                            None => prop_assert!(verify_ibc_non_membership(&root, &proofs, probe)),
                        }
                    }
                }
            }
        }
    }

    fn commit_changes(storage: &Storage, version: u64, changes: &Changes) -> [u8; 32] {
        let prepared = storage.prepare(version, changes).expect("prepare");
        let root = prepared.root_hash;
        storage.commit(prepared).expect("commit");
        root
    }
}

/// A sanity check of the helpers' reading of ibc-go: a one-layer path
/// verifies as the plain ICS-23 check does.
#[test]
fn a_one_layer_chain_is_a_plain_ics23_proof() {
    let (_dir, storage) = open();
    let root = commit(&storage, 1, &[(b"k", Some(b"v")), (b"l", Some(b"w"))]);
    let snap = storage.latest_snapshot();
    let (_, proof) = snap.get_with_proof(b"k").unwrap();
    let proofs: Vec<CommitmentProof> = vec![proof];
    assert!(verify_chained_membership(
        &[proof_spec()],
        &root,
        &proofs,
        &[&b"k"[..]],
        b"v"
    ));
    let (_, proof) = snap.get_with_proof(b"m").unwrap();
    let proofs = vec![proof];
    assert!(verify_chained_non_membership(
        &[proof_spec()],
        &root,
        &proofs,
        &[&b"m"[..]]
    ));
    assert!(!verify_chained_non_membership(
        &[proof_spec()],
        &[],
        &proofs,
        &[&b"m"[..]]
    ));
}
