//! An integer-only BERT encoder (I-BERT style) producing sentence embeddings, with one
//! forward pass ([`IntEncoder::forward`]) driven either by the Rust references
//! ([`Reference`]) or by the Vulkan kernels ([`crate::Executor`]) through [`Backend`].
//!
//! # The forward pass
//! Every arithmetic step is a kernel with a byte-exact reference; the host only gathers
//! embedding rows, splits and merges attention heads and transposes V (data movement).
//!
//! * embeddings: word + position + token-type rows (int16 tables, one common scale), summed
//!   with `add`, integer LayerNorm, then γ/β by `affine` into the residual stream
//!   (int32, scale 2^-[`RESID_BITS`], clamped to ±[`RESID_CLAMP`]);
//! * linear layers: `dynquant` to [`ACT_BITS`]-bit activations with a per-row power-of-two
//!   scale, split into two int8 halves run through one gemm-i8; the exact product
//!   `128·top + bottom` goes into `affine` (per-channel weight scale, bias, per-row input
//!   exponent);
//! * per layer: one linear layer for Q, K and V, to int32 at 2^-[`QKV_BITS`];
//!   Q quantized to int8 per head and row, K and V per head (more bits for Q measured no
//!   gain on MiniLM); per head `Q·Kᵀ` (gemm-i8) → `affine`
//!   to the softmax scale 2^-[`SCORE_BITS`] (1/√d folded in) → integer softmax with
//!   [`PROB_BITS`] fraction bits, split into two int8 halves `p = 128·hi + lo` so that
//!   `P·V` (gemm-i8 on the rows `[hi; lo]`, recombined in the next `affine`) keeps 14-bit
//!   probabilities; the heads' products run as one batched gemm-i8 each for `Q·Kᵀ` and `P·V`;
//!   output projection, residual `add`, LayerNorm + γ/β; FFN up-projection → `affine` to
//!   the GELU scale 2^-[`GELU_BITS`] → integer GELU → down-projection →
//!   residual `add` → LayerNorm + γ/β;
//! * masked mean pooling and integer L2 normalisation (`pool`): the embedding is a
//!   `1 × hidden` int32 tensor, components of the unit vector times 2^[`EMBED_BITS`].
//!
//! The result hash is [`crate::result_hash`] of that tensor.
//!
//! # Deterministic quantization
//! [`IntEncoder::quantize`] turns f32 weights into int8/int16 tensors and integer
//! (multiplier, shift) pairs using only IEEE-754 basic operations in `f64` (multiply,
//! divide, square root, `round`, `floor`) on values read exactly from the file, in a fixed
//! order. Those operations are correctly rounded by the standard, Rust never fuses or
//! reorders them, and no transcendental function (whose last bit may differ between libms)
//! is used, so every node derives bit-identical integer weights and constants from the
//! same file. Activation scales are dynamic powers of two found by integer kernels, so no
//! calibration data is needed.

use std::sync::OnceLock;

use crate::{
    cpu::{CpuBackend, Isa},
    gemm::gemm_i8_batched_reference,
    gemm_i8_reference,
    ibert::{gelu_reference, layernorm_reference, softmax_reference, GeluParams, SoftmaxParams},
    ops::{
        add_reference, affine_reference, affine_sum_reference, dynquant_reference,
        dynquant_split_reference, pool_reference, Affine, SplitQuant,
    },
    ComputeError, Executor, ExecutorOptions, GemmPath, Matrix, SplitMix64,
};

/// Fraction bits of the integer LayerNorm output (unit: one standard deviation).
pub const LN_BITS: u32 = 8;
/// Width of the dynamically quantized activations entering the linear layers.
pub const ACT_BITS: u32 = 14;
/// Largest inner dimension of a linear layer on [`ACT_BITS`]-bit activations.
pub const LINEAR_K_MAX: usize = 2048;
/// Fraction bits of the residual stream.
pub const RESID_BITS: u32 = 11;
/// Clamp of the residual stream and of the sublayer outputs added to it (±512.0; MiniLM
/// reaches about ±193 in one outlier dimension).
pub const RESID_CLAMP: i32 = 1 << 20;
/// Fraction bits of Q, K, V and the attention context.
pub const QKV_BITS: u32 = 12;
/// Clamp of Q, K, V and the attention context (±4096.0).
pub const QKV_CLAMP: i32 = 1 << 24;
/// Fraction bits of the attention scores fed to the softmax.
pub const SCORE_BITS: u32 = 10;
/// Clamp of the attention scores (±16384.0).
pub const SCORE_CLAMP: i32 = 1 << 24;
/// Added to the scores of padded keys (−2^30, about −10^6 in score units; BERT adds
/// −10^4): after the clamp their exponential is exactly 0.
pub const MASK_BIAS: i32 = -(1 << 30);
/// Fraction bits of the softmax output (probabilities times 2^14).
pub const PROB_BITS: u32 = 14;
/// Fraction bits of the GELU input.
pub const GELU_BITS: u32 = 7;
/// Fraction bits of the final embedding (unit vector components times 2^15).
pub const EMBED_BITS: u32 = 15;
/// Longest token sequence the encoder accepts (sentence-transformers' limit for MiniLM).
pub const MAX_TOKENS: usize = 256;

fn bound(what: impl Into<String>) -> ComputeError {
    ComputeError::Shape(what.into())
}

/// Shape of a BERT encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Vocabulary size.
    pub vocab: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Attention heads (`hidden` must be a multiple).
    pub heads: usize,
    /// Encoder layers.
    pub layers: usize,
    /// FFN inner size.
    pub intermediate: usize,
    /// Position embeddings.
    pub max_positions: usize,
    /// Token-type embeddings.
    pub type_vocab: usize,
}

impl EncoderConfig {
    /// The shape of all-MiniLM-L6-v2.
    pub const MINILM_L6: Self = Self {
        vocab: 30522,
        hidden: 384,
        heads: 12,
        layers: 6,
        intermediate: 1536,
        max_positions: 512,
        type_vocab: 2,
    };

    /// Size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads.max(1)
    }

    fn check(&self) -> Result<(), ComputeError> {
        if self.heads == 0
            || self.hidden == 0
            || !self.hidden.is_multiple_of(self.heads)
            || self.vocab == 0
            || self.max_positions == 0
            || self.type_vocab == 0
            || self.intermediate == 0
            || self.hidden > crate::ops::POOL_MAX_COLS
            || self.intermediate > LINEAR_K_MAX
        {
            return Err(bound(format!("unsupported encoder shape {self:?}")));
        }
        Ok(())
    }
}

/// A linear layer `y = x Wᵀ + b` in f32, `weight` row-major `out × in`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLinear {
    /// Output features.
    pub out: usize,
    /// Input features.
    pub inp: usize,
    /// Row-major `out × in` weights.
    pub weight: Vec<f32>,
    /// `out` biases.
    pub bias: Vec<f32>,
}

/// LayerNorm's γ and β in f32.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatNorm {
    /// Scale γ.
    pub gamma: Vec<f32>,
    /// Shift β.
    pub beta: Vec<f32>,
}

/// One encoder layer's f32 weights.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLayer {
    /// Query projection.
    pub query: FloatLinear,
    /// Key projection.
    pub key: FloatLinear,
    /// Value projection.
    pub value: FloatLinear,
    /// Attention output projection.
    pub attn_out: FloatLinear,
    /// LayerNorm after attention.
    pub attn_norm: FloatNorm,
    /// FFN up-projection.
    pub ffn_up: FloatLinear,
    /// FFN down-projection.
    pub ffn_down: FloatLinear,
    /// LayerNorm after the FFN.
    pub ffn_norm: FloatNorm,
}

/// A BERT encoder's f32 weights, as stored in a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatWeights {
    /// Shape.
    pub config: EncoderConfig,
    /// `vocab × hidden` word embeddings.
    pub word: Vec<f32>,
    /// `max_positions × hidden` position embeddings.
    pub position: Vec<f32>,
    /// `type_vocab × hidden` token-type embeddings.
    pub token_type: Vec<f32>,
    /// LayerNorm of the embeddings.
    pub embed_norm: FloatNorm,
    /// Encoder layers.
    pub layers: Vec<FloatLayer>,
}

/// Random f32 tensors from a SplitMix64, for [`FloatWeights::random`].
struct RandomTensors(SplitMix64);

impl RandomTensors {
    /// `n` values uniform in `[centre - a, centre + a)` (24 random bits each, exact in f32).
    fn values(&mut self, n: usize, centre: f32, a: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let u = (self.0.next_u64() >> 40) as f32 / (1u32 << 24) as f32;
                centre + (2.0 * u - 1.0) * a
            })
            .collect()
    }

    /// A linear layer with weights of variance about `0.75 / inp`, so activations keep
    /// their magnitude from layer to layer.
    fn linear(&mut self, out: usize, inp: usize) -> FloatLinear {
        FloatLinear {
            out,
            inp,
            weight: self.values(out * inp, 0.0, 1.5 / (inp as f32).sqrt()),
            bias: self.values(out, 0.0, 0.1),
        }
    }

    /// γ near 1, β near 0.
    fn norm(&mut self, h: usize) -> FloatNorm {
        FloatNorm {
            gamma: self.values(h, 1.0, 0.3),
            beta: self.values(h, 0.0, 0.2),
        }
    }
}

impl FloatWeights {
    /// Random weights of BERT-like magnitudes, for tests and benchmarks.
    pub fn random(config: EncoderConfig, seed: u64) -> Self {
        let mut r = RandomTensors(SplitMix64::new(seed));
        let h = config.hidden;
        let layers = (0..config.layers)
            .map(|_| FloatLayer {
                query: r.linear(h, h),
                key: r.linear(h, h),
                value: r.linear(h, h),
                attn_out: r.linear(h, h),
                attn_norm: r.norm(h),
                ffn_up: r.linear(config.intermediate, h),
                ffn_down: r.linear(h, config.intermediate),
                ffn_norm: r.norm(h),
            })
            .collect();
        Self {
            config,
            word: r.values(config.vocab * h, 0.0, 0.1),
            position: r.values(config.max_positions * h, 0.0, 0.1),
            token_type: r.values(config.type_vocab * h, 0.0, 0.1),
            embed_norm: r.norm(h),
            layers,
        }
    }

    fn check(&self) -> Result<(), ComputeError> {
        let c = &self.config;
        c.check()?;
        let h = c.hidden;
        let lin = |l: &FloatLinear, out: usize, inp: usize, what: &str| {
            if l.out != out || l.inp != inp || l.weight.len() != out * inp || l.bias.len() != out {
                Err(bound(format!("{what}: expected {out} x {inp}")))
            } else {
                Ok(())
            }
        };
        let norm = |n: &FloatNorm, what: &str| {
            if n.gamma.len() != h || n.beta.len() != h {
                Err(bound(format!("{what}: expected {h} entries")))
            } else {
                Ok(())
            }
        };
        if self.word.len() != c.vocab * h
            || self.position.len() != c.max_positions * h
            || self.token_type.len() != c.type_vocab * h
            || self.layers.len() != c.layers
        {
            return Err(bound(
                "embedding tables or layer count do not match the config",
            ));
        }
        norm(&self.embed_norm, "embedding LayerNorm")?;
        for l in &self.layers {
            lin(&l.query, h, h, "query")?;
            lin(&l.key, h, h, "key")?;
            lin(&l.value, h, h, "value")?;
            lin(&l.attn_out, h, h, "attention output")?;
            lin(&l.ffn_up, c.intermediate, h, "FFN up")?;
            lin(&l.ffn_down, h, c.intermediate, "FFN down")?;
            norm(&l.attn_norm, "attention LayerNorm")?;
            norm(&l.ffn_norm, "FFN LayerNorm")?;
        }
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        let all_finite = finite(&self.word)
            && finite(&self.position)
            && finite(&self.token_type)
            && self.layers.iter().all(|l| {
                [
                    &l.query,
                    &l.key,
                    &l.value,
                    &l.attn_out,
                    &l.ffn_up,
                    &l.ffn_down,
                ]
                .iter()
                .all(|x| finite(&x.weight) && finite(&x.bias))
            });
        if !all_finite {
            return Err(bound("weights contain NaN or infinity"));
        }
        Ok(())
    }
}

/// `2^e` as f64, exactly.
pub(crate) fn pow2(e: i32) -> f64 {
    let mut v = 1.0f64;
    for _ in 0..e.unsigned_abs() {
        v = if e >= 0 { v * 2.0 } else { v / 2.0 };
    }
    v
}

/// The (multiplier, shift) pair for a real factor: the largest shift `s <= 62` whose
/// multiplier `round(|ratio| 2^s)` stays below 2^31 (most headroom for per-row offsets),
/// the sign carried by the multiplier.
pub fn fixed_point(ratio: f64) -> Result<(i32, u32), ComputeError> {
    if !ratio.is_finite() {
        return Err(bound("non-finite requantization factor"));
    }
    let a = ratio.abs();
    let limit = pow2(31);
    let mut s = 62u32;
    while s > 1 && (a * pow2(s as i32)).round() >= limit {
        s -= 1;
    }
    let m = (a * pow2(s as i32)).round();
    if m >= limit {
        return Err(bound(format!("requantization factor {ratio} too large")));
    }
    let m = m as i32;
    Ok((if ratio < 0.0 { -m } else { m }, s))
}

/// `round(v)` clamped to int32.
fn round_i32(v: f64) -> i32 {
    v.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

/// Symmetric per-output-channel int8 quantization of a linear layer: `w_q = round(w ·
/// 127 / max|w_row|)`. Returns the weights and each row's scale `max|w_row| / 127`.
fn quantize_rows(l: &FloatLinear) -> (Vec<i8>, Vec<f64>) {
    let mut q = Vec::with_capacity(l.weight.len());
    let mut scales = Vec::with_capacity(l.out);
    for row in l.weight.chunks_exact(l.inp.max(1)) {
        let amax = row.iter().map(|w| f64::from(w.abs())).fold(0.0, f64::max);
        if amax == 0.0 {
            q.extend(std::iter::repeat_n(0i8, row.len()));
            scales.push(1.0 / 127.0);
            continue;
        }
        q.extend(
            row.iter()
                .map(|&w| (f64::from(w) * 127.0 / amax).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(amax / 127.0);
    }
    (q, scales)
}

/// The affine that takes a gemm-i8 accumulator (input scale `2^-in_bits` per unit of the
/// dynamic int8, weight scale per column) to `out_scale` with the layer's bias.
fn linear_affine(
    scales: &[f64],
    bias: &[f32],
    in_scale: f64,
    out_scale: f64,
    clamp: i32,
) -> Result<Affine, ComputeError> {
    let mut mult = Vec::with_capacity(scales.len());
    let mut shift = Vec::with_capacity(scales.len());
    for &s in scales {
        let (m, sh) = fixed_point(s * in_scale / out_scale)?;
        mult.push(m);
        shift.push(sh);
    }
    Ok(Affine {
        mult,
        shift,
        bias: bias
            .iter()
            .map(|&b| round_i32(f64::from(b) / out_scale))
            .collect(),
        lo: -clamp,
        hi: clamp,
    })
}

/// The affine applying LayerNorm's γ and β to the integer LayerNorm output.
fn norm_affine(n: &FloatNorm) -> Result<Affine, ComputeError> {
    let mut mult = Vec::with_capacity(n.gamma.len());
    let mut shift = Vec::with_capacity(n.gamma.len());
    for &g in &n.gamma {
        let (m, s) = fixed_point(f64::from(g) * pow2(RESID_BITS as i32 - LN_BITS as i32))?;
        mult.push(m);
        shift.push(s);
    }
    Ok(Affine {
        mult,
        shift,
        bias: n
            .beta
            .iter()
            .map(|&b| round_i32(f64::from(b) * pow2(RESID_BITS as i32)))
            .collect(),
        lo: -RESID_CLAMP,
        hi: RESID_CLAMP,
    })
}

/// A uniform affine over `cols` columns (same factor everywhere, no bias).
pub(crate) fn uniform_affine(
    ratio: f64,
    cols: usize,
    lo: i32,
    hi: i32,
) -> Result<Affine, ComputeError> {
    let (m, s) = fixed_point(ratio)?;
    Ok(Affine {
        mult: vec![m; cols],
        shift: vec![s; cols],
        bias: vec![0; cols],
        lo,
        hi,
    })
}

/// A linear layer's int8 weights (`out × in`, the `Bt` of its product), with the CPU
/// backend's packed form of them, made on first use and kept ([`deai_cpu_gemm::PackedB`]:
/// about the weights' size again, on a CPU with AVX-512 VNNI only).
#[derive(Clone, Debug)]
pub struct Weights {
    matrix: Matrix<i8>,
    packed: OnceLock<deai_cpu_gemm::PackedB>,
}

impl Weights {
    /// Weights for `matrix`, not packed yet.
    pub fn new(matrix: Matrix<i8>) -> Self {
        Self {
            matrix,
            packed: OnceLock::new(),
        }
    }

    /// The packed form for [`deai_cpu_gemm::gemm_packed`] (packed on the first call).
    pub fn packed(&self) -> &deai_cpu_gemm::PackedB {
        self.packed.get_or_init(|| {
            let m = &self.matrix;
            deai_cpu_gemm::PackedB::new(m.data(), m.rows(), m.cols())
        })
    }
}

/// Weights are their matrix: the packed form is derived from it.
impl PartialEq for Weights {
    fn eq(&self, other: &Self) -> bool {
        self.matrix == other.matrix
    }
}

impl Eq for Weights {}

impl std::ops::Deref for Weights {
    type Target = Matrix<i8>;
    fn deref(&self) -> &Matrix<i8> {
        &self.matrix
    }
}

/// One quantized encoder layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntLayer {
    /// Q, K and V weights stacked: `3·hidden × hidden` int8.
    pub qkv: Weights,
    /// Q/K/V accumulator → 2^-QKV_BITS.
    pub qkv_affine: Affine,
    /// Attention output projection, `hidden × hidden` int8.
    pub attn_out: Weights,
    /// Attention output accumulator → residual scale.
    pub attn_out_affine: Affine,
    /// γ/β after attention.
    pub attn_norm: Affine,
    /// FFN up-projection, `intermediate × hidden` int8.
    pub ffn_up: Weights,
    /// Up-projection accumulator → GELU input scale.
    pub ffn_up_affine: Affine,
    /// FFN down-projection, `hidden × intermediate` int8.
    pub ffn_down: Weights,
    /// Down-projection accumulator (input: GELU output, dynamically quantized) → residual.
    pub ffn_down_affine: Affine,
    /// γ/β after the FFN.
    pub ffn_norm: Affine,
}

/// An integer-only encoder: everything the forward pass needs, all integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntEncoder {
    // Crate-visible for the batched Vulkan pass (`crate::vulkan`), which uploads them.
    pub(crate) config: EncoderConfig,
    pub(crate) word: Vec<i16>,
    pub(crate) position: Vec<i16>,
    pub(crate) token_type: Vec<i16>,
    pub(crate) embed_norm: Affine,
    pub(crate) layers: Vec<IntLayer>,
    pub(crate) gelu: GeluParams,
    pub(crate) softmax: SoftmaxParams,
    /// Score factor 2^(SCORE_BITS - 2 QKV_BITS) / √d as (multiplier, shift).
    pub(crate) score: (i32, u32),
}

/// The `ids`, token types and attention mask of one tokenized sequence.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Tokens {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Token type (segment) ids.
    pub type_ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub mask: Vec<u32>,
}

impl Tokens {
    /// A single unpadded segment.
    pub fn single(ids: Vec<u32>) -> Self {
        let n = ids.len();
        Self {
            ids,
            type_ids: vec![0; n],
            mask: vec![1; n],
        }
    }
}

/// What the forward pass runs on: the Rust references or a Vulkan executor.
pub trait Backend {
    /// gemm-i8 `A × Btᵀ`.
    fn gemm(&self, a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<Matrix<i32>, ComputeError>;
    /// gemm-i8 `A × Wᵀ` for a linear layer's weights (a backend may keep them in a form
    /// of its own); the same bytes as [`Self::gemm`].
    fn gemm_weights(&self, a: &Matrix<i8>, w: &Weights) -> Result<Matrix<i32>, ComputeError> {
        self.gemm(a, w)
    }
    /// [`crate::gemm::gemm_i8_batched_reference`].
    fn gemm_batched(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        batch: usize,
    ) -> Result<Matrix<i32>, ComputeError>;
    /// [`crate::ops::affine_reference`].
    fn affine(
        &self,
        x: &Matrix<i32>,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError>;
    /// [`crate::ops::affine_sum_reference`].
    fn affine_sum(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError>;
    /// [`crate::ops::add_reference`].
    fn add(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
    ) -> Result<Matrix<i32>, ComputeError>;
    /// [`crate::ops::dynquant_reference`].
    fn dynquant(&self, x: &Matrix<i32>, bits: u32)
        -> Result<(Matrix<i32>, Vec<u32>), ComputeError>;
    /// [`crate::ops::dynquant_split_reference`].
    fn dynquant_split(&self, x: &Matrix<i32>, bits: u32) -> Result<SplitQuant, ComputeError>;
    /// [`crate::ibert::softmax_reference`].
    fn softmax(&self, x: &Matrix<i32>, p: &SoftmaxParams) -> Result<Matrix<u32>, ComputeError>;
    /// [`crate::ibert::gelu_reference`].
    fn gelu(&self, x: &Matrix<i32>, p: &GeluParams) -> Result<Matrix<i32>, ComputeError>;
    /// [`crate::ibert::layernorm_reference`].
    fn layernorm(&self, x: &Matrix<i32>, out_bits: u32) -> Result<Matrix<i32>, ComputeError>;
    /// [`crate::ops::pool_reference`].
    fn pool(
        &self,
        x: &Matrix<i32>,
        mask: &[u32],
        out_bits: u32,
    ) -> Result<Matrix<i32>, ComputeError>;
}

/// The Rust references as a [`Backend`] (single-threaded, the definition of the result).
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

impl Backend for Reference {
    fn gemm(&self, a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<Matrix<i32>, ComputeError> {
        gemm_i8_reference(a, bt)
    }
    fn gemm_batched(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        batch: usize,
    ) -> Result<Matrix<i32>, ComputeError> {
        gemm_i8_batched_reference(a, bt, batch)
    }
    fn affine(
        &self,
        x: &Matrix<i32>,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        affine_reference(x, p, row_shift)
    }
    fn affine_sum(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        affine_sum_reference(a, b, ma, mb, p, row_shift)
    }
    fn add(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
    ) -> Result<Matrix<i32>, ComputeError> {
        add_reference(a, b, ma, mb)
    }
    fn dynquant(
        &self,
        x: &Matrix<i32>,
        bits: u32,
    ) -> Result<(Matrix<i32>, Vec<u32>), ComputeError> {
        dynquant_reference(x, bits)
    }
    fn dynquant_split(&self, x: &Matrix<i32>, bits: u32) -> Result<SplitQuant, ComputeError> {
        dynquant_split_reference(x, bits)
    }
    fn softmax(&self, x: &Matrix<i32>, p: &SoftmaxParams) -> Result<Matrix<u32>, ComputeError> {
        softmax_reference(x, p)
    }
    fn gelu(&self, x: &Matrix<i32>, p: &GeluParams) -> Result<Matrix<i32>, ComputeError> {
        gelu_reference(x, p)
    }
    fn layernorm(&self, x: &Matrix<i32>, out_bits: u32) -> Result<Matrix<i32>, ComputeError> {
        layernorm_reference(x, out_bits)
    }
    fn pool(
        &self,
        x: &Matrix<i32>,
        mask: &[u32],
        out_bits: u32,
    ) -> Result<Matrix<i32>, ComputeError> {
        pool_reference(x, mask, out_bits)
    }
}

impl Backend for Executor {
    fn gemm(&self, a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<Matrix<i32>, ComputeError> {
        self.gemm_i8(a, bt, GemmPath::Auto)
    }
    fn gemm_batched(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        batch: usize,
    ) -> Result<Matrix<i32>, ComputeError> {
        self.gemm_i8_batched(a, bt, batch, GemmPath::Auto)
    }
    fn affine(
        &self,
        x: &Matrix<i32>,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        Executor::affine(self, x, p, row_shift)
    }
    fn affine_sum(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        Executor::affine_sum(self, a, b, ma, mb, p, row_shift)
    }
    fn add(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
    ) -> Result<Matrix<i32>, ComputeError> {
        Executor::add(self, a, b, ma, mb)
    }
    fn dynquant(
        &self,
        x: &Matrix<i32>,
        bits: u32,
    ) -> Result<(Matrix<i32>, Vec<u32>), ComputeError> {
        Executor::dynquant(self, x, bits)
    }
    fn dynquant_split(&self, x: &Matrix<i32>, bits: u32) -> Result<SplitQuant, ComputeError> {
        Executor::dynquant_split(self, x, bits)
    }
    fn softmax(&self, x: &Matrix<i32>, p: &SoftmaxParams) -> Result<Matrix<u32>, ComputeError> {
        Executor::softmax(self, x, p)
    }
    fn gelu(&self, x: &Matrix<i32>, p: &GeluParams) -> Result<Matrix<i32>, ComputeError> {
        Executor::gelu(self, x, p)
    }
    fn layernorm(&self, x: &Matrix<i32>, out_bits: u32) -> Result<Matrix<i32>, ComputeError> {
        Executor::layernorm(self, x, out_bits)
    }
    fn pool(
        &self,
        x: &Matrix<i32>,
        mask: &[u32],
        out_bits: u32,
    ) -> Result<Matrix<i32>, ComputeError> {
        Executor::pool(self, x, mask, out_bits)
    }
}

impl Backend for CpuBackend {
    fn gemm(&self, a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<Matrix<i32>, ComputeError> {
        self.gemm_i8(a, bt)
    }
    fn gemm_weights(&self, a: &Matrix<i8>, w: &Weights) -> Result<Matrix<i32>, ComputeError> {
        // Only the VNNI kernel reads the packed form: don't spend its memory otherwise.
        if self.isa() == Isa::Avx512Vnni {
            self.gemm_i8_packed(a, w, w.packed())
        } else {
            self.gemm_i8(a, w)
        }
    }
    fn gemm_batched(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        batch: usize,
    ) -> Result<Matrix<i32>, ComputeError> {
        self.gemm_i8_batched(a, bt, batch)
    }
    fn affine(
        &self,
        x: &Matrix<i32>,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        crate::cpu::ops::affine(x, None, p, row_shift)
    }
    fn affine_sum(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        crate::cpu::ops::affine(a, Some((b, ma, mb)), p, row_shift)
    }
    fn add(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
    ) -> Result<Matrix<i32>, ComputeError> {
        crate::cpu::ops::add(a, b, ma, mb)
    }
    fn dynquant(
        &self,
        x: &Matrix<i32>,
        bits: u32,
    ) -> Result<(Matrix<i32>, Vec<u32>), ComputeError> {
        crate::cpu::ops::dynquant(x, bits)
    }
    fn dynquant_split(&self, x: &Matrix<i32>, bits: u32) -> Result<SplitQuant, ComputeError> {
        crate::cpu::ops::dynquant_split(x, bits)
    }
    fn softmax(&self, x: &Matrix<i32>, p: &SoftmaxParams) -> Result<Matrix<u32>, ComputeError> {
        Reference.softmax(x, p)
    }
    fn gelu(&self, x: &Matrix<i32>, p: &GeluParams) -> Result<Matrix<i32>, ComputeError> {
        crate::cpu::ops::gelu(x, p)
    }
    fn layernorm(&self, x: &Matrix<i32>, out_bits: u32) -> Result<Matrix<i32>, ComputeError> {
        crate::cpu::ops::layernorm(x, out_bits)
    }
    fn pool(
        &self,
        x: &Matrix<i32>,
        mask: &[u32],
        out_bits: u32,
    ) -> Result<Matrix<i32>, ComputeError> {
        Reference.pool(x, mask, out_bits)
    }
}

/// Which backend [`best_backend`] picks, or the `DEAI_BACKEND` override forces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// The single-threaded Rust references.
    Reference,
    /// The native CPU backend ([`CpuBackend`]).
    Cpu,
    /// The Vulkan executor.
    Vulkan,
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "reference" | "ref" => Ok(Self::Reference),
            "cpu" => Ok(Self::Cpu),
            "vulkan" | "gpu" => Ok(Self::Vulkan),
            other => Err(format!(
                "unknown backend `{other}` (reference, cpu or vulkan)"
            )),
        }
    }
}

/// Environment variable forcing [`best_backend`]'s choice: `reference`, `cpu`, `vulkan`.
pub const BACKEND_ENV: &str = "DEAI_BACKEND";

/// A backend chosen at run time: the forward pass and gemm-i8 give the same bytes on each.
pub enum AnyBackend {
    /// The single-threaded Rust references.
    Reference(Reference),
    /// The native CPU backend.
    Cpu(CpuBackend),
    /// A Vulkan executor (a real GPU, or whatever `DEAI_BACKEND=vulkan` opened).
    Vulkan(Box<Executor>),
}

impl AnyBackend {
    /// Which kind this is.
    pub fn kind(&self) -> BackendKind {
        match self {
            Self::Reference(_) => BackendKind::Reference,
            Self::Cpu(_) => BackendKind::Cpu,
            Self::Vulkan(_) => BackendKind::Vulkan,
        }
    }

    /// One line for logs: the kind and its device or instruction set.
    pub fn describe(&self) -> String {
        match self {
            Self::Reference(_) => "reference (single-threaded Rust)".to_owned(),
            Self::Cpu(c) => format!(
                "cpu ({}, {} threads)",
                c.isa(),
                if c.is_multi_threaded() {
                    rayon::current_num_threads()
                } else {
                    1
                }
            ),
            Self::Vulkan(e) => format!("vulkan ({}, {})", e.report().name, e.report().device_type),
        }
    }

    /// gemm-i8 on this backend.
    pub fn gemm_i8(&self, a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<Matrix<i32>, ComputeError> {
        self.gemm(a, bt)
    }
}

macro_rules! dispatch {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Reference($b) => $e,
            AnyBackend::Cpu($b) => $e,
            AnyBackend::Vulkan(v) => {
                let $b: &Executor = v;
                $e
            }
        }
    };
}

impl Backend for AnyBackend {
    fn gemm(&self, a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.gemm(a, bt))
    }
    fn gemm_weights(&self, a: &Matrix<i8>, w: &Weights) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.gemm_weights(a, w))
    }
    fn gemm_batched(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        batch: usize,
    ) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.gemm_batched(a, bt, batch))
    }
    fn affine(
        &self,
        x: &Matrix<i32>,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.affine(x, p, row_shift))
    }
    fn affine_sum(
        &self,
        a: &Matrix<i32>,
        bm: &Matrix<i32>,
        ma: i32,
        mb: i32,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.affine_sum(a, bm, ma, mb, p, row_shift))
    }
    fn add(
        &self,
        a: &Matrix<i32>,
        bm: &Matrix<i32>,
        ma: i32,
        mb: i32,
    ) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.add(a, bm, ma, mb))
    }
    fn dynquant(
        &self,
        x: &Matrix<i32>,
        bits: u32,
    ) -> Result<(Matrix<i32>, Vec<u32>), ComputeError> {
        dispatch!(self, b => b.dynquant(x, bits))
    }
    fn dynquant_split(&self, x: &Matrix<i32>, bits: u32) -> Result<SplitQuant, ComputeError> {
        dispatch!(self, b => b.dynquant_split(x, bits))
    }
    fn softmax(&self, x: &Matrix<i32>, p: &SoftmaxParams) -> Result<Matrix<u32>, ComputeError> {
        dispatch!(self, b => b.softmax(x, p))
    }
    fn gelu(&self, x: &Matrix<i32>, p: &GeluParams) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.gelu(x, p))
    }
    fn layernorm(&self, x: &Matrix<i32>, out_bits: u32) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.layernorm(x, out_bits))
    }
    fn pool(
        &self,
        x: &Matrix<i32>,
        mask: &[u32],
        out_bits: u32,
    ) -> Result<Matrix<i32>, ComputeError> {
        dispatch!(self, b => b.pool(x, mask, out_bits))
    }
}

/// The backend a node should run on: a Vulkan device that is a real GPU (discrete,
/// integrated or virtual), else the native CPU backend. A Vulkan device of type CPU
/// (lavapipe/llvmpipe, SwiftShader) is no real GPU: the CPU backend beats it.
///
/// `DEAI_BACKEND=reference|cpu|vulkan` ([`BACKEND_ENV`]) forces a choice (`vulkan` then
/// opens the default device, lavapipe included, and fails without one);
/// `DEAI_CPU_ISA=scalar|avx2|avx512-vnni|neon|neon-dot` forces the CPU backend's instruction set.
/// `options` configure the Vulkan executor when one is opened.
pub fn best_backend(options: ExecutorOptions) -> Result<AnyBackend, ComputeError> {
    let forced = match std::env::var(BACKEND_ENV) {
        Ok(v) if !v.trim().is_empty() => Some(v.parse::<BackendKind>().map_err(bound)?),
        _ => None,
    };
    match forced {
        Some(BackendKind::Reference) => Ok(AnyBackend::Reference(Reference)),
        Some(BackendKind::Cpu) => cpu_backend_from_env().map(AnyBackend::Cpu),
        Some(BackendKind::Vulkan) => Ok(AnyBackend::Vulkan(Box::new(Executor::new(options)?))),
        None => {
            let real_gpu = crate::list_devices()
                .map(|d| d.iter().any(crate::DeviceReport::is_real_gpu))
                .unwrap_or(false);
            if real_gpu {
                if let Ok(e) = Executor::new(options) {
                    if e.report().is_real_gpu() {
                        return Ok(AnyBackend::Vulkan(Box::new(e)));
                    }
                }
            }
            cpu_backend_from_env().map(AnyBackend::Cpu)
        }
    }
}

/// [`CpuBackend::new`], or the instruction set `DEAI_CPU_ISA` names.
fn cpu_backend_from_env() -> Result<CpuBackend, ComputeError> {
    match std::env::var("DEAI_CPU_ISA") {
        Ok(v) if !v.trim().is_empty() => CpuBackend::with_isa(v.parse::<Isa>().map_err(bound)?),
        _ => Ok(CpuBackend::new()),
    }
}

/// Rows `begin..end` of `m`.
fn rows<T: Clone>(m: &Matrix<T>, begin: usize, end: usize) -> Result<Matrix<T>, ComputeError> {
    let c = m.cols();
    Matrix::new(end - begin, c, m.data()[begin * c..end * c].to_vec())
}

/// Reinterprets int32 values proven to lie in -128..=127 as int8.
fn narrow(m: &Matrix<i32>) -> Result<Matrix<i8>, ComputeError> {
    // One branch-free pass to check (it vectorizes), one to convert.
    let fits = m
        .data()
        .iter()
        .fold(true, |ok, &v| ok & (i32::from(v as i8) == v));
    if !fits {
        let v = m.data().iter().find(|&&v| i8::try_from(v).is_err());
        return Err(bound(format!("{} is not an int8", v.copied().unwrap_or(0))));
    }
    let data = m.data().iter().map(|&v| v as i8).collect();
    Matrix::new(m.rows(), m.cols(), data)
}

impl IntEncoder {
    /// Quantizes f32 weights deterministically (see the module docs).
    pub fn quantize(w: &FloatWeights) -> Result<Self, ComputeError> {
        w.check()?;
        let c = w.config;
        let h = c.hidden;
        let amax = |v: &[f32]| v.iter().map(|x| f64::from(x.abs())).fold(0.0, f64::max);
        let e_max = amax(&w.word)
            .max(amax(&w.position))
            .max(amax(&w.token_type));
        let e_scale = if e_max > 0.0 { e_max / 32767.0 } else { 1.0 };
        let table = |v: &[f32]| -> Vec<i16> {
            v.iter()
                .map(|&x| (f64::from(x) / e_scale).round().clamp(-32767.0, 32767.0) as i16)
                .collect()
        };
        let gelu_scale = pow2(-(GELU_BITS as i32));
        let (gelu, gelu_out_scale) = GeluParams::for_scale(gelu_scale)?;
        let e = i64::from(gelu.q_b).pow(2) + i64::from(gelu.q_c).abs() + i64::from(gelu.q_1).abs();
        let gelu_clamp =
            i32::try_from(i64::from(i32::MAX) / e.max(1) - 1).map_err(|_| bound("GELU clamp"))?;
        let resid = pow2(-(RESID_BITS as i32));
        let qkv_scale = pow2(-(QKV_BITS as i32));
        let mut layers = Vec::with_capacity(c.layers);
        for l in &w.layers {
            let (q, qs) = quantize_rows(&l.query);
            let (k, ks) = quantize_rows(&l.key);
            let (v, vs) = quantize_rows(&l.value);
            let mut qkv = q;
            qkv.extend(k);
            qkv.extend(v);
            let scales: Vec<f64> = qs.into_iter().chain(ks).chain(vs).collect();
            let bias: Vec<f32> = [&l.query.bias, &l.key.bias, &l.value.bias]
                .iter()
                .flat_map(|b| b.iter().copied())
                .collect();
            let (o, os) = quantize_rows(&l.attn_out);
            let (up, us) = quantize_rows(&l.ffn_up);
            let (down, ds) = quantize_rows(&l.ffn_down);
            layers.push(IntLayer {
                qkv: Weights::new(Matrix::new(3 * h, h, qkv)?),
                qkv_affine: linear_affine(&scales, &bias, resid, qkv_scale, QKV_CLAMP)?,
                attn_out: Weights::new(Matrix::new(h, h, o)?),
                attn_out_affine: linear_affine(
                    &os,
                    &l.attn_out.bias,
                    qkv_scale,
                    resid,
                    RESID_CLAMP,
                )?,
                attn_norm: norm_affine(&l.attn_norm)?,
                ffn_up: Weights::new(Matrix::new(c.intermediate, h, up)?),
                ffn_up_affine: linear_affine(&us, &l.ffn_up.bias, resid, gelu_scale, gelu_clamp)?,
                ffn_down: Weights::new(Matrix::new(h, c.intermediate, down)?),
                ffn_down_affine: linear_affine(
                    &ds,
                    &l.ffn_down.bias,
                    gelu_out_scale,
                    resid,
                    RESID_CLAMP,
                )?,
                ffn_norm: norm_affine(&l.ffn_norm)?,
            });
        }
        let score = fixed_point(
            pow2(SCORE_BITS as i32 - 2 * QKV_BITS as i32) / (c.head_dim() as f64).sqrt(),
        )?;
        Ok(Self {
            config: c,
            word: table(&w.word),
            position: table(&w.position),
            token_type: table(&w.token_type),
            embed_norm: norm_affine(&w.embed_norm)?,
            layers,
            gelu,
            softmax: SoftmaxParams::for_scale(pow2(-(SCORE_BITS as i32)), PROB_BITS)?,
            score,
        })
    }

    /// The encoder's shape.
    pub fn config(&self) -> EncoderConfig {
        self.config
    }

    pub(crate) fn check_tokens(&self, t: &Tokens) -> Result<(), ComputeError> {
        let n = t.ids.len();
        if n == 0 || n > MAX_TOKENS || n > self.config.max_positions {
            return Err(bound(format!(
                "{n} tokens: need 1..={}",
                MAX_TOKENS.min(self.config.max_positions)
            )));
        }
        if t.type_ids.len() != n || t.mask.len() != n {
            return Err(bound("ids, type ids and mask differ in length"));
        }
        if let Some(id) = t.ids.iter().find(|&&i| i as usize >= self.config.vocab) {
            return Err(bound(format!("token id {id} outside the vocabulary")));
        }
        if t.type_ids
            .iter()
            .any(|&i| i as usize >= self.config.type_vocab)
        {
            return Err(bound("token type outside the type vocabulary"));
        }
        Ok(())
    }

    /// The forward pass: the `1 × hidden` integer sentence embedding (unit vector times
    /// 2^[`EMBED_BITS`]). Padding (mask 0) is ignored as a key by attention (its scores get
    /// [`MASK_BIAS`], so its probability is exactly 0) and excluded from the mean.
    pub fn forward<B: Backend>(&self, be: &B, t: &Tokens) -> Result<Matrix<i32>, ComputeError> {
        self.check_tokens(t)?;
        let h = self.config.hidden;
        let n = t.ids.len();
        let gather = |table: &[i16], ids: &mut dyn Iterator<Item = usize>| {
            let data: Vec<i32> = ids
                .flat_map(|i| table[i * h..(i + 1) * h].iter().map(|&v| i32::from(v)))
                .collect();
            Matrix::new(n, h, data)
        };
        let word = gather(&self.word, &mut t.ids.iter().map(|&i| i as usize))?;
        let pos = gather(&self.position, &mut (0..n))?;
        let ty = gather(
            &self.token_type,
            &mut t.type_ids.iter().map(|&i| i as usize),
        )?;
        let e = be.add(&be.add(&word, &pos, 1, 1)?, &ty, 1, 1)?;
        let zeros = vec![0u32; n];
        let mut x = be.affine(&be.layernorm(&e, LN_BITS)?, &self.embed_norm, &zeros)?;
        for layer in &self.layers {
            x = self.layer(be, layer, &x, &t.mask)?;
        }
        be.pool(&x, &t.mask, EMBED_BITS)
    }

    /// [`Self::forward`] for many sequences, spread over rayon's threads (one sequence
    /// per task): the results are in input order and byte-identical to one-by-one passes.
    /// With a [`CpuBackend`], pass a [`CpuBackend::single_threaded`] one so the threads
    /// go to whole sequences rather than to each small product.
    pub fn forward_batch<B: Backend + Sync>(
        &self,
        be: &B,
        inputs: &[Tokens],
    ) -> Result<Vec<Matrix<i32>>, ComputeError> {
        use rayon::prelude::*;
        inputs.par_iter().map(|t| self.forward(be, t)).collect()
    }

    fn layer<B: Backend>(
        &self,
        be: &B,
        l: &IntLayer,
        x: &Matrix<i32>,
        mask: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        let n = x.rows();
        let h = self.config.hidden;
        let heads = self.config.heads;
        let d = self.config.head_dim();
        let zeros = vec![0u32; n];

        let qkv = linear(be, x, &l.qkv, &l.qkv_affine)?;
        // Split heads: Q as (head, token) rows of d; K and V as one row of n·d per head.
        let mut q = Vec::with_capacity(n * h);
        let mut k = Vec::with_capacity(n * h);
        let mut v = Vec::with_capacity(n * h);
        for (dst, part) in [(&mut q, 0), (&mut k, 1), (&mut v, 2)] {
            for head in 0..heads {
                for tok in 0..n {
                    let off = part * h + head * d;
                    dst.extend_from_slice(&qkv.row(tok)[off..off + d]);
                }
            }
        }
        let (q8, kq) = quant8(be, &Matrix::new(heads * n, d, q)?)?;
        let (k8, kk) = quant8(be, &Matrix::new(heads, n * d, k)?)?;
        let (v8, kv) = quant8(be, &Matrix::new(heads, n * d, v)?)?;

        // All heads' Q·Kᵀ in one batched gemm: K's rows per head are (token, d) already.
        let scores = be.gemm_batched(&q8, &Matrix::new(heads * n, d, k8.into_data())?, heads)?;
        let score_shift: Vec<u32> = (0..heads * n).map(|r| kq[r] + kk[r / n]).collect();
        let (sm, ss) = self.score;
        let score_affine = Affine {
            mult: vec![sm; n],
            shift: vec![ss; n],
            // Padded keys: an additive mask, as BERT adds a large negative number.
            bias: mask
                .iter()
                .map(|&m| if m == 0 { MASK_BIAS } else { 0 })
                .collect(),
            lo: -SCORE_CLAMP,
            hi: SCORE_CLAMP,
        };
        let z = be.affine(&scores, &score_affine, &score_shift)?;
        let p = be.softmax(&z, &self.softmax)?;
        // Probabilities are below 2^PROB_BITS <= 2^31, so the cast keeps them.
        let p = Matrix::new(
            p.rows(),
            p.cols(),
            p.data().iter().map(|&v| v as i32).collect(),
        )?;
        let hi_affine = uniform_affine(1.0 / 128.0, n, -128, 127)?;
        let hi = be.affine(&p, &hi_affine, &vec![0; heads * n])?;
        let lo = be.add(&p, &hi, 1, -128)?;
        let (hi, lo) = (narrow(&hi)?, narrow(&lo)?);
        // All heads' P·V in one batched gemm: per head the rows [hi; lo] against Vᵀ.
        let mut a = Vec::with_capacity(2 * heads * n * n);
        let mut vt = Vec::with_capacity(heads * d * n);
        for head in 0..heads {
            a.extend_from_slice(rows(&hi, head * n, (head + 1) * n)?.data());
            a.extend_from_slice(rows(&lo, head * n, (head + 1) * n)?.data());
            vt.extend(row_transposed(v8.row(head), n, d)?.into_data());
        }
        let c = be.gemm_batched(
            &Matrix::new(2 * heads * n, n, a)?,
            &Matrix::new(heads * d, n, vt)?,
            heads,
        )?;
        let mut top = Vec::with_capacity(heads * n * d);
        let mut bottom = Vec::with_capacity(heads * n * d);
        for head in 0..heads {
            let block = &c.data()[head * 2 * n * d..(head + 1) * 2 * n * d];
            top.extend_from_slice(&block[..n * d]);
            bottom.extend_from_slice(&block[n * d..]);
        }
        let ctx_shift: Vec<u32> = (0..heads * n).map(|r| kv[r / n]).collect();
        let ctx_affine = uniform_affine(pow2(-(PROB_BITS as i32)), d, -QKV_CLAMP, QKV_CLAMP)?;
        let ctx = be.affine_sum(
            &Matrix::new(heads * n, d, top)?,
            &Matrix::new(heads * n, d, bottom)?,
            128,
            1,
            &ctx_affine,
            &ctx_shift,
        )?;
        // Merge heads back to tokens × hidden.
        let mut merged = Vec::with_capacity(n * h);
        for tok in 0..n {
            for head in 0..heads {
                merged.extend_from_slice(ctx.row(head * n + tok));
            }
        }
        let o = linear(
            be,
            &Matrix::new(n, h, merged)?,
            &l.attn_out,
            &l.attn_out_affine,
        )?;
        let x1 = be.affine(
            &be.layernorm(&be.add(x, &o, 1, 1)?, LN_BITS)?,
            &l.attn_norm,
            &zeros,
        )?;

        let g = be.gelu(&linear(be, &x1, &l.ffn_up, &l.ffn_up_affine)?, &self.gelu)?;
        let o2 = linear(be, &g, &l.ffn_down, &l.ffn_down_affine)?;
        be.affine(
            &be.layernorm(&be.add(&x1, &o2, 1, 1)?, LN_BITS)?,
            &l.ffn_norm,
            &zeros,
        )
    }
}

/// Dynamic per-row int8 quantization.
fn quant8<B: Backend>(be: &B, x: &Matrix<i32>) -> Result<(Matrix<i8>, Vec<u32>), ComputeError> {
    let (q, k) = be.dynquant(x, 8)?;
    Ok((narrow(&q)?, k))
}

/// A linear layer on [`ACT_BITS`]-bit activations with int8 weights: the input is
/// quantized per row to `q = 128·hi + lo` (`hi = round(q / 128)` in -64..=64, `lo` in
/// -64..=63), one gemm-i8 runs on the rows `[hi; lo]`, and `128·top + bottom` is the exact
/// product `q·Wᵀ`; `affine` (with each row's exponent) takes it to the output scale.
/// `|128·top + bottom| <= 129 · 64 · 127 · k < 2^31` for `k <=` [`LINEAR_K_MAX`].
fn linear<B: Backend>(
    be: &B,
    x: &Matrix<i32>,
    w: &Weights,
    out: &Affine,
) -> Result<Matrix<i32>, ComputeError> {
    let n = x.rows();
    if x.cols() > LINEAR_K_MAX {
        return Err(bound(format!(
            "linear layer with k = {} > {LINEAR_K_MAX}",
            x.cols()
        )));
    }
    let (hi, lo, k) = be.dynquant_split(x, ACT_BITS)?;
    let mut a = hi.into_data();
    a.extend_from_slice(lo.data());
    let acc = be.gemm_weights(&Matrix::new(2 * n, x.cols(), a)?, w)?;
    // affine of 128·top + bottom, the exact q·Wᵀ.
    let cols = acc.cols();
    let mut top = acc.into_data();
    let bottom = top.split_off(n * cols);
    be.affine_sum(
        &Matrix::new(n, cols, top)?,
        &Matrix::new(n, cols, bottom)?,
        128,
        1,
        out,
        &k,
    )
}

/// A row of `n·d` int8 holding an `n × d` matrix, returned transposed (`d × n`).
fn row_transposed(row: &[i8], n: usize, d: usize) -> Result<Matrix<i8>, ComputeError> {
    let mut t = Vec::with_capacity(n * d);
    for j in 0..d {
        t.extend((0..n).map(|i| row[i * d + j]));
    }
    Matrix::new(d, n, t)
}

/// The integer embedding as floats (each component divided by 2^[`EMBED_BITS`]).
pub fn dequantize(embedding: &Matrix<i32>) -> Vec<f32> {
    let s = pow2(-(EMBED_BITS as i32));
    embedding
        .data()
        .iter()
        .map(|&v| (f64::from(v) * s) as f32)
        .collect()
}
