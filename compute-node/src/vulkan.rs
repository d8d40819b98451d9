//! The batched Vulkan encoder: [`IntEncoder::forward`] for many sentences in one command
//! buffer, weights resident on the device.
//!
//! [`IntEncoder::forward`] on an [`Executor`] uploads every operand, submits and waits once
//! per kernel (about 180 times a sentence) and moves data between kernels on the host.
//! [`VulkanEncoder`] instead
//!
//! * uploads the model once ([`VulkanEncoder::new`]): the linear layers' int8 weights packed
//!   in gemm-i8's row layout and every affine's parameters stay on the device;
//! * stacks the sentences of a batch as rows, so each row-wise kernel (dynamic quantization,
//!   the linear layers' products, affine, LayerNorm, GELU, residual sums) runs once per
//!   batch;
//! * runs attention per group of sentences of equal length and mask (the heads of all of a
//!   group's sentences are one batched gemm-i8). Sentences are never padded to a common
//!   length: K and V are quantized per head over the whole sequence, so padding would change
//!   their scales and the bytes;
//! * does `IntEncoder::layer`'s data movement on the device: `gather.comp` and
//!   `gather_pack.comp` follow index tables built on the host per batch shape (head split and
//!   merge, V transposed, exponent broadcast, narrowing to packed int8), `dynquant_pack.comp`
//!   writes a linear layer's 14-bit activations as packed int16 rows, and `pack_rows.comp`
//!   stacks the probabilities' int8 halves;
//! * multiplies a linear layer's 14-bit activations `q` by its int8 weights in one
//!   `gemm_i16_i8.comp`: the exact `q·Wᵀ`, which `IntEncoder::forward` gets as
//!   `128·(hi·Wᵀ) + lo·Wᵀ` from two int8 halves `q = 128·hi + lo` with twice the work;
//! * records the whole forward pass of a batch into one command buffer (vulkano's
//!   `AutoCommandBufferBuilder` inserts the barriers), submitted once and waited on once.
//!   The command buffer, its scratch buffers and index tables are kept for the next batch
//!   of the same shape (lengths and masks), which then only uploads its embedding rows.
//!
//! # Why the bytes are the reference's
//! Every arithmetic step but the linear layers' product runs the same shader code as the
//! per-kernel path (whose equality with the Rust references is tested) on the same values;
//! the new kernels only move, narrow and pack values. Narrowing keeps the low byte, which is the value itself because the
//! encoder proves each narrowed value lies in -128..=127 (8-bit quantized Q, K and V,
//! softmax halves `hi = round(p/128) <= 127`, `lo = p - 128 hi`). The int16 product is
//! exact: no partial sum can leave int32, so it is the same integer as the int8 halves'
//! recombination.
//! The references also check data-dependent bounds at run time, which this pass cannot do
//! between kernels; [`VulkanEncoder::new`] instead proves from the encoder's clamps, once,
//! that none of those checks can fail for any input (affine shift ranges, GELU, softmax,
//! LayerNorm, pooling), and refuses the encoder otherwise.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use tracing::debug;
use vulkano::{
    buffer::{BufferContents, Subbuffer},
    command_buffer::{
        allocator::StandardCommandBufferAllocator, AutoCommandBufferBuilder, CommandBufferUsage,
        PrimaryAutoCommandBuffer,
    },
    descriptor_set::allocator::StandardDescriptorSetAllocator,
    device::{Device, Queue},
    memory::allocator::{MemoryTypeFilter, StandardMemoryAllocator},
    pipeline::{ComputePipeline, Pipeline, PipelineBindPoint},
    sync::{self, GpuFuture},
};

use crate::{
    encoder::{
        pow2, uniform_affine, IntEncoder, Tokens, ACT_BITS, EMBED_BITS, LINEAR_K_MAX, LN_BITS,
        MASK_BIAS, MAX_TOKENS, PROB_BITS, QKV_CLAMP, SCORE_CLAMP,
    },
    error::VkContext,
    executor::{dispatch, gemm_pipeline, pipeline, GEMM_MICRO_TILE, LOOP_BUDGET},
    gemm::{pack_rows, words_per_row},
    ibert,
    ops::{dynquant_shift, Affine},
    shaders, ComputeError, DeviceReport, Executor, GemmPath, Matrix, WorkgroupConfig,
};

/// Region starts inside a scratch buffer are multiples of this many 32-bit words (256
/// bytes): Vulkan guarantees `minStorageBufferOffsetAlignment <= 256`, so every slice bound
/// as a storage buffer is aligned on every device.
const ALIGN: usize = 64;

/// Index-table entry that gathers a zero (padding).
const NONE: u32 = u32::MAX;

/// Invocations per workgroup of the element-wise kernels (`local_size_x`).
const SMALL_WG: u64 = 64;

/// Words of one packed int16 row of `k` values, zero-padded to 16 values.
fn words_per_row16(k: usize) -> usize {
    k.div_ceil(16) * 8
}

fn align(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

fn shape(what: impl Into<String>) -> ComputeError {
    ComputeError::Shape(what.into())
}

fn u32_of(v: usize, what: &'static str) -> Result<u32, ComputeError> {
    u32::try_from(v).map_err(|_| ComputeError::DeviceLimit {
        what,
        value: v as u64,
        limit: u64::from(u32::MAX),
    })
}

/// How to build a [`VulkanEncoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VulkanEncoderOptions {
    /// gemm-i8 workgroup of the linear layers (`2·tokens` rows: all the batch's tokens).
    pub linear: WorkgroupConfig,
    /// gemm-i8 workgroup of attention (`Q·Kᵀ`, `P·V`: a sentence's few rows per product).
    pub attention: WorkgroupConfig,
    /// Most tokens per pass (one command buffer); a longer batch runs in several passes.
    /// Bounds the scratch memory: attention's scores grow with `tokens · length`.
    pub max_pass_tokens: usize,
    /// gemm-i8 variant.
    pub path: GemmPath,
}

impl Default for VulkanEncoderOptions {
    fn default() -> Self {
        Self {
            linear: WorkgroupConfig {
                x: 16,
                y: 8,
                k_tile: 64,
            },
            // 8x8 measured faster on lavapipe than 4x4 (which fits a short sentence's
            // products better): there each workgroup costs more than its idle invocations.
            attention: WorkgroupConfig {
                x: 8,
                y: 8,
                k_tile: 32,
            },
            max_pass_tokens: 2048,
            path: GemmPath::Auto,
        }
    }
}

/// An affine's parameters on the device (a model's, or slices bound to one dispatch).
struct DevAffine {
    mult: Subbuffer<[u32]>,
    shift: Subbuffer<[u32]>,
    bias: Subbuffer<[u32]>,
    lo: i32,
    hi: i32,
    cols: usize,
}

/// A linear layer on the device: packed int8 weights and the output affine.
struct DevLinear {
    weight: Subbuffer<[u32]>,
    out: usize,
    inp: usize,
    affine: DevAffine,
}

struct DevLayer {
    qkv: DevLinear,
    attn_out: DevLinear,
    attn_norm: DevAffine,
    ffn_up: DevLinear,
    ffn_down: DevLinear,
    ffn_norm: DevAffine,
}

/// A gemm pipeline with its workgroup.
struct Gemm {
    pipeline: Arc<ComputePipeline>,
    wg: WorkgroupConfig,
    /// Groups of 16 k-values one dispatch may cover (lavapipe's loop cap).
    chunk: u64,
}

/// Checks `wg` for `gemm_i16_i8.comp` (its A slab is twice gemm-i8's) and returns the
/// groups of 16 k-values one dispatch may cover, counting loops as
/// `WorkgroupConfig::k_per_dispatch` does for gemm-i8.
fn i16_chunk(wg: WorkgroupConfig, report: &DeviceReport) -> Result<u64, ComputeError> {
    wg.validate(report)?;
    let t = u64::from(GEMM_MICRO_TILE);
    let threads = u64::from(wg.x) * u64::from(wg.y);
    let groups = u64::from(wg.k_tile / 16);
    let loads_a = (2 * u64::from(wg.block_rows()) * groups).div_ceil(threads);
    let loads_b = (u64::from(wg.block_cols()) * groups).div_ceil(threads);
    let per_round = 1 + loads_a + loads_b + groups * (1 + 3 * t + t * t);
    let fixed = 2 * (t + t * t);
    if per_round + fixed > LOOP_BUDGET {
        return Err(ComputeError::Workgroup(format!(
            "k_tile = {} makes one round of gemm_i16_i8 exceed the loop budget",
            wg.k_tile
        )));
    }
    let shared = u64::from(wg.k_tile) * u64::from(2 * wg.block_rows() + wg.block_cols());
    if shared > u64::from(report.max_shared_memory) {
        return Err(ComputeError::Workgroup(format!(
            "gemm_i16_i8 needs {shared} bytes of shared memory, the device has {}",
            report.max_shared_memory
        )));
    }
    Ok(((LOOP_BUDGET - fixed) / per_round).max(1) * groups)
}

struct Kernels {
    gemm_linear: Gemm,
    gemm_attention: Gemm,
    affine: Arc<ComputePipeline>,
    add: Arc<ComputePipeline>,
    layernorm: Arc<ComputePipeline>,
    softmax: Arc<ComputePipeline>,
    gelu: Arc<ComputePipeline>,
    dynquant: Arc<ComputePipeline>,
    dynquant_pack: Arc<ComputePipeline>,
    gather: Arc<ComputePipeline>,
    gather_pack: Arc<ComputePipeline>,
    pack_rows: Arc<ComputePipeline>,
    pool: Arc<ComputePipeline>,
}

/// The recorded forward pass of one batch shape, kept for the next batch of that shape.
struct Plan {
    /// Each sentence's mask (its length is the sentence's length).
    key: Vec<Vec<u32>>,
    tokens: usize,
    word: Subbuffer<[u32]>,
    position: Subbuffer<[u32]>,
    token_type: Subbuffer<[u32]>,
    out: Subbuffer<[u32]>,
    /// Holds every scratch buffer and index table it uses alive.
    commands: Arc<PrimaryAutoCommandBuffer>,
    dispatches: usize,
}

/// The all-MiniLM-style integer encoder on a Vulkan device, many sentences per submit.
///
/// `VulkanEncoder::new(&executor, &encoder)` uploads the model once; then
/// [`VulkanEncoder::forward_batch`] returns, for each sentence, exactly the bytes of
/// `encoder.forward(&Reference, sentence)`. Calls are serialized (one batch at a time per
/// `VulkanEncoder`); the last batch shape's command buffer and buffers are reused.
pub struct VulkanEncoder {
    device: Arc<Device>,
    queue: Arc<Queue>,
    alloc: Alloc,
    command_buffers: Arc<StandardCommandBufferAllocator>,
    descriptor_sets: Arc<StandardDescriptorSetAllocator>,
    report: DeviceReport,
    options: VulkanEncoderOptions,
    kernels: Kernels,
    /// The host's copy of what is not uploaded: shape, embedding tables, constants (its
    /// layers are emptied once on the device).
    encoder: IntEncoder,
    embed_norm: DevAffine,
    layers: Vec<DevLayer>,
    /// `P·V`'s recombination: uniform 2^-PROB_BITS over `head_dim` columns.
    ctx_affine: DevAffine,
    /// The probabilities' high halves: uniform 1/128 over [`ALIGN`] columns (run flat).
    hi_affine: DevAffine,
    plan: Mutex<Option<Plan>>,
}

/// Allocates storage buffers within the device's range limit.
struct Alloc {
    memory: Arc<StandardMemoryAllocator>,
    max_range: u32,
}

impl Alloc {
    fn storage(
        &self,
        len: usize,
        what: &'static str,
        filter: MemoryTypeFilter,
    ) -> Result<Subbuffer<[u32]>, ComputeError> {
        crate::executor::storage_slice(&self.memory, len.max(1), self.max_range, what, filter)
    }

    /// Device-side scratch of `len` words (contents undefined until a kernel writes them).
    fn scratch(&self, len: usize, what: &'static str) -> Result<Subbuffer<[u32]>, ComputeError> {
        self.storage(len, what, MemoryTypeFilter::PREFER_DEVICE)
    }

    /// A buffer the host writes: at creation, and for the embedding rows before each submit.
    fn writable(&self, len: usize, what: &'static str) -> Result<Subbuffer<[u32]>, ComputeError> {
        self.storage(
            len,
            what,
            MemoryTypeFilter::PREFER_DEVICE | MemoryTypeFilter::HOST_SEQUENTIAL_WRITE,
        )
    }

    fn input(&self, data: &[u32], what: &'static str) -> Result<Subbuffer<[u32]>, ComputeError> {
        let buf = self.writable(data.len(), what)?;
        buf.write().vk("mapping an input buffer")?[..data.len()].copy_from_slice(data);
        Ok(buf)
    }

    fn input_i32(
        &self,
        data: &[i32],
        what: &'static str,
    ) -> Result<Subbuffer<[u32]>, ComputeError> {
        let bits: Vec<u32> = data.iter().map(|&v| v as u32).collect();
        self.input(&bits, what)
    }

    fn affine(&self, a: &Affine) -> Result<DevAffine, ComputeError> {
        Ok(DevAffine {
            mult: self.input_i32(&a.mult, "affine multipliers")?,
            shift: self.input(&a.shift, "affine shifts")?,
            bias: self.input_i32(&a.bias, "affine biases")?,
            lo: a.lo,
            hi: a.hi,
            cols: a.cols(),
        })
    }

    fn linear(&self, w: &Matrix<i8>, a: &Affine) -> Result<DevLinear, ComputeError> {
        let mut packed = vec![0u32; w.rows() * words_per_row(w.cols())];
        pack_rows(w, &mut packed);
        Ok(DevLinear {
            weight: self.input(&packed, "packed weights")?,
            out: w.rows(),
            inp: w.cols(),
            affine: self.affine(a)?,
        })
    }
}

/// The shift range an affine needs for row shifts in `0..=max_row_shift`: every
/// `shift − row shift` in 1..=62 (`ops::check_affine`, which the reference runs on data).
fn check_shifts(a: &Affine, max_row_shift: u32, what: &str) -> Result<(), ComputeError> {
    let lo = a.shift.iter().copied().min().unwrap_or(1);
    let hi = a.shift.iter().copied().max().unwrap_or(1);
    if i64::from(lo) - i64::from(max_row_shift) < 1 || hi > 62 {
        return Err(shape(format!(
            "{what}: shifts {lo}..={hi} with row shifts up to {max_row_shift} leave 1..=62; \
             this encoder cannot run batched"
        )));
    }
    Ok(())
}

/// Largest magnitude an affine's output can have.
fn clamp_of(a: &Affine) -> u32 {
    a.lo.unsigned_abs().max(a.hi.unsigned_abs())
}

/// Proves, from the encoder's clamps alone, that none of the references' data-dependent
/// checks can fail on any input, so that skipping them on the device changes nothing.
fn prove_bounds(e: &IntEncoder) -> Result<(), ComputeError> {
    let c = e.config;
    let act_qmax = (1u32 << (ACT_BITS - 1)) - 1;
    let max_len = MAX_TOKENS.min(c.max_positions);
    // The split quantization needs ACT_BITS <= 14 (`ops::check_dynquant_split`).
    if ACT_BITS > 14 {
        return Err(shape("split quantization needs at most 14 bits"));
    }
    // gemm_i16_i8 multiplies whole ACT_BITS-bit activations by the int8 weights: with
    // |q| <= 2^(ACT_BITS-1), |w| <= 127 and k <= LINEAR_K_MAX every partial sum stays in
    // int32 (8192 · 127 · 2048 < 2^31), so it is the exact q·Wᵀ in any order.
    if (1i64 << (ACT_BITS - 1)) * 127 * LINEAR_K_MAX as i64 > i64::from(i32::MAX) {
        return Err(shape("int16 × int8 products could overflow int32"));
    }
    for l in &e.layers {
        for w in [&l.qkv, &l.attn_out, &l.ffn_up, &l.ffn_down] {
            if w.cols() > LINEAR_K_MAX || w.data().contains(&i8::MIN) {
                return Err(shape(
                    "linear weights must be symmetric int8 (no -128) with k <= LINEAR_K_MAX",
                ));
            }
        }
    }
    check_shifts(&e.embed_norm, 0, "embedding LayerNorm affine")?;
    let mut resid = clamp_of(&e.embed_norm);
    for (i, l) in e.layers.iter().enumerate() {
        // Each linear layer's row shift is the dynamic exponent of its input, at most
        // `dynquant_shift(max |input|)`.
        check_shifts(
            &l.qkv_affine,
            dynquant_shift(resid, act_qmax),
            "Q/K/V projection",
        )?;
        let qkv = clamp_of(&l.qkv_affine);
        let k8 = dynquant_shift(qkv, 127);
        // Scores: Q's and K's exponents add; the context: V's.
        let (sm, ss) = e.score;
        check_shifts(
            &Affine {
                mult: vec![sm],
                shift: vec![ss],
                bias: vec![MASK_BIAS],
                lo: 0,
                hi: 0,
            },
            2 * k8,
            "attention scores",
        )?;
        let ctx = ctx_affine(c.head_dim())?;
        check_shifts(&ctx, k8, "attention context")?;
        check_shifts(&hi_affine()?, 0, "probability halves")?;
        check_shifts(
            &l.attn_out_affine,
            dynquant_shift(clamp_of(&ctx), act_qmax),
            "attention output",
        )?;
        check_shifts(&l.attn_norm, 0, "attention LayerNorm affine")?;
        check_shifts(
            &l.ffn_up_affine,
            dynquant_shift(clamp_of(&l.attn_norm), act_qmax),
            "FFN up-projection",
        )?;
        // GELU on the up-projection's clamp: ibert's check is max|q| · E < 2^31, and then
        // |GELU(q)| <= max|q| · E < 2^31 bounds the down-projection's input.
        let up = clamp_of(&l.ffn_up_affine);
        ibert::check_gelu(
            &Matrix::new(1, 1, vec![up.min(i32::MAX as u32) as i32])?,
            &e.gelu,
        )?;
        check_shifts(
            &l.ffn_down_affine,
            dynquant_shift(i32::MAX as u32, act_qmax),
            "FFN down-projection",
        )?;
        check_shifts(&l.ffn_norm, 0, "FFN LayerNorm affine")?;
        // LayerNorm inputs: residual + sublayer output, both clamped.
        for (a, b) in [
            (resid, clamp_of(&l.attn_out_affine)),
            (clamp_of(&l.attn_norm), clamp_of(&l.ffn_down_affine)),
        ] {
            check_layernorm_span(u64::from(a) + u64::from(b), c.hidden, &format!("layer {i}"))?;
        }
        // Softmax on clamped scores (the mask bias is added before the clamp).
        let span = SCORE_CLAMP;
        let mut row = vec![0i32; max_len];
        row[0] = -span;
        if max_len > 1 {
            row[1] = span;
        }
        ibert::check_softmax(&Matrix::new(1, max_len, row)?, &e.softmax)?;
        resid = clamp_of(&l.ffn_norm);
    }
    // The embedding sum of three int16 rows.
    check_layernorm_span(3 * 2 * 32768, c.hidden, "embeddings")?;
    // Pooling over the longest sentence of clamped rows.
    let x = Matrix::filled(max_len, c.hidden, resid.min(i32::MAX as u32) as i32)?;
    crate::ops::check_pool(&x, &vec![1; max_len], EMBED_BITS)?;
    Ok(())
}

/// `IntEncoder::layer`'s recombination of `P·V`: uniform 2^-PROB_BITS over `d` columns.
fn ctx_affine(d: usize) -> Result<Affine, ComputeError> {
    uniform_affine(pow2(-(PROB_BITS as i32)), d, -QKV_CLAMP, QKV_CLAMP)
}

/// `ibert::check_layernorm` for rows whose values span at most `span`.
fn check_layernorm_span(span: u64, cols: usize, what: &str) -> Result<(), ComputeError> {
    let half = i32::try_from(span / 2 + 1).map_err(|_| shape(format!("{what}: LayerNorm span")))?;
    let mut row = vec![0i32; cols];
    row[0] = -half;
    if cols > 1 {
        row[1] = half;
    }
    ibert::check_layernorm(&Matrix::new(1, cols, row)?, LN_BITS)
}

/// The affine taking softmax probabilities to their high int8 halves, `round(p / 128)`
/// clamped to int8: `IntEncoder::layer`'s parameters, over [`ALIGN`] columns so that it can
/// run over a whole buffer at once (they are the same for every column).
fn hi_affine() -> Result<Affine, ComputeError> {
    uniform_affine(1.0 / 128.0, ALIGN, -128, 127)
}

impl VulkanEncoder {
    /// Uploads `encoder`'s weights to `exec`'s device, with [`VulkanEncoderOptions::default`].
    pub fn new(exec: &Executor, encoder: &IntEncoder) -> Result<Self, ComputeError> {
        Self::with_options(exec, encoder, VulkanEncoderOptions::default())
    }

    /// [`VulkanEncoder::new`] with explicit options.
    pub fn with_options(
        exec: &Executor,
        encoder: &IntEncoder,
        options: VulkanEncoderOptions,
    ) -> Result<Self, ComputeError> {
        let report = exec.report().clone();
        options.linear.validate(&report)?;
        options.attention.validate(&report)?;
        if options.max_pass_tokens < MAX_TOKENS {
            return Err(shape(format!(
                "max_pass_tokens = {} must hold one sentence of {MAX_TOKENS} tokens",
                options.max_pass_tokens
            )));
        }
        prove_bounds(encoder)?;
        let device = exec.device.clone();
        let (gemm_name, gemm_bytes) = match exec.resolve(options.path)? {
            GemmPath::DotProduct => ("gemm_i8_dot", shaders::GEMM_I8_DOT),
            _ => ("gemm_i8_plain", shaders::GEMM_I8_PLAIN),
        };
        let kernels = Kernels {
            gemm_linear: Gemm {
                pipeline: gemm_pipeline(
                    &device,
                    "gemm_i16_i8",
                    shaders::GEMM_I16_I8,
                    options.linear,
                )?,
                wg: options.linear,
                chunk: i16_chunk(options.linear, &report)?,
            },
            gemm_attention: Gemm {
                pipeline: gemm_pipeline(&device, gemm_name, gemm_bytes, options.attention)?,
                wg: options.attention,
                chunk: options.attention.groups_per_dispatch(),
            },
            affine: pipeline(&device, "affine", shaders::AFFINE, &[])?,
            add: pipeline(&device, "add", shaders::ADD, &[])?,
            layernorm: pipeline(&device, "layernorm", shaders::LAYERNORM, &[])?,
            softmax: pipeline(&device, "softmax", shaders::SOFTMAX, &[])?,
            gelu: pipeline(&device, "gelu", shaders::GELU, &[])?,
            dynquant: pipeline(&device, "dynquant", shaders::DYNQUANT, &[])?,
            dynquant_pack: pipeline(&device, "dynquant_pack", shaders::DYNQUANT_PACK, &[])?,
            gather: pipeline(&device, "gather", shaders::GATHER, &[])?,
            gather_pack: pipeline(&device, "gather_pack", shaders::GATHER_PACK, &[])?,
            pack_rows: pipeline(&device, "pack_rows", shaders::PACK_ROWS, &[])?,
            pool: pipeline(&device, "pool_batched", shaders::POOL_BATCHED, &[])?,
        };
        let alloc = Alloc {
            memory: exec.memory.clone(),
            max_range: report.max_storage_buffer_range,
        };
        let started = Instant::now();
        let layers = encoder
            .layers
            .iter()
            .map(|l| {
                Ok(DevLayer {
                    qkv: alloc.linear(&l.qkv, &l.qkv_affine)?,
                    attn_out: alloc.linear(&l.attn_out, &l.attn_out_affine)?,
                    attn_norm: alloc.affine(&l.attn_norm)?,
                    ffn_up: alloc.linear(&l.ffn_up, &l.ffn_up_affine)?,
                    ffn_down: alloc.linear(&l.ffn_down, &l.ffn_down_affine)?,
                    ffn_norm: alloc.affine(&l.ffn_norm)?,
                })
            })
            .collect::<Result<Vec<_>, ComputeError>>()?;
        let embed_norm = alloc.affine(&encoder.embed_norm)?;
        let ctx_affine = alloc.affine(&ctx_affine(encoder.config.head_dim())?)?;
        let hi_affine = alloc.affine(&hi_affine()?)?;
        debug!(elapsed = ?started.elapsed(), "uploaded the encoder's weights");
        // The host keeps the embedding tables and constants; the layers live on the device.
        let mut host = encoder.clone();
        host.layers.clear();
        Ok(Self {
            device,
            queue: exec.queue.clone(),
            alloc,
            command_buffers: exec.command_buffers.clone(),
            descriptor_sets: exec.descriptor_sets.clone(),
            report,
            options,
            kernels,
            encoder: host,
            embed_norm,
            layers,
            ctx_affine,
            hi_affine,
            plan: Mutex::new(None),
        })
    }

    /// The options this encoder was built with.
    pub fn options(&self) -> VulkanEncoderOptions {
        self.options
    }

    /// Embeds every sentence: for each, the `1 × hidden` integer embedding, byte-identical
    /// to `IntEncoder::forward(&Reference, sentence)`. Every sentence is checked (token ids,
    /// types, lengths) before anything is recorded or dispatched; one bad sentence fails the
    /// whole call. Sentences run in passes of at most `max_pass_tokens` tokens, one submit
    /// and one wait each.
    pub fn forward_batch(&self, inputs: &[Tokens]) -> Result<Vec<Matrix<i32>>, ComputeError> {
        for (i, t) in inputs.iter().enumerate() {
            self.encoder
                .check_tokens(t)
                .map_err(|e| shape(format!("sentence {i}: {e}")))?;
        }
        let mut out = Vec::with_capacity(inputs.len());
        let mut begin = 0;
        while begin < inputs.len() {
            let mut end = begin;
            let mut tokens = 0;
            // A checked sentence has at most MAX_TOKENS <= max_pass_tokens tokens, so each
            // pass takes at least one.
            while end < inputs.len()
                && (end == begin || tokens + inputs[end].ids.len() <= self.options.max_pass_tokens)
            {
                tokens += inputs[end].ids.len();
                end += 1;
            }
            out.extend(self.pass(&inputs[begin..end])?);
            begin = end;
        }
        Ok(out)
    }

    /// One pass: records the plan for this shape unless the last one fits, writes the
    /// embedding rows, submits once and waits once.
    fn pass(&self, inputs: &[Tokens]) -> Result<Vec<Matrix<i32>>, ComputeError> {
        let key: Vec<Vec<u32>> = inputs.iter().map(|t| t.mask.clone()).collect();
        let mut guard = self
            .plan
            .lock()
            .map_err(|_| shape("a previous batch panicked while holding the plan"))?;
        if guard.as_ref().is_none_or(|p| p.key != key) {
            // Free the old plan's buffers before allocating the new ones.
            *guard = None;
            let started = Instant::now();
            let plan = self.record(key)?;
            debug!(elapsed = ?started.elapsed(), dispatches = plan.dispatches, "recorded a batch");
            *guard = Some(plan);
        }
        let plan = guard.as_ref().ok_or_else(|| shape("no recorded batch"))?;
        let started = Instant::now();
        self.upload_embeddings(plan, inputs)?;
        let uploaded = started.elapsed();
        sync::now(self.device.clone())
            .then_execute(self.queue.clone(), plan.commands.clone())
            .vk("submitting a batch")?
            .then_signal_fence_and_flush()
            .vk("flushing a batch")?
            .wait(None)
            .vk("waiting for a batch")?;
        let ran = started.elapsed();
        let h = self.encoder.config.hidden;
        let data = plan.out.read().vk("mapping the embeddings")?;
        let out = data[..inputs.len() * h]
            .chunks_exact(h)
            .map(|row| Matrix::new(1, h, row.iter().map(|&v| v as i32).collect()))
            .collect::<Result<Vec<_>, _>>()?;
        debug!(
            sequences = inputs.len(),
            tokens = plan.tokens,
            ?uploaded,
            ?ran,
            "ran a batch"
        );
        Ok(out)
    }

    /// Writes the batch's word, position and token-type rows (the int16 tables as int32):
    /// the only per-batch upload.
    fn upload_embeddings(&self, plan: &Plan, inputs: &[Tokens]) -> Result<(), ComputeError> {
        let e = &self.encoder;
        let h = e.config.hidden;
        let mut w = plan.word.write().vk("mapping the word rows")?;
        let mut p = plan.position.write().vk("mapping the position rows")?;
        let mut t = plan.token_type.write().vk("mapping the token-type rows")?;
        let widen = |dst: &mut [u32], src: &[i16]| {
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = i32::from(v) as u32;
            }
        };
        let mut row = 0;
        for s in inputs {
            for (pos, (&id, &ty)) in s.ids.iter().zip(&s.type_ids).enumerate() {
                // Ids, types and positions were checked against the tables in
                // `forward_batch`.
                let (id, ty) = (id as usize, ty as usize);
                let dst = row * h..(row + 1) * h;
                widen(&mut w[dst.clone()], &e.word[id * h..(id + 1) * h]);
                widen(&mut p[dst.clone()], &e.position[pos * h..(pos + 1) * h]);
                widen(&mut t[dst], &e.token_type[ty * h..(ty + 1) * h]);
                row += 1;
            }
        }
        Ok(())
    }
}

/// A group of sentences of one length and mask, whose attention runs together, and where
/// its data lies in the attention buffers (all offsets multiples of [`ALIGN`] elements).
struct Group {
    n: usize,
    /// Sentence indices, in batch order.
    members: Vec<usize>,
    /// First Q row (a Q row is one (sentence, head, token)); also the first row of the
    /// scores' row shifts, of the context and of its row shifts.
    qrow0: usize,
    /// K then V rows (one per (sentence, head), `n·d` long) in the `att` buffers.
    kv: usize,
    /// K then V exponents.
    kv_exp: usize,
    /// Packed Q rows, K rows, and V transposed twice (hi and lo batches), in words.
    q8: usize,
    k8: usize,
    vt2: usize,
    /// Scores, probabilities and their halves (`heads·c·n` rows of `n`).
    sc: usize,
    /// Packed `[hi; lo]` probabilities, in words.
    pa: usize,
    /// `P·V` products, `[top; bottom]`.
    ct: usize,
    /// Score affine parameters (`n` columns).
    params: usize,
}

/// Where everything of one batch shape lies.
struct Layout {
    tokens: usize,
    /// (first row, length) of each sentence.
    seqs: Vec<(usize, usize)>,
    groups: Vec<Group>,
    /// Q rows, padded per group.
    q_rows: usize,
    att_len: usize,
    kv_exp_len: usize,
    qk8_len: usize,
    sc_len: usize,
    pa_len: usize,
    ct_len: usize,
    params_len: usize,
}

impl Layout {
    fn new(masks: &[Vec<u32>], heads: usize, d: usize) -> Self {
        let mut seqs = Vec::with_capacity(masks.len());
        let mut tokens = 0;
        let mut groups: Vec<(usize, &Vec<u32>, Vec<usize>)> = Vec::new();
        for (i, m) in masks.iter().enumerate() {
            seqs.push((tokens, m.len()));
            tokens += m.len();
            match groups.iter_mut().find(|g| g.1 == m) {
                Some(g) => g.2.push(i),
                None => groups.push((m.len(), m, vec![i])),
            }
        }
        let mut l = Self {
            tokens,
            seqs,
            groups: Vec::with_capacity(groups.len()),
            q_rows: 0,
            att_len: 0,
            kv_exp_len: 0,
            qk8_len: 0,
            sc_len: 0,
            pa_len: 0,
            ct_len: 0,
            params_len: 0,
        };
        for (n, _, members) in &groups {
            let bh = members.len() * heads;
            l.q_rows += align(bh * n);
        }
        // The att buffers hold Q (q_rows × d) first, then each group's K and V.
        l.att_len = l.q_rows * d;
        for (n, _, members) in groups {
            let bh = members.len() * heads;
            let (wd, wn) = (words_per_row(d), words_per_row(n));
            let g = Group {
                n,
                qrow0: l.groups.last().map_or(0, |g: &Group| {
                    g.qrow0 + align(g.members.len() * heads * g.n)
                }),
                members,
                kv: l.att_len,
                kv_exp: l.kv_exp_len,
                q8: l.qk8_len,
                k8: l.qk8_len + align(bh * n * wd),
                vt2: l.qk8_len + 2 * align(bh * n * wd),
                sc: l.sc_len,
                pa: l.pa_len,
                ct: l.ct_len,
                params: l.params_len,
            };
            l.att_len += align(2 * bh * n * d);
            l.kv_exp_len += align(2 * bh);
            l.qk8_len += 2 * align(bh * n * wd) + align(2 * bh * d * wn);
            l.sc_len += align(bh * n * n);
            l.pa_len += align(2 * bh * n * wn);
            l.ct_len += align(2 * bh * n * d);
            l.params_len += align(n);
            l.groups.push(g);
        }
        l
    }
}

/// Most 32-bit words of scratch, index tables and inputs one pass may use (4 GiB): far above
/// MiniLM's worst pass (2048 tokens of 256-token sentences: about 0.5 GiB), a bound on what
/// a strange encoder shape (thousands of heads) could make the host allocate.
const MAX_PASS_WORDS: usize = 1 << 30;

/// A slice of `len` elements of `b` from `off`.
fn sl(b: &Subbuffer<[u32]>, off: usize, len: usize) -> Result<Subbuffer<[u32]>, ComputeError> {
    let end = off
        .checked_add(len.max(1))
        .filter(|&e| e as u64 <= b.len())
        .ok_or_else(|| shape(format!("slice {off}+{len} outside a buffer of {}", b.len())))?;
    Ok(b.clone().slice(off as u64..end as u64))
}

/// Records dispatches into one command buffer.
struct Rec<'a> {
    b: AutoCommandBufferBuilder<PrimaryAutoCommandBuffer>,
    sets: &'a Arc<StandardDescriptorSetAllocator>,
    report: &'a DeviceReport,
    dispatches: usize,
}

impl Rec<'_> {
    /// Binds `bufs` to bindings 0, 1, ... of `p`, pushes `push`, dispatches `groups`.
    fn run<P: BufferContents>(
        &mut self,
        p: &Arc<ComputePipeline>,
        bufs: &[&Subbuffer<[u32]>],
        push: P,
        groups: [u32; 3],
    ) -> Result<(), ComputeError> {
        let layout = p.layout().clone();
        let set = crate::executor::buffer_set(self.sets, p, bufs.iter().map(|&b| b.clone()))?;
        self.b
            .bind_pipeline_compute(p.clone())
            .vk("binding a pipeline")?
            .bind_descriptor_sets(PipelineBindPoint::Compute, layout.clone(), 0, set)
            .vk("binding a descriptor set")?
            .push_constants(layout, 0, push)
            .vk("pushing constants")?;
        dispatch(&mut self.b, groups)?;
        self.dispatches += 1;
        Ok(())
    }

    /// `groups` workgroups on a 2D grid within the device's limits; the shaders linearise
    /// it as `x + y · gl_NumWorkGroups.x` and skip the overhang.
    fn grid(&self, groups: u64) -> Result<[u32; 3], ComputeError> {
        crate::executor::grid(self.report, groups)
    }

    /// One invocation per item, 64 per workgroup.
    fn items(
        &mut self,
        p: &Arc<ComputePipeline>,
        bufs: &[&Subbuffer<[u32]>],
        push: [u32; 8],
        items: usize,
    ) -> Result<(), ComputeError> {
        let groups = self.grid((items as u64).div_ceil(SMALL_WG))?;
        self.run(p, bufs, push, groups)
    }

    /// One workgroup per row.
    fn rows(
        &mut self,
        p: &Arc<ComputePipeline>,
        bufs: &[&Subbuffer<[u32]>],
        push: [u32; 8],
        rows: usize,
    ) -> Result<(), ComputeError> {
        let groups = self.grid(rows as u64)?;
        self.run(p, bufs, push, groups)
    }

    /// `batch` gemm-i8 products `C = A × Btᵀ` (`m × k` by `n × k` each), k split over
    /// dispatches within the loop budget as `Executor::gemm_i8_batched` does.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &mut self,
        g: &Gemm,
        a: &Subbuffer<[u32]>,
        bt: &Subbuffer<[u32]>,
        c: &Subbuffer<[u32]>,
        (m, n, k): (usize, usize, usize),
        batch: usize,
    ) -> Result<(), ComputeError> {
        if k == 0 || k > crate::K_MAX {
            return Err(ComputeError::KTooLarge {
                k,
                max: crate::K_MAX,
            });
        }
        let counts = [
            (n.div_ceil(g.wg.block_cols() as usize), "workgroups along n"),
            (m.div_ceil(g.wg.block_rows() as usize), "workgroups along m"),
            (batch, "gemm batches"),
        ];
        let mut groups = [0u32; 3];
        for (i, (count, what)) in counts.into_iter().enumerate() {
            let limit = self.report.max_workgroup_count[i];
            groups[i] = u32::try_from(count).ok().filter(|&c| c <= limit).ok_or(
                ComputeError::DeviceLimit {
                    what,
                    value: count as u64,
                    limit: u64::from(limit),
                },
            )?;
        }
        // Groups of 16 k-values (one uvec4 of B per row), as both shaders index them.
        let kw = u32_of(k.div_ceil(16), "k")?;
        let chunk = u32::try_from(g.chunk.min(u64::from(kw))).unwrap_or(kw);
        let (m, n) = (u32_of(m, "m")?, u32_of(n, "n")?);
        // Integer addition without overflow is associative, so splitting k over
        // dispatches cannot change the result.
        let mut k_begin = 0u32;
        while k_begin < kw {
            let k_end = k_begin.saturating_add(chunk).min(kw);
            let push = [m, n, kw, k_begin, k_end, u32::from(k_begin > 0)];
            self.run(&g.pipeline, &[a, bt, c], push, groups)?;
            k_begin = k_end;
        }
        Ok(())
    }

    /// `affine.comp` over `total` elements of `x` (or `x·ma + x2[off..]·mb`).
    #[allow(clippy::too_many_arguments)]
    fn affine(
        &mut self,
        k: &Kernels,
        x: &Subbuffer<[u32]>,
        second: Option<(&Subbuffer<[u32]>, i32, i32, usize)>,
        a: &DevAffine,
        row_shift: &Subbuffer<[u32]>,
        y: &Subbuffer<[u32]>,
        total: usize,
    ) -> Result<(), ComputeError> {
        let (x2, ma, mb, off) = second.unwrap_or((x, 1, 0, 0));
        let push = [
            u32_of(total, "elements")?,
            u32_of(a.cols, "columns")?,
            a.lo as u32,
            a.hi as u32,
            ma as u32,
            mb as u32,
            u32::from(second.is_some()),
            u32_of(off, "offset")?,
        ];
        self.items(
            &k.affine,
            &[x, &a.mult, &a.shift, &a.bias, row_shift, y, x2],
            push,
            total,
        )
    }

    /// `add.comp`: `y = a·ma + b·mb` over `total` elements.
    fn add(
        &mut self,
        k: &Kernels,
        (a, ma): (&Subbuffer<[u32]>, i32),
        (b, mb): (&Subbuffer<[u32]>, i32),
        y: &Subbuffer<[u32]>,
        total: usize,
    ) -> Result<(), ComputeError> {
        let push = [
            u32_of(total, "elements")?,
            ma as u32,
            mb as u32,
            0,
            0,
            0,
            0,
            0,
        ];
        self.items(&k.add, &[a, b, y], push, total)
    }
}

/// The batch-wide scratch buffers (rows: all the pass's tokens).
struct Scratch {
    x: Subbuffer<[u32]>,
    x1: Subbuffer<[u32]>,
    sum: Subbuffer<[u32]>,
    normed: Subbuffer<[u32]>,
    o: Subbuffer<[u32]>,
    qkv: Subbuffer<[u32]>,
    merged: Subbuffer<[u32]>,
    up: Subbuffer<[u32]>,
    gelu: Subbuffer<[u32]>,
    /// A linear layer's input as packed int16 rows.
    apk: Subbuffer<[u32]>,
    /// A linear layer's gemm output.
    acc: Subbuffer<[u32]>,
    /// A linear layer's row exponents.
    kx: Subbuffer<[u32]>,
    /// Zero row shifts.
    zeros: Subbuffer<[u32]>,
    /// Bound where a kernel needs a buffer it does not use.
    dummy: Subbuffer<[u32]>,
    // Attention (see `Layout`).
    att_in: Subbuffer<[u32]>,
    att_q: Subbuffer<[u32]>,
    q_exp: Subbuffer<[u32]>,
    kv_exp: Subbuffer<[u32]>,
    exp2: Subbuffer<[u32]>,
    score_shift: Subbuffer<[u32]>,
    qk8: Subbuffer<[u32]>,
    scores: Subbuffer<[u32]>,
    z: Subbuffer<[u32]>,
    p: Subbuffer<[u32]>,
    p_hi: Subbuffer<[u32]>,
    p_lo: Subbuffer<[u32]>,
    pa: Subbuffer<[u32]>,
    ct: Subbuffer<[u32]>,
    ctx: Subbuffer<[u32]>,
    score_mult: Subbuffer<[u32]>,
    score_shift_c: Subbuffer<[u32]>,
    score_bias: Subbuffer<[u32]>,
    att_idx: Subbuffer<[u32]>,
    qk8_idx: Subbuffer<[u32]>,
    exp_idx: Subbuffer<[u32]>,
    merge_idx: Subbuffer<[u32]>,
}

impl VulkanEncoder {
    /// Builds the index tables and scratch of one batch shape and records its forward pass.
    fn record(&self, key: Vec<Vec<u32>>) -> Result<Plan, ComputeError> {
        let c = self.encoder.config;
        let (h, heads, d, inter) = (c.hidden, c.heads, c.head_dim(), c.intermediate);
        let lay = Layout::new(&key, heads, d);
        let n_tok = lay.tokens;
        let seqs = key.len();
        let max_in = h.max(inter);
        let max_out = (3 * h).max(inter);
        // Bound what this shape makes the host and the device allocate before any of it
        // is (index tables hold up to four entries per packed word).
        let words = [
            12 * n_tok * h,
            2 * n_tok * inter,
            n_tok * words_per_row16(max_in),
            n_tok * max_out,
            3 * lay.att_len,
            5 * lay.qk8_len,
            6 * lay.sc_len,
            lay.pa_len,
            lay.ct_len,
            3 * lay.q_rows * d,
        ]
        .iter()
        .try_fold(0usize, |acc, &w| acc.checked_add(w))
        .filter(|&w| w <= MAX_PASS_WORDS)
        .ok_or_else(|| shape(format!("a pass of {n_tok} tokens needs too much memory")))?;
        debug!(words, groups = lay.groups.len(), "planning a batch");

        let a = &self.alloc;
        let host_read = MemoryTypeFilter::PREFER_DEVICE | MemoryTypeFilter::HOST_RANDOM_ACCESS;
        let mask: Vec<u32> = key.iter().flatten().copied().collect();
        let seq_table: Vec<u32> = lay
            .seqs
            .iter()
            .flat_map(|&(r0, n)| [r0 as u32, n as u32])
            .collect();
        let (sm, ss) = self.encoder.score;
        let mut sp_mult = vec![0u32; lay.params_len];
        let mut sp_shift = vec![0u32; lay.params_len];
        let mut sp_bias = vec![0u32; lay.params_len];
        for g in &lay.groups {
            let m = &key[g.members[0]];
            for col in 0..g.n {
                sp_mult[g.params + col] = sm as u32;
                sp_shift[g.params + col] = ss;
                // Padded keys: an additive mask, as `IntEncoder::layer` adds.
                sp_bias[g.params + col] = if m[col] == 0 { MASK_BIAS as u32 } else { 0 };
            }
        }
        let (att_idx, qk8_idx, exp_idx, merge_idx) = index_tables(&lay, h, heads, d);
        let s = Scratch {
            x: a.scratch(n_tok * h, "residual stream")?,
            x1: a.scratch(n_tok * h, "residual stream")?,
            sum: a.scratch(n_tok * h, "residual sums")?,
            normed: a.scratch(n_tok * h, "LayerNorm output")?,
            o: a.scratch(n_tok * h, "sublayer output")?,
            qkv: a.scratch(n_tok * 3 * h, "Q, K and V")?,
            merged: a.scratch(n_tok * h, "attention context")?,
            up: a.scratch(n_tok * inter, "FFN up-projection")?,
            gelu: a.scratch(n_tok * inter, "GELU output")?,
            apk: a.scratch(n_tok * words_per_row16(max_in), "packed activations")?,
            acc: a.scratch(n_tok * max_out, "gemm accumulators")?,
            kx: a.scratch(n_tok, "row exponents")?,
            zeros: a.input(&vec![0; n_tok.max(lay.sc_len / ALIGN)], "zero row shifts")?,
            dummy: a.scratch(1, "unused binding")?,
            att_in: a.scratch(lay.att_len, "attention inputs")?,
            att_q: a.scratch(lay.att_len, "quantized attention inputs")?,
            q_exp: a.scratch(lay.q_rows, "Q exponents")?,
            kv_exp: a.scratch(lay.kv_exp_len, "K and V exponents")?,
            exp2: a.scratch(2 * lay.q_rows, "broadcast exponents")?,
            score_shift: a.scratch(lay.q_rows, "score row shifts")?,
            qk8: a.scratch(lay.qk8_len, "packed Q, K and V")?,
            scores: a.scratch(lay.sc_len, "attention scores")?,
            z: a.scratch(lay.sc_len, "scaled scores")?,
            p: a.scratch(lay.sc_len, "probabilities")?,
            p_hi: a.scratch(lay.sc_len, "probability high halves")?,
            p_lo: a.scratch(lay.sc_len, "probability low halves")?,
            pa: a.scratch(lay.pa_len, "packed probabilities")?,
            ct: a.scratch(lay.ct_len, "P·V products")?,
            ctx: a.scratch(lay.q_rows * d, "attention context per head")?,
            score_mult: a.input(&sp_mult, "score multipliers")?,
            score_shift_c: a.input(&sp_shift, "score shifts")?,
            score_bias: a.input(&sp_bias, "score biases")?,
            att_idx: a.input(&att_idx, "head split indices")?,
            qk8_idx: a.input(&qk8_idx, "packing indices")?,
            exp_idx: a.input(&exp_idx, "exponent indices")?,
            merge_idx: a.input(&merge_idx, "head merge indices")?,
        };
        drop((att_idx, qk8_idx, exp_idx, merge_idx));
        let word = a.writable(n_tok * h, "word rows")?;
        let position = a.writable(n_tok * h, "position rows")?;
        let token_type = a.writable(n_tok * h, "token-type rows")?;
        let out = a.storage(seqs * h, "embeddings", host_read)?;
        let mask_buf = a.input(&mask, "attention mask")?;
        let seq_buf = a.input(&seq_table, "sequence table")?;

        let mut r = Rec {
            b: AutoCommandBufferBuilder::primary(
                self.command_buffers.clone(),
                self.queue.queue_family_index(),
                CommandBufferUsage::MultipleSubmit,
            )
            .vk("allocating a command buffer")?,
            sets: &self.descriptor_sets,
            report: &self.report,
            dispatches: 0,
        };
        let k = &self.kernels;
        let nh = n_tok * h;
        // Embeddings: word + position + token type, LayerNorm, γ/β.
        r.add(k, (&word, 1), (&position, 1), &s.sum, nh)?;
        r.add(k, (&s.sum, 1), (&token_type, 1), &s.o, nh)?;
        self.layernorm(&mut r, &s.o, &s.normed, n_tok)?;
        r.affine(k, &s.normed, None, &self.embed_norm, &s.zeros, &s.x, nh)?;
        for l in &self.layers {
            self.layer(&mut r, l, &lay, &s)?;
        }
        let max_x = self.report.max_workgroup_count[0];
        let count =
            u32::try_from(seqs)
                .ok()
                .filter(|&c| c <= max_x)
                .ok_or(ComputeError::DeviceLimit {
                    what: "sequences per pass",
                    value: seqs as u64,
                    limit: u64::from(max_x),
                })?;
        let push = [
            u32_of(n_tok, "rows")?,
            u32_of(h, "columns")?,
            EMBED_BITS,
            0,
            0,
            0,
            0,
            0,
        ];
        r.run(
            &k.pool,
            &[&s.x, &mask_buf, &out, &seq_buf],
            push,
            [count, 1, 1],
        )?;
        let dispatches = r.dispatches;
        let commands = r.b.build().vk("building the command buffer")?;
        Ok(Plan {
            key,
            tokens: n_tok,
            word,
            position,
            token_type,
            out,
            commands,
            dispatches,
        })
    }

    fn layernorm(
        &self,
        r: &mut Rec<'_>,
        x: &Subbuffer<[u32]>,
        y: &Subbuffer<[u32]>,
        rows: usize,
    ) -> Result<(), ComputeError> {
        let h = u32_of(self.encoder.config.hidden, "columns")?;
        let push = [u32_of(rows, "rows")?, h, LN_BITS, 0, 0, 0, 0, 0];
        r.rows(&self.kernels.layernorm, &[x, y], push, rows)
    }

    /// A linear layer on all rows: each row quantized to [`ACT_BITS`]-bit integers `q` with
    /// its power-of-two exponent, packed as int16, one `gemm_i16_i8` giving the exact `q·Wᵀ`,
    /// and the output affine with the row's exponent. `encoder::linear` computes the same
    /// `q·Wᵀ` as `128·(hi·Wᵀ) + lo·Wᵀ` from the int8 halves `q = 128·hi + lo`: both are the
    /// exact integer (no partial sum leaves int32, see `prove_bounds`), so the affine sees
    /// the same value.
    fn linear(
        &self,
        r: &mut Rec<'_>,
        lin: &DevLinear,
        s: &Scratch,
        x: &Subbuffer<[u32]>,
        y: &Subbuffer<[u32]>,
        rows: usize,
    ) -> Result<(), ComputeError> {
        let k = &self.kernels;
        let push = [
            u32_of(rows, "rows")?,
            u32_of(lin.inp, "columns")?,
            (1u32 << (ACT_BITS - 1)) - 1,
            u32_of(words_per_row16(lin.inp), "words per row")?,
            0,
            0,
            0,
            0,
        ];
        r.rows(&k.dynquant_pack, &[x, &s.apk, &s.kx], push, rows)?;
        r.gemm(
            &k.gemm_linear,
            &s.apk,
            &lin.weight,
            &s.acc,
            (rows, lin.out, lin.inp),
            1,
        )?;
        let total = rows * lin.out;
        r.affine(k, &s.acc, None, &lin.affine, &s.kx, y, total)
    }

    /// One encoder layer on all rows (`IntEncoder::layer`), attention per group.
    fn layer(
        &self,
        r: &mut Rec<'_>,
        l: &DevLayer,
        lay: &Layout,
        s: &Scratch,
    ) -> Result<(), ComputeError> {
        let k = &self.kernels;
        let c = self.encoder.config;
        let (h, heads, d) = (c.hidden, c.heads, c.head_dim());
        let n_tok = lay.tokens;
        let nh = n_tok * h;
        let qr = lay.q_rows;

        self.linear(r, &l.qkv, s, &s.x, &s.qkv, n_tok)?;
        // Head split into Q rows and per-group K, V rows; 8-bit quantization of each.
        let gather = |total: usize| -> Result<[u32; 8], ComputeError> {
            Ok([u32_of(total, "elements")?, 0, 0, 0, 0, 0, 0, 0])
        };
        r.items(
            &k.gather,
            &[&s.qkv, &s.att_idx, &s.att_in],
            gather(lay.att_len)?,
            lay.att_len,
        )?;
        let dq = |rows: usize, cols: usize| -> Result<[u32; 8], ComputeError> {
            Ok([
                u32_of(rows, "rows")?,
                u32_of(cols, "columns")?,
                127,
                0,
                0,
                0,
                0,
                0,
            ])
        };
        r.rows(
            &k.dynquant,
            &[
                &sl(&s.att_in, 0, qr * d)?,
                &sl(&s.att_q, 0, qr * d)?,
                &s.q_exp,
                &s.dummy,
            ],
            dq(qr, d)?,
            qr,
        )?;
        for g in &lay.groups {
            let bh = g.members.len() * heads;
            let len = 2 * bh * g.n * d;
            r.rows(
                &k.dynquant,
                &[
                    &sl(&s.att_in, g.kv, len)?,
                    &sl(&s.att_q, g.kv, len)?,
                    &sl(&s.kv_exp, g.kv_exp, 2 * bh)?,
                    &s.dummy,
                ],
                dq(2 * bh, g.n * d)?,
                2 * bh,
            )?;
        }
        // Packed Q, K and V transposed (twice: the hi and lo batches of P·V).
        r.items(
            &k.gather_pack,
            &[&s.att_q, &s.qk8_idx, &s.qk8],
            gather(lay.qk8_len)?,
            lay.qk8_len,
        )?;
        // Each row's score shift (Q's exponent + its head's K exponent) and context shift.
        r.items(
            &k.gather,
            &[&s.kv_exp, &s.exp_idx, &s.exp2],
            gather(2 * qr)?,
            2 * qr,
        )?;
        r.add(
            k,
            (&s.q_exp, 1),
            (&sl(&s.exp2, 0, qr)?, 1),
            &s.score_shift,
            qr,
        )?;
        let sp = &self.encoder.softmax;
        for g in &lay.groups {
            let (bh, n) = (g.members.len() * heads, g.n);
            let wd = words_per_row(d);
            r.gemm(
                &k.gemm_attention,
                &sl(&s.qk8, g.q8, bh * n * wd)?,
                &sl(&s.qk8, g.k8, bh * n * wd)?,
                &sl(&s.scores, g.sc, bh * n * n)?,
                (n, n, d),
                bh,
            )?;
            let args = DevAffine {
                mult: sl(&s.score_mult, g.params, n)?,
                shift: sl(&s.score_shift_c, g.params, n)?,
                bias: sl(&s.score_bias, g.params, n)?,
                lo: -SCORE_CLAMP,
                hi: SCORE_CLAMP,
                cols: n,
            };
            r.affine(
                k,
                &sl(&s.scores, g.sc, bh * n * n)?,
                None,
                &args,
                &sl(&s.score_shift, g.qrow0, bh * n)?,
                &sl(&s.z, g.sc, bh * n * n)?,
                bh * n * n,
            )?;
            let push = [
                u32_of(bh * n, "rows")?,
                u32_of(n, "columns")?,
                sp.q_ln2 as u32,
                sp.q_b as u32,
                sp.q_c as u32,
                sp.out_bits,
                0,
                0,
            ];
            r.rows(
                &k.softmax,
                &[&sl(&s.z, g.sc, bh * n * n)?, &sl(&s.p, g.sc, bh * n * n)?],
                push,
                bh * n,
            )?;
        }
        // The probabilities' int8 halves, over every group at once (uniform parameters;
        // the gaps between groups compute values nothing reads).
        r.affine(
            k,
            &s.p,
            None,
            &self.hi_affine,
            &s.zeros,
            &s.p_hi,
            lay.sc_len,
        )?;
        r.add(k, (&s.p, 1), (&s.p_hi, -128), &s.p_lo, lay.sc_len)?;
        for g in &lay.groups {
            let (bh, n) = (g.members.len() * heads, g.n);
            let wn = words_per_row(n);
            let push = [
                u32_of(bh * n, "rows")?,
                u32_of(2 * bh * n, "rows")?,
                u32_of(n, "columns")?,
                u32_of(wn, "words per row")?,
                0,
                0,
                0,
                0,
            ];
            let pa = sl(&s.pa, g.pa, 2 * bh * n * wn)?;
            r.items(
                &k.pack_rows,
                &[
                    &sl(&s.p_hi, g.sc, bh * n * n)?,
                    &sl(&s.p_lo, g.sc, bh * n * n)?,
                    &pa,
                ],
                push,
                2 * bh * n * wn,
            )?;
            // Batches 0..bh are the hi halves against each head's Vᵀ, bh..2bh the lo
            // halves against the same Vᵀ: C = [top; bottom].
            let ct = sl(&s.ct, g.ct, 2 * bh * n * d)?;
            r.gemm(
                &k.gemm_attention,
                &pa,
                &sl(&s.qk8, g.vt2, 2 * bh * d * wn)?,
                &ct,
                (n, d, n),
                2 * bh,
            )?;
            r.affine(
                k,
                &ct,
                Some((&ct, 128, 1, bh * n * d)),
                &self.ctx_affine,
                &sl(&s.exp2, qr + g.qrow0, bh * n)?,
                &sl(&s.ctx, g.qrow0 * d, bh * n * d)?,
                bh * n * d,
            )?;
        }
        // Merge heads back to tokens × hidden.
        r.items(
            &k.gather,
            &[&s.ctx, &s.merge_idx, &s.merged],
            gather(nh)?,
            nh,
        )?;
        self.linear(r, &l.attn_out, s, &s.merged, &s.o, n_tok)?;
        r.add(k, (&s.x, 1), (&s.o, 1), &s.sum, nh)?;
        self.layernorm(r, &s.sum, &s.normed, n_tok)?;
        r.affine(k, &s.normed, None, &l.attn_norm, &s.zeros, &s.x1, nh)?;

        self.linear(r, &l.ffn_up, s, &s.x1, &s.up, n_tok)?;
        let gp = &self.encoder.gelu;
        let n_up = n_tok * c.intermediate;
        let push = [
            u32_of(n_up, "elements")?,
            gp.q_b as u32,
            gp.q_c as u32,
            gp.q_1 as u32,
            0,
            0,
            0,
            0,
        ];
        r.items(&k.gelu, &[&s.up, &s.gelu], push, n_up)?;
        self.linear(r, &l.ffn_down, s, &s.gelu, &s.o, n_tok)?;
        r.add(k, (&s.x1, 1), (&s.o, 1), &s.sum, nh)?;
        self.layernorm(r, &s.sum, &s.normed, n_tok)?;
        r.affine(k, &s.normed, None, &l.ffn_norm, &s.zeros, &s.x, nh)
    }
}

/// The host-made index tables of one batch shape: the head split (`qkv` → Q rows, K and V
/// rows per group), the packing of Q, K and Vᵀ (four entries per word), the exponent
/// broadcast (each Q row's K exponent, then its V exponent) and the head merge.
fn index_tables(
    lay: &Layout,
    h: usize,
    heads: usize,
    d: usize,
) -> (Vec<u32>, Vec<u32>, Vec<u32>, Vec<u32>) {
    let mut att = vec![NONE; lay.att_len];
    let mut qk8 = vec![NONE; 4 * lay.qk8_len];
    let mut exp = vec![NONE; 2 * lay.q_rows];
    let mut merge = vec![NONE; lay.tokens * h];
    let wd = words_per_row(d);
    for g in &lay.groups {
        let n = g.n;
        let bh = g.members.len() * heads;
        let wn = words_per_row(n);
        for (j, &seq) in g.members.iter().enumerate() {
            let row0 = lay.seqs[seq].0;
            for head in 0..heads {
                let b = j * heads + head;
                for tok in 0..n {
                    let src = (row0 + tok) * 3 * h + head * d;
                    let q_row = g.qrow0 + b * n + tok;
                    let k_row = b * n + tok;
                    let v_row = (bh + b) * n + tok;
                    for e in 0..d {
                        att[q_row * d + e] = (src + e) as u32;
                        att[g.kv + k_row * d + e] = (src + h + e) as u32;
                        att[g.kv + v_row * d + e] = (src + 2 * h + e) as u32;
                        merge[(row0 + tok) * h + head * d + e] = (q_row * d + e) as u32;
                        // Packed Q and K rows (d int8 each, zero-padded to wd words).
                        qk8[4 * (g.q8 + (b * n + tok) * wd) + e] = (q_row * d + e) as u32;
                        qk8[4 * (g.k8 + k_row * wd) + e] = (g.kv + k_row * d + e) as u32;
                        // Vᵀ: row e of head b holds V[tok][e] at byte tok, for the hi
                        // batch b and the lo batch bh + b.
                        for batch in [b, bh + b] {
                            qk8[4 * (g.vt2 + (batch * d + e) * wn) + tok] =
                                (g.kv + v_row * d + e) as u32;
                        }
                    }
                    exp[q_row] = (g.kv_exp + b) as u32;
                    exp[lay.q_rows + q_row] = (g.kv_exp + bh + b) as u32;
                }
            }
        }
    }
    (att, qk8, exp, merge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{gemm_i8_reference, ExecutorOptions, SplitMix64};

    fn executor() -> Option<Executor> {
        match Executor::new(ExecutorOptions::default()) {
            Ok(e) => Some(e),
            Err(e) if std::env::var("DEAI_SKIP_VULKAN").as_deref() == Ok("1") => {
                eprintln!("DEAI_SKIP_VULKAN=1: skipping a Vulkan test ({e})");
                None
            }
            Err(e) => panic!("no usable Vulkan device ({e}); set DEAI_SKIP_VULKAN=1 to skip"),
        }
    }

    /// Runs `gemm_i16_i8` on `q` (`m × k`, 14-bit) and `w` (`n × k`) with `wg`.
    fn gemm_i16(
        exec: &Executor,
        wg: WorkgroupConfig,
        q: &[i32],
        w: &Matrix<i8>,
        m: usize,
    ) -> Vec<i32> {
        let (n, k) = (w.rows(), w.cols());
        let report = exec.report().clone();
        let alloc = Alloc {
            memory: exec.memory.clone(),
            max_range: report.max_storage_buffer_range,
        };
        let g = Gemm {
            pipeline: gemm_pipeline(&exec.device, "gemm_i16_i8", shaders::GEMM_I16_I8, wg).unwrap(),
            wg,
            chunk: i16_chunk(wg, &report).unwrap(),
        };
        let wpr = words_per_row16(k);
        let mut a = vec![0u32; m * wpr];
        for r in 0..m {
            for c in 0..k {
                a[r * wpr + c / 2] |= (q[r * k + c] as u32 & 0xFFFF) << (16 * (c % 2));
            }
        }
        let mut packed = vec![0u32; n * words_per_row(k)];
        pack_rows(w, &mut packed);
        let a = alloc.input(&a, "A").unwrap();
        let bt = alloc.input(&packed, "Bt").unwrap();
        let c = alloc
            .storage(m * n, "C", MemoryTypeFilter::HOST_RANDOM_ACCESS)
            .unwrap();
        let mut r = Rec {
            b: AutoCommandBufferBuilder::primary(
                exec.command_buffers.clone(),
                exec.queue.queue_family_index(),
                CommandBufferUsage::OneTimeSubmit,
            )
            .unwrap(),
            sets: &exec.descriptor_sets,
            report: &report,
            dispatches: 0,
        };
        r.gemm(&g, &a, &bt, &c, (m, n, k), 1).unwrap();
        let commands = r.b.build().unwrap();
        sync::now(exec.device.clone())
            .then_execute(exec.queue.clone(), commands)
            .unwrap()
            .then_signal_fence_and_flush()
            .unwrap()
            .wait(None)
            .unwrap();
        let out = c.read().unwrap()[..m * n]
            .iter()
            .map(|&v| v as i32)
            .collect();
        out
    }

    #[test]
    fn the_int16_product_equals_the_recombined_int8_halves() {
        let Some(exec) = executor() else { return };
        let mut rng = SplitMix64::new(5);
        for (i, &(m, n, k)) in [(1usize, 1usize, 1usize), (37, 19, 100), (130, 70, 385)]
            .iter()
            .enumerate()
        {
            let q: Vec<i32> = (0..m * k)
                .map(|_| (rng.next_u64() % 16384) as i32 - 8192)
                .collect();
            let w = Matrix::new(
                n,
                k,
                (0..n * k)
                    .map(|_| ((rng.next_u64() % 255) as i32 - 127) as i8)
                    .collect(),
            )
            .unwrap();
            // The per-kernel encoder's way: q = 128·hi + lo, two int8 products.
            let hi: Vec<i8> = q.iter().map(|&v| ((v + 64) >> 7) as i8).collect();
            let lo: Vec<i8> = q
                .iter()
                .zip(&hi)
                .map(|(&v, &h)| (v - 128 * i32::from(h)) as i8)
                .collect();
            let top = gemm_i8_reference(&Matrix::new(m, k, hi).unwrap(), &w).unwrap();
            let bottom = gemm_i8_reference(&Matrix::new(m, k, lo).unwrap(), &w).unwrap();
            let want: Vec<i32> = top
                .data()
                .iter()
                .zip(bottom.data())
                .map(|(&t, &b)| t.wrapping_mul(128).wrapping_add(b))
                .collect();
            for wg in [
                VulkanEncoderOptions::default().linear,
                WorkgroupConfig {
                    x: 4,
                    y: 8,
                    k_tile: 16,
                },
            ] {
                assert_eq!(gemm_i16(&exec, wg, &q, &w, m), want, "case {i}, {wg:?}");
            }
        }
    }

    #[test]
    fn the_encoder_can_be_shared_between_threads() {
        // A node's workload runner keeps one per model behind an Arc.
        fn shareable<T: Send + Sync>() {}
        shareable::<VulkanEncoder>();
    }

    #[test]
    fn the_int16_product_is_exact_at_its_bound() {
        let Some(exec) = executor() else { return };
        let k = LINEAR_K_MAX;
        for (qv, wv) in [(-8192, 127i8), (-8192, -127), (8191, 127)] {
            let w = Matrix::new(3, k, vec![wv; 3 * k]).unwrap();
            let got = gemm_i16(
                &exec,
                VulkanEncoderOptions::default().linear,
                &vec![qv; 2 * k],
                &w,
                2,
            );
            let want = i32::try_from(i64::from(qv) * i64::from(wv) * k as i64).unwrap();
            assert_eq!(got, vec![want; 6], "{qv} x {wv}");
        }
    }
}
