//! Checking ICS-23 proofs made by [`Snapshot::get_with_proof`](crate::Snapshot::get_with_proof)
//! and [`Snapshot::get_with_ibc_proof`](crate::Snapshot::get_with_ibc_proof).
//!
//! Chained proofs are checked as ibc-go's `MerkleProof.VerifyMembership` and
//! `VerifyNonMembership` (modules/core/23-commitment) check them, so what
//! passes here passes on a counterparty's 07-tendermint client.

use ics23::{commitment_proof::Proof, CommitmentProof, HostFunctionsManager, ProofSpec};

use crate::ibc::IBC_ROOT_KEY;

/// The ICS-23 proof spec of the SHA-256 Jellyfish Merkle tree.
pub fn proof_spec() -> ProofSpec {
    jmt::ics23_spec()
}

/// The proof specs of an IBC path, in ibc-go's order: the substore's, then
/// the main tree's (both SHA-256 Jellyfish Merkle trees).
pub fn ibc_proof_specs() -> Vec<ProofSpec> {
    vec![proof_spec(), proof_spec()]
}

/// Whether `proof` shows `key` holding `value` in the tree whose root is `root`.
pub fn verify_membership(
    root: &[u8; 32],
    proof: &CommitmentProof,
    key: &[u8],
    value: &[u8],
) -> bool {
    ics23::verify_membership::<HostFunctionsManager>(
        proof,
        &proof_spec(),
        &root.to_vec(),
        key,
        value,
    )
}

/// Whether `proof` shows `key` absent from the tree whose root is `root`.
pub fn verify_non_membership(root: &[u8; 32], proof: &CommitmentProof, key: &[u8]) -> bool {
    ics23::verify_non_membership::<HostFunctionsManager>(proof, &proof_spec(), &root.to_vec(), key)
}

/// Whether `proofs` (from [`Snapshot::get_with_ibc_proof`](crate::Snapshot::get_with_ibc_proof))
/// show the IBC path `path` holding `value` under the app hash `root`.
pub fn verify_ibc_membership(
    root: &[u8; 32],
    proofs: &[CommitmentProof],
    path: &[u8],
    value: &[u8],
) -> bool {
    verify_chained_membership(
        &ibc_proof_specs(),
        root,
        proofs,
        &[IBC_ROOT_KEY, path],
        value,
    )
}

/// Whether `proofs` (from [`Snapshot::get_with_ibc_proof`](crate::Snapshot::get_with_ibc_proof))
/// show the IBC path `path` absent under the app hash `root`.
pub fn verify_ibc_non_membership(root: &[u8; 32], proofs: &[CommitmentProof], path: &[u8]) -> bool {
    verify_chained_non_membership(&ibc_proof_specs(), root, proofs, &[IBC_ROOT_KEY, path])
}

/// ibc-go's `MerkleProof.VerifyMembership`: whether `proofs` show the last
/// key of `path` holding `value` in the innermost tree, and each tree's root
/// held under the key before it in the tree that follows, up to `root`.
///
/// `path` runs outermost first (`[b"ibc", ibc_path]`), `proofs` and `specs`
/// innermost first; proof `i` is checked with spec `i` and key
/// `path[path.len() - 1 - i]`.
pub fn verify_chained_membership(
    specs: &[ProofSpec],
    root: &[u8],
    proofs: &[CommitmentProof],
    path: &[&[u8]],
    value: &[u8],
) -> bool {
    valid_arguments(specs, root, proofs, path)
        && !value.is_empty()
        && chain_is_valid(specs, root, proofs, path, value.to_vec(), 0)
}

/// ibc-go's `MerkleProof.VerifyNonMembership`: whether the first of `proofs`
/// shows the last key of `path` absent from the innermost tree, and the rest
/// chain that tree's root up to `root` as in [`verify_chained_membership`].
pub fn verify_chained_non_membership(
    specs: &[ProofSpec],
    root: &[u8],
    proofs: &[CommitmentProof],
    path: &[&[u8]],
) -> bool {
    if !valid_arguments(specs, root, proofs, path) {
        return false;
    }
    let (Some(Proof::Nonexist(absent)), Some(spec), Some(key)) =
        (&proofs[0].proof, specs.first(), path.last())
    else {
        return false;
    };
    // The root the neighbours' proofs reach, left first, as ibc-go's
    // `NonExistenceProof.Calculate` takes it.
    let Some(neighbour) = absent.left.as_ref().or(absent.right.as_ref()) else {
        return false;
    };
    let Ok(subroot) = ics23::calculate_existence_root::<HostFunctionsManager>(neighbour) else {
        return false;
    };
    ics23::verify_non_membership::<HostFunctionsManager>(&proofs[0], spec, &subroot, key)
        && chain_is_valid(specs, root, proofs, path, subroot, 1)
}

/// ibc-go's `validateVerificationArgs` and its path-length check: a
/// non-empty proof and root, and as many specs and keys as proofs.
fn valid_arguments(
    specs: &[ProofSpec],
    root: &[u8],
    proofs: &[CommitmentProof],
    path: &[&[u8]],
) -> bool {
    !proofs.is_empty()
        && !root.is_empty()
        && specs.len() == proofs.len()
        && path.len() == specs.len()
}

/// ibc-go's `verifyChainedMembershipProof`: from proof `start` on, each is
/// an existence proof of `value` (then of the root the proof before reached)
/// under its key, and the last reaches `root`.
fn chain_is_valid(
    specs: &[ProofSpec],
    root: &[u8],
    proofs: &[CommitmentProof],
    path: &[&[u8]],
    mut value: Vec<u8>,
    start: usize,
) -> bool {
    for (i, (proof, spec)) in proofs.iter().zip(specs).enumerate().skip(start) {
        let Some(Proof::Exist(exist)) = &proof.proof else {
            return false;
        };
        let Ok(subroot) = ics23::calculate_existence_root::<HostFunctionsManager>(exist) else {
            return false;
        };
        let Some(key) = path.len().checked_sub(i + 1).and_then(|k| path.get(k)) else {
            return false;
        };
        if !ics23::verify_membership::<HostFunctionsManager>(proof, spec, &subroot, key, &value) {
            return false;
        }
        value = subroot;
    }
    value == root
}
