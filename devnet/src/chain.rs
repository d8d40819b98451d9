//! CometBFT's block-level hashes and the validator's commit signature,
//! computed the way CometBFT v0.38 computes them (`types/block.go`,
//! `types/results.go`, `types/params.go`, `types/part_set.go`), so that
//! tendermint-rs light clients accept the blocks.

use anyhow::{anyhow, Context};
use prost::Message;
use sha2::{Digest, Sha256};
use tendermint::{
    account,
    block::{self, parts, Block, Commit, CommitSig},
    chain,
    crypto::default::Sha256 as MerkleSha256,
    merkle::simple_hash_from_byte_vectors,
    vote::{self, Vote},
    Hash, Signature, Time,
};
use tendermint_proto::{
    v0_38::{abci::ExecTxResult, types as pb},
    Protobuf,
};

/// CometBFT's block part size (`types.BlockPartSizeBytes`).
pub const BLOCK_PART_SIZE: usize = 65_536;

/// The block protocol version of CometBFT v0.38.
pub const BLOCK_PROTOCOL: u64 = 11;

fn merkle<T: AsRef<[u8]>>(leaves: &[T]) -> Hash {
    Hash::Sha256(simple_hash_from_byte_vectors::<MerkleSha256>(leaves))
}

/// `Txs.Hash()`: the Merkle root whose leaves are the SHA-256 of each tx.
pub fn data_hash(txs: &[Vec<u8>]) -> Hash {
    let leaves: Vec<[u8; 32]> = txs.iter().map(|t| Sha256::digest(t).into()).collect();
    merkle(&leaves)
}

/// The largest power of two below `n` (CometBFT's `getSplitPoint`), `n` > 1.
fn split_point(n: usize) -> usize {
    if n.is_power_of_two() {
        n / 2
    } else {
        n.next_power_of_two() / 2
    }
}

/// A tx's Merkle proof of inclusion in its block's `data_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxProof {
    /// The root: the block's data hash.
    pub root: [u8; 32],
    /// The hash of the tx's leaf.
    pub leaf_hash: [u8; 32],
    /// The sibling hashes from the leaf up.
    pub aunts: Vec<[u8; 32]>,
}

/// `Txs.Proof(index)`: the Merkle root of the txs' hashes, the leaf hash
/// of tx `index` and its aunts from the leaf up, as CometBFT's
/// `merkle.ProofsFromByteSlices` builds them.
pub fn tx_proof(txs: &[Vec<u8>], index: usize) -> anyhow::Result<TxProof> {
    let leaves: Vec<[u8; 32]> = txs.iter().map(|t| Sha256::digest(t).into()).collect();
    if index >= leaves.len() {
        anyhow::bail!("tx {index} is not in a block of {} txs", leaves.len());
    }
    let root = |items: &[[u8; 32]]| simple_hash_from_byte_vectors::<MerkleSha256>(items);
    // Walk down from the whole tree to the leaf, collecting each level's
    // sibling root; the proof lists them from the leaf up.
    let (mut lo, mut hi, mut aunts) = (0, leaves.len(), Vec::new());
    while hi - lo > 1 {
        let split = lo + split_point(hi - lo);
        if index < split {
            aunts.push(root(&leaves[split..hi]));
            hi = split;
        } else {
            aunts.push(root(&leaves[lo..split]));
            lo = split;
        }
    }
    aunts.reverse();
    Ok(TxProof {
        root: root(&leaves),
        leaf_hash: root(&leaves[index..=index]),
        aunts,
    })
}

/// `Commit.Hash()`: the Merkle root of the protobuf of each signature.
/// The empty commit before the first block hashes to the empty root.
pub fn commit_hash(commit: Option<&Commit>) -> Hash {
    let leaves: Vec<Vec<u8>> = commit
        .map(|c| {
            c.signatures
                .iter()
                .map(|s| pb::CommitSig::from(s.clone()).encode_to_vec())
                .collect()
        })
        .unwrap_or_default();
    merkle(&leaves)
}

/// `ABCIResults.Hash()`: the Merkle root of each result's deterministic
/// part (code, data, gas wanted, gas used) as protobuf.
pub fn results_hash(results: &[ExecTxResult]) -> Hash {
    let leaves: Vec<Vec<u8>> = results
        .iter()
        .map(|r| {
            ExecTxResult {
                code: r.code,
                data: r.data.clone(),
                gas_wanted: r.gas_wanted,
                gas_used: r.gas_used,
                ..Default::default()
            }
            .encode_to_vec()
        })
        .collect();
    merkle(&leaves)
}

/// The hash of an empty evidence list.
pub fn empty_evidence_hash() -> Hash {
    merkle::<Vec<u8>>(&[])
}

/// `ConsensusParams.Hash()`: SHA-256 of the protobuf `HashedParams`
/// (block max bytes and max gas).
pub fn consensus_hash(block_max_bytes: i64, block_max_gas: i64) -> Hash {
    let bytes = pb::HashedParams {
        block_max_bytes,
        block_max_gas,
    }
    .encode_to_vec();
    Hash::Sha256(Sha256::digest(bytes).into())
}

/// The block's id: its header hash and the part-set header of its
/// protobuf encoding cut into 64 KiB parts.
pub fn block_id(block: &Block) -> anyhow::Result<block::Id> {
    let bytes = Protobuf::<pb::Block>::encode_vec(block.clone());
    let chunks: Vec<&[u8]> = bytes.chunks(BLOCK_PART_SIZE).collect();
    let total = u32::try_from(chunks.len()).context("block has too many parts")?;
    let part_set_header =
        parts::Header::new(total, merkle(&chunks)).map_err(|e| anyhow!("part set header: {e}"))?;
    Ok(block::Id {
        hash: block.header.hash(),
        part_set_header,
    })
}

/// The commit a single validator signs for a block: one precommit (round 0)
/// over CometBFT's canonical vote sign bytes.
pub fn sign_commit(
    key: &ed25519_consensus::SigningKey,
    chain_id: &chain::Id,
    height: block::Height,
    block_id: block::Id,
    timestamp: Time,
) -> anyhow::Result<Commit> {
    let validator_address = validator_address(key);
    let vote = Vote {
        vote_type: vote::Type::Precommit,
        height,
        round: block::Round::default(),
        block_id: Some(block_id),
        timestamp: Some(timestamp),
        validator_address,
        validator_index: vote::ValidatorIndex::try_from(0u32)
            .map_err(|e| anyhow!("validator index: {e}"))?,
        signature: None,
        extension: Vec::new(),
        extension_signature: None,
    };
    let sign_bytes = vote.into_signable_vec(chain_id.clone());
    let signature = Signature::try_from(key.sign(&sign_bytes).to_bytes().as_slice())
        .map_err(|e| anyhow!("signature: {e}"))?;
    Ok(Commit {
        height,
        round: block::Round::default(),
        block_id,
        signatures: vec![CommitSig::BlockIdFlagCommit {
            validator_address,
            timestamp,
            signature: Some(signature),
        }],
    })
}

/// The validator's address: the first 20 bytes of SHA-256 of its public key.
pub fn validator_address(key: &ed25519_consensus::SigningKey) -> account::Id {
    account::Id::from(tendermint::crypto::ed25519::VerificationKey::from(
        key.verification_key(),
    ))
}

/// The time a block producer stamps now: the wall clock, but always after `after`.
pub fn now_after(after: Time) -> anyhow::Result<Time> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?;
    let now = Time::from_unix_timestamp(i64::try_from(now.as_secs())?, now.subsec_nanos())
        .map_err(|e| anyhow!("time: {e}"))?;
    let min = after
        .checked_add(std::time::Duration::from_millis(1))
        .ok_or_else(|| anyhow!("time overflow"))?;
    Ok(if now.after(min) { now } else { min })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CometBFT's `computeHashFromAunts`: the root a proof claims.
    fn root_from(index: usize, total: usize, leaf: [u8; 32], aunts: &[[u8; 32]]) -> [u8; 32] {
        if total == 1 {
            return leaf;
        }
        let inner = |l: &[u8; 32], r: &[u8; 32]| -> [u8; 32] {
            Sha256::new()
                .chain_update([1u8])
                .chain_update(l)
                .chain_update(r)
                .finalize()
                .into()
        };
        let (rest, top) = aunts.split_at(aunts.len() - 1);
        let left = split_point(total);
        if index < left {
            inner(&root_from(index, left, leaf, rest), &top[0])
        } else {
            inner(&top[0], &root_from(index - left, total - left, leaf, rest))
        }
    }

    #[test]
    fn every_tx_proof_leads_to_the_blocks_data_hash() {
        for n in 1..=9usize {
            let txs: Vec<Vec<u8>> = (0..n)
                .map(|i| vec![u8::try_from(i).unwrap(); i + 1])
                .collect();
            let Hash::Sha256(data_hash) = data_hash(&txs) else {
                panic!("no data hash");
            };
            for i in 0..n {
                let p = tx_proof(&txs, i).unwrap();
                assert_eq!(p.root, data_hash);
                assert_eq!(
                    root_from(i, n, p.leaf_hash, &p.aunts),
                    data_hash,
                    "tx {i} of {n}"
                );
            }
        }
        assert!(tx_proof(&[], 0).is_err());
    }
}
