//! IBC proofs on a temporary RocksDB.

use deai_store::{proof_spec, verify_chained_membership, verify_chained_non_membership, Storage};
use deai_types::state::Changes;
use ics23::CommitmentProof;
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
