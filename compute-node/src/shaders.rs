//! The SPIR-V modules compiled from `shaders/*.comp` by `build.rs`.

use crate::ComputeError;

/// gemm-i8, plain path (bytes sign-extended with `bitfieldExtract`).
pub const GEMM_I8_PLAIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gemm_i8_plain.spv"));
/// gemm-i8, integer dot-product path (`OpSDot`, packed 4x8).
pub const GEMM_I8_DOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gemm_i8_dot.spv"));
/// gemm with int16 A and int8 B (the batched encoder's linear layers).
pub const GEMM_I16_I8: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gemm_i16_i8.spv"));

/// Requantization int32 -> int8 with per-column (multiplier, shift).
pub const REQUANT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/requant.spv"));
/// I-BERT integer GELU.
pub const GELU: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gelu.spv"));
/// I-BERT integer softmax.
pub const SOFTMAX: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/softmax.spv"));
/// Integer LayerNorm.
pub const LAYERNORM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/layernorm.spv"));
/// Per-column affine requantization int32 -> int32 with a per-row shift offset.
pub const AFFINE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/affine.spv"));
/// Element-wise scaled sum of two int32 tensors.
pub const ADD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/add.spv"));
/// Dynamic per-row power-of-two quantization int32 -> int8.
pub const DYNQUANT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dynquant.spv"));
/// Masked mean pooling and integer L2 normalisation.
pub const POOL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pool.spv"));
/// [`POOL`] over a batch of stacked sequences, one workgroup each.
pub const POOL_BATCHED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pool_batched.spv"));
/// Index-driven int32 gather (the batched encoder's data movement).
pub const GATHER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gather.spv"));
/// Index-driven gather narrowed to int8 and packed in gemm-i8's operand layout.
pub const GATHER_PACK: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gather_pack.spv"));
/// Two row blocks narrowed to int8 and packed in gemm-i8's operand layout.
pub const PACK_ROWS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pack_rows.spv"));
/// Dynamic quantization writing packed int16 rows for [`GEMM_I16_I8`].
pub const DYNQUANT_PACK: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dynquant_pack.spv"));

/// Converts an embedded SPIR-V byte stream to words, checking length and magic number.
pub fn spirv_words(name: &'static str, bytes: &[u8]) -> Result<Vec<u32>, ComputeError> {
    const MAGIC: u32 = 0x0723_0203;
    if !bytes.len().is_multiple_of(4) || bytes.len() < 20 {
        return Err(ComputeError::BadSpirv(name));
    }
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if words.first() != Some(&MAGIC) {
        return Err(ComputeError::BadSpirv(name));
    }
    Ok(words)
}
