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
