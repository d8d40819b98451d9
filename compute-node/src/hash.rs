//! Result hashes: SHA3-256 over a canonical encoding of a matrix.
//!
//! Canonical encoding (version 1), fed to SHA3-256 in this order:
//!
//! | bytes | content |
//! | --- | --- |
//! | 16 | ASCII `deai-tensor-v1\0\0` (domain separation) |
//! | 1 | element type tag: `0x01` = int8, `0x04` = int32, `0x14` = uint32 |
//! | 8 | rows, u64 little-endian |
//! | 8 | cols, u64 little-endian |
//! | rows·cols·size | elements in row-major order, each little-endian two's complement |
//!
//! Two nodes agree on a result exactly when they agree on this hash.

use sha3::{Digest, Sha3_256};

use crate::Matrix;

/// Domain-separation prefix of the canonical encoding.
pub const HASH_DOMAIN: &[u8; 16] = b"deai-tensor-v1\0\0";

/// An element type that has a canonical little-endian encoding.
pub trait CanonicalElement: Copy {
    /// The element type tag of the canonical encoding.
    const TAG: u8;
    /// Appends the little-endian bytes of `self` to `out`.
    fn push_le(self, out: &mut Vec<u8>);
}

impl CanonicalElement for i8 {
    const TAG: u8 = 0x01;
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl CanonicalElement for u32 {
    const TAG: u8 = 0x14;
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl CanonicalElement for i32 {
    const TAG: u8 = 0x04;
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// A 32-byte SHA3-256 result hash.
pub type ResultHash = [u8; 32];

/// The SHA3-256 of `m`'s canonical encoding (see the module docs).
pub fn result_hash<T: CanonicalElement>(m: &Matrix<T>) -> ResultHash {
    let mut h = Sha3_256::new();
    h.update(HASH_DOMAIN);
    h.update([T::TAG]);
    h.update((m.rows() as u64).to_le_bytes());
    h.update((m.cols() as u64).to_le_bytes());
    // Encode in bounded chunks so hashing a large result needs no second full copy.
    let mut buf = Vec::with_capacity(64 * 1024);
    for chunk in m.data().chunks(16 * 1024) {
        buf.clear();
        for &x in chunk {
            x.push_le(&mut buf);
        }
        h.update(&buf);
    }
    h.finalize().into()
}

/// Lower-case hex of a hash.
pub fn hash_hex(hash: &ResultHash) -> String {
    hex::encode(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_covers_the_shape_the_type_and_the_little_endian_data() {
        let m = Matrix::new(1, 2, vec![1i32, -2]).unwrap();
        let mut enc = Vec::new();
        enc.extend_from_slice(HASH_DOMAIN);
        enc.push(0x04);
        enc.extend_from_slice(&1u64.to_le_bytes());
        enc.extend_from_slice(&2u64.to_le_bytes());
        enc.extend_from_slice(&[1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF]);
        let want: ResultHash = Sha3_256::digest(&enc).into();
        assert_eq!(result_hash(&m), want);
        // Same bytes, other shape or type: other hash.
        let t = Matrix::new(2, 1, vec![1i32, -2]).unwrap();
        assert_ne!(result_hash(&t), want);
        let b = Matrix::new(1, 8, vec![1i8, 0, 0, 0, -2, -1, -1, -1]).unwrap();
        assert_ne!(result_hash(&b), result_hash(&m));
    }
}
