//! The wire formats and hashes both the chain and contributors compute:
//! pairwise masks (a 32-byte seed expanded with ChaCha20), the commitment to
//! a pairwise seed, vectors as little-endian words, and the evaluation set's hash.

use chacha20::{
    cipher::{KeyIvInit, StreamCipher},
    ChaCha20,
};
use deai_proto::rounds::v1 as pb;
use deai_types::Address;
use sha2::{Digest, Sha256};

/// Domain separator of seed commitments.
const SEED_COMMITMENT_DOMAIN: &[u8] = b"deai/rounds/v1/seed-commitment";
/// Domain separator of the evaluation set's hash.
const EVAL_SET_DOMAIN: &[u8] = b"deai/rounds/v1/eval-set";
/// Domain separator of the hash of an evaluation set of texts.
const EVAL_SET_TEXTS_DOMAIN: &[u8] = b"deai/rounds/v1/eval-set-texts";

/// The mask of a pair: the RFC 8439 ChaCha20 keystream under key `seed`,
/// nonce zero, counter zero, read as `words` little-endian u32 words.
pub fn expand(seed: &[u8; 32], words: usize) -> Vec<u32> {
    let mut bytes = vec![0u8; words.saturating_mul(4)];
    let mut cipher = ChaCha20::new(seed.into(), &[0u8; 12].into());
    cipher.apply_keystream(&mut bytes);
    decode_words(&bytes).unwrap_or_default()
}

/// The pair `(a, b)` ordered by address bytes: `(lower, higher)`.
pub fn ordered<'a>(a: &'a Address, b: &'a Address) -> (&'a Address, &'a Address) {
    if a.as_bytes() <= b.as_bytes() {
        (a, b)
    } else {
        (b, a)
    }
}

/// The commitment to the seed `a` and `b` share in round `round_id`:
/// SHA-256 of the domain, the round id (big-endian), the lower address, the
/// higher address and the seed. Both members of a pair commit the same value.
pub fn seed_commitment(round_id: u64, a: &Address, b: &Address, seed: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = ordered(a, b);
    let mut h = Sha256::new();
    h.update(SEED_COMMITMENT_DOMAIN);
    h.update(round_id.to_be_bytes());
    h.update(lo.as_bytes());
    h.update(hi.as_bytes());
    h.update(seed);
    h.finalize().into()
}

/// Whether `me` adds its mask with `peer` (the lower address adds, the higher subtracts).
pub fn adds(me: &Address, peer: &Address) -> bool {
    me.as_bytes() < peer.as_bytes()
}

/// Words as little-endian bytes.
pub fn encode_words(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Little-endian bytes as words; `None` if the length is not a multiple of 4.
pub fn decode_words(bytes: &[u8]) -> Option<Vec<u32>> {
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// A head as little-endian i32 bytes.
pub fn encode_head(head: &[i32]) -> Vec<u8> {
    head.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Little-endian i32 bytes as a head.
pub fn decode_head(bytes: &[u8]) -> Option<Vec<i32>> {
    decode_words(bytes).map(|w| w.into_iter().map(|x| x as i32).collect())
}

/// The evaluation set's hash: SHA-256 of the domain, the example count
/// (u32 big-endian), the embeddings and the labels; for a set of texts,
/// SHA-256 of another domain, the count, the labels and the texts.
pub fn eval_set_hash(e: &pb::EvalSet) -> [u8; 32] {
    let count = u32::try_from(e.labels.len()).unwrap_or(u32::MAX);
    let mut h = Sha256::new();
    if e.texts.is_empty() {
        h.update(EVAL_SET_DOMAIN);
        h.update(count.to_be_bytes());
        h.update(&e.embeddings);
        h.update(&e.labels);
    } else {
        h.update(EVAL_SET_TEXTS_DOMAIN);
        h.update(count.to_be_bytes());
        h.update(&e.labels);
        h.update(&e.texts);
    }
    h.finalize().into()
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test arithmetic on small known values
mod tests {
    use super::*;

    #[test]
    fn a_pair_commits_the_same_value_from_both_sides() {
        let (a, b) = (Address::module("a"), Address::module("b"));
        let seed = [7u8; 32];
        assert_eq!(
            seed_commitment(3, &a, &b, &seed),
            seed_commitment(3, &b, &a, &seed)
        );
        assert_ne!(
            seed_commitment(3, &a, &b, &seed),
            seed_commitment(4, &a, &b, &seed)
        );
        assert_ne!(adds(&a, &b), adds(&b, &a));
    }

    #[test]
    fn the_mask_is_the_rfc_8439_keystream() {
        // RFC 8439 2.4.2 uses a nonzero nonce; with key 0 and nonce 0 the first
        // block's keystream starts 76 b8 e0 ad (the classic all-zero test vector).
        let w = expand(&[0u8; 32], 2);
        assert_eq!(
            encode_words(&w),
            [0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90]
        );
    }

    #[test]
    fn words_round_trip_and_odd_lengths_are_refused() {
        let w = vec![1, u32::MAX, 0x0102_0304];
        assert_eq!(decode_words(&encode_words(&w)), Some(w));
        assert_eq!(decode_words(&[1, 2, 3]), None);
        assert_eq!(decode_head(&encode_head(&[-5, 7])), Some(vec![-5, 7]));
    }
}
