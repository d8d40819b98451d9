//! The native CPU backend: gemm-i8 on the SIMD micro-kernels of `deai-cpu-gemm` (AVX-512
//! VNNI or AVX2 on x86-64, NEON with or without `sdot` on AArch64, chosen at run time; a
//! portable scalar path everywhere), multi-threaded with rayon, byte-identical to
//! [`crate::gemm_i8_reference`].
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
//! references unchanged (compiled for AVX-512 where the CPU has it, and vectorized by the
//! compiler for NEON on AArch64); see [`crate::encoder::Backend`] for [`CpuBackend`].

use rayon::prelude::*;

pub use deai_cpu_gemm::Isa;

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
        deai_cpu_gemm::gemm(self.isa, self.threads, a.data(), bt.data(), m, n, k, &mut c);
        Matrix::new(m, n, c)
    }

    /// [`Self::gemm_i8`] with `bt` packed beforehand (`packed` must be its
    /// [`deai_cpu_gemm::PackedB`]): the same bytes, on the broadcast kernel where the CPU
    /// has AVX-512 VNNI.
    pub fn gemm_i8_packed(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        packed: &deai_cpu_gemm::PackedB,
    ) -> Result<Matrix<i32>, ComputeError> {
        let (m, n, k) = check_shapes(a, bt)?;
        if packed.shape() != (n, k) {
            return Err(ComputeError::Shape(format!(
                "packed weights are {:?}, the product needs {n}×{k}",
                packed.shape()
            )));
        }
        let mut c = vec![0i32; m * n];
        deai_cpu_gemm::gemm_packed(
            self.isa,
            self.threads,
            a.data(),
            bt.data(),
            packed,
            m,
            &mut c,
        );
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
                deai_cpu_gemm::gemm(isa, false, az, bz, m, n, k, cz);
            };
            if self.threads && batch * m * n * k >= deai_cpu_gemm::PARALLEL_MIN_MACS {
                c.par_chunks_mut(m * n).enumerate().for_each(one);
            } else {
                c.chunks_mut(m * n).enumerate().for_each(one);
            }
        }
        Matrix::new(batch * m, n, c)
    }
}
