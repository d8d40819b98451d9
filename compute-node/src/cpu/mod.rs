//! The native CPU backend: gemm-i8 with SIMD micro-kernels (AVX-512 VNNI or AVX2 on
//! x86-64, chosen at run time; a portable scalar path everywhere), multi-threaded over
//! rows or columns with rayon, byte-identical to [`crate::gemm_i8_reference`].
//!
//! # Why the bytes cannot differ
//! Every output is the int32 dot product of a row of `A` and a row of `Bt`; the reference
//! adds the products in order, the kernels in lanes, blocks and tiles. The true value of
//! every partial sum lies in int32 for `k ≤ K_MAX` ([`crate::gemm`]), and the kernels add
//! with wrapping int32 arithmetic, which is exact modulo 2³² whatever the order: the final
//! sum modulo 2³², being in int32, is the true sum. The AVX-512 path computes
//! `Σ (a + 128)·b − 128·Σ b` (its multiply takes unsigned bytes), exact by the same
//! argument. No floating point is involved.
//!
//! The other kernels of the encoder (requantization, softmax, LayerNorm, …) run their
//! references unchanged; see [`crate::encoder::Backend`] for [`CpuBackend`].

use std::{fmt, str::FromStr};

use rayon::prelude::*;

use crate::{
    gemm::{check_batched_shapes, check_shapes},
    ComputeError, Matrix,
};

pub mod ops;
#[cfg(target_arch = "x86_64")]
mod x86;

/// The AVX-512 token for the vectorized element-wise kernels, when the CPU has them.
#[cfg(target_arch = "x86_64")]
fn x86_affine_available() -> Option<x86::Avx512Dq> {
    x86::Avx512Dq::detect()
}

/// No vectorized element-wise kernels off x86-64.
#[cfg(not(target_arch = "x86_64"))]
fn x86_affine_available() -> Option<()> {
    None
}

/// Runs `f` compiled for AVX-512 where the CPU has it (so plain integer loops inside it
/// vectorize with 64-bit multiplies and shifts), else as it is.
fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = x86::Avx512Dq::detect() {
        return x86::with_avx512(token, f);
    }
    f()
}

/// An instruction set the CPU gemm-i8 can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Portable Rust (whatever the compiler vectorizes for the build target).
    Scalar,
    /// x86-64 AVX2: bytes widened to 16 bits, `vpmaddwd`.
    Avx2,
    /// x86-64 AVX-512 (F, BW) with VNNI: `vpdpbusd`, 64 byte products per instruction.
    Avx512Vnni,
}

impl Isa {
    /// Every instruction set, slowest first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni];

    /// Whether this CPU can run `self` (runtime detection).
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The instruction sets this CPU can run, slowest first.
    pub fn available() -> Vec<Isa> {
        Self::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The fastest instruction set this CPU can run.
    pub fn best() -> Isa {
        Self::available().pop().unwrap_or(Isa::Scalar)
    }

    /// Short name, as `FromStr` reads it.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512Vnni => "avx512-vnni",
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown instruction set `{s}` (scalar, avx2, avx512-vnni)"))
    }
}

/// The native CPU backend: SIMD gemm-i8, the references for everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuBackend {
    isa: Isa,
    threads: bool,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

/// Multiply-adds below which a product runs on the calling thread (a fork costs a few µs).
const PARALLEL_MIN_MACS: usize = 1 << 20;

impl CpuBackend {
    /// The fastest instruction set of this CPU, multi-threaded (rayon's global pool).
    pub fn new() -> Self {
        Self {
            isa: Isa::best(),
            threads: true,
        }
    }

    /// A backend forced to `isa`; refused when this CPU lacks it.
    pub fn with_isa(isa: Isa) -> Result<Self, ComputeError> {
        if !isa.is_available() {
            return Err(ComputeError::Shape(format!(
                "this CPU cannot run the {isa} gemm-i8 kernels"
            )));
        }
        Ok(Self { isa, threads: true })
    }

    /// The same backend running each kernel on the calling thread only (for callers that
    /// parallelize over whole inputs instead).
    pub fn single_threaded(self) -> Self {
        Self {
            threads: false,
            ..self
        }
    }

    /// The instruction set in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Whether kernels may use several threads.
    pub fn is_multi_threaded(&self) -> bool {
        self.threads
    }

    /// gemm-i8 `C = A × Btᵀ`, byte-identical to [`crate::gemm_i8_reference`] (same checks,
    /// same errors).
    pub fn gemm_i8(&self, a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<Matrix<i32>, ComputeError> {
        let (m, n, k) = check_shapes(a, bt)?;
        let mut c = vec![0i32; m * n];
        if m > 0 && n > 0 {
            let threads = self.threads && m * n * k >= PARALLEL_MIN_MACS;
            gemm_into(self.isa, threads, a.data(), bt.data(), m, n, k, &mut c);
        }
        Matrix::new(m, n, c)
    }

    /// Batched gemm-i8, byte-identical to [`crate::gemm::gemm_i8_batched_reference`].
    pub fn gemm_i8_batched(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        batch: usize,
    ) -> Result<Matrix<i32>, ComputeError> {
        let (m, n, k) = check_batched_shapes(a, bt, batch)?;
        let mut c = vec![0i32; batch * m * n];
        if m > 0 && n > 0 {
            let isa = self.isa;
            let one = |(z, cz): (usize, &mut [i32])| {
                let az = &a.data()[z * m * k..(z + 1) * m * k];
                let bz = &bt.data()[z * n * k..(z + 1) * n * k];
                gemm_into(isa, false, az, bz, m, n, k, cz);
            };
            if self.threads && batch * m * n * k >= PARALLEL_MIN_MACS {
                c.par_chunks_mut(m * n).enumerate().for_each(one);
            } else {
                c.chunks_mut(m * n).enumerate().for_each(one);
            }
        }
        Matrix::new(batch * m, n, c)
    }
}

/// `c (m × n) = a (m × k) × bt (n × k)ᵀ`, all row-major, on `isa`; `threads` splits the
/// work over rayon's pool (rows of `C` when there are many, else columns).
#[allow(clippy::too_many_arguments)]
fn gemm_into(
    isa: Isa,
    threads: bool,
    a: &[i8],
    bt: &[i8],
    m: usize,
    n: usize,
    k: usize,
    c: &mut [i32],
) {
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(bt.len(), n * k);
    debug_assert_eq!(c.len(), m * n);
    let workers = if threads {
        rayon::current_num_threads()
    } else {
        1
    };
    if workers <= 1 {
        block(isa, a, bt, m, n, k, c);
        return;
    }
    if m >= 16 * workers {
        // Row chunks: each task owns whole rows of C. A few chunks per worker balance
        // uneven progress; multiples of 4 rows keep tiles whole.
        let rows = (m.div_ceil(4 * workers)).next_multiple_of(4);
        c.par_chunks_mut(rows * n)
            .zip(a.par_chunks(rows * k))
            .for_each(|(cc, aa)| {
                block(isa, aa, bt, aa.len() / k, n, k, cc);
            });
    } else {
        // Few rows (a sentence's tokens): column chunks into private buffers, then copied.
        let cols = (n.div_ceil(2 * workers)).next_multiple_of(4).max(4);
        let parts: Vec<(usize, Vec<i32>)> = bt
            .par_chunks(cols * k)
            .enumerate()
            .map(|(p, bb)| {
                let nn = bb.len() / k;
                let mut part = vec![0i32; m * nn];
                block(isa, a, bb, m, nn, k, &mut part);
                (p * cols, part)
            })
            .collect();
        for (j0, part) in parts {
            let nn = part.len() / m;
            for (dst, src) in c.chunks_exact_mut(n).zip(part.chunks_exact(nn)) {
                dst[j0..j0 + nn].copy_from_slice(src);
            }
        }
    }
}

/// Depth of a slab of `k`: 4 rows of `Bt` this deep (16 KiB of int8, 32 KiB widened to
/// int16) stay in L1 while `A` streams past them; a multiple of 64.
const K_BLOCK: usize = 4096;

/// The single-threaded product on `isa` (see [`gemm_into`]).
fn block(isa: Isa, a: &[i8], bt: &[i8], m: usize, n: usize, k: usize, c: &mut [i32]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni => match x86::Vnni::detect() {
            Some(v) => vnni(v, a, bt, (m, n, k), c),
            None => scalar(a, bt, m, n, k, c),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => match x86::Avx2::detect() {
            Some(v) => avx2(v, a, bt, (m, n, k), c),
            None => scalar(a, bt, m, n, k, c),
        },
        _ => scalar(a, bt, m, n, k, c),
    }
}

/// The loop nest of the AVX-512 VNNI path: `A` biased to unsigned once, then for each
/// [`K_BLOCK`]-deep slab, each block of rows of `A` that fits L2 ([`rows_per_l2`]) and
/// each group of 4 rows of `Bt`, every row of the block (the group stays in L1 while the
/// block streams past it from L2).
#[cfg(target_arch = "x86_64")]
fn vnni(v: x86::Vnni, a: &[i8], bt: &[i8], (_, n, k): (usize, usize, usize), c: &mut [i32]) {
    let mut biased = vec![0u8; a.len()];
    for (d, &x) in biased.iter_mut().zip(a) {
        *d = x as u8 ^ 0x80;
    }
    let m = a.len() / k;
    let mut k0 = 0;
    while k0 < k {
        let k1 = (k0 + K_BLOCK).min(k);
        let mc = rows_per_l2(k1 - k0);
        for i0 in (0..m).step_by(mc) {
            let i1 = (i0 + mc).min(m);
            let a_block = &biased[i0 * k..i1 * k];
            let c_block = &mut c[i0 * n..i1 * n];
            for j in (0..n).step_by(4) {
                let rows: Vec<&[i8]> = (j..(j + 4).min(n))
                    .map(|q| &bt[q * k..(q + 1) * k])
                    .collect();
                x86::panel_vnni(v, a_block, k, &rows, (k0, k1), c_block, n, j);
            }
        }
        k0 = k1;
    }
}

/// The loop nest of the AVX2 path: `A` widened to int16 and zero-padded to a multiple of
/// 16 once; for each [`K_BLOCK`]-deep slab and block of rows of `A` that fits L2, each
/// group of 4 rows of `Bt` is widened into a small buffer that stays in L1 while the
/// block streams past it. (Widening `Bt` once per block costs `1/rows` of the products.)
#[cfg(target_arch = "x86_64")]
fn avx2(v: x86::Avx2, a: &[i8], bt: &[i8], (m, n, k): (usize, usize, usize), c: &mut [i32]) {
    let kp = k.next_multiple_of(16);
    let mut wa = vec![0i16; m * kp];
    for (dst, src) in wa.chunks_exact_mut(kp).zip(a.chunks_exact(k)) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = i16::from(s);
        }
    }
    // Four widened rows of `Bt`; only the current slab k0..k1 is filled (and touched).
    let mut wb = vec![0i16; 4 * kp];
    let mut k0 = 0;
    while k0 < kp {
        let k1 = (k0 + K_BLOCK).min(kp);
        let mc = rows_per_l2(2 * (k1 - k0));
        for i0 in (0..m).step_by(mc) {
            let i1 = (i0 + mc).min(m);
            for j in (0..n).step_by(4) {
                let nr = (n - j).min(4);
                for (q, dst) in wb.chunks_exact_mut(kp).take(nr).enumerate() {
                    let src = &bt[(j + q) * k..(j + q + 1) * k];
                    let real = k1.min(k).saturating_sub(k0);
                    let slab = &mut dst[k0..k1];
                    for (d, &s) in slab.iter_mut().zip(&src[k0.min(k)..]) {
                        *d = i16::from(s);
                    }
                    slab[real..].fill(0);
                }
                let rows: Vec<&[i16]> = wb.chunks_exact(kp).take(nr).collect();
                x86::panel_avx2(
                    v,
                    &wa[i0 * kp..i1 * kp],
                    kp,
                    &rows,
                    (k0, k1),
                    &mut c[i0 * n..i1 * n],
                    n,
                    j,
                );
            }
        }
        k0 = k1;
    }
}

/// Rows of `A` per block so that a block of rows `bytes_per_row` long fills about half
/// of a typical 1-2 MiB L2 (a multiple of 4, at least 4).
fn rows_per_l2(bytes_per_row: usize) -> usize {
    const L2_BLOCK_BYTES: usize = 512 * 1024;
    (L2_BLOCK_BYTES / bytes_per_row.max(1)).max(4) / 4 * 4
}

/// The portable product: each output a wrapping i32 dot product, blocked over rows of `Bt`
/// like the reference.
fn scalar(a: &[i8], bt: &[i8], m: usize, n: usize, k: usize, c: &mut [i32]) {
    for j0 in (0..n).step_by(64) {
        let j1 = (j0 + 64).min(n);
        for i in 0..m {
            let ar = &a[i * k..(i + 1) * k];
            for j in j0..j1 {
                c[i * n + j] = dot(ar, &bt[j * k..(j + 1) * k]);
            }
        }
    }
}

/// `Σ a[t]·b[t]`, wrapping i32.
#[inline]
fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .fold(0i32, |s, p| s.wrapping_add(p))
}
