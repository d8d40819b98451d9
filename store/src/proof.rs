//! Checking ICS-23 proofs made by [`Snapshot::get_with_proof`](crate::Snapshot::get_with_proof).

use ics23::{CommitmentProof, HostFunctionsManager, ProofSpec};

/// The ICS-23 proof spec of the SHA-256 Jellyfish Merkle tree.
pub fn proof_spec() -> ProofSpec {
    jmt::ics23_spec()
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
