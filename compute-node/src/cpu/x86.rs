//! x86-64 element-wise kernels of the CPU backend: the same integer code compiled for
//! AVX-512 (F, DQ, BW, VL) after run-time detection, so the compiler vectorizes its 64-bit
//! products and variable shifts. (The gemm-i8 micro-kernels live in `deai-cpu-gemm`.)
//!
//! `unsafe` is confined to this file: each entry point calls a `#[target_feature]`
//! function only with a token that [`Avx512Dq::detect`] made after checking the CPU.
#![allow(unsafe_code)]

/// Proof that this CPU has AVX-512 F, DQ, BW and VL (64-bit multiplies and variable
/// shifts in vectors): only [`Avx512Dq::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Avx512Dq(());

impl Avx512Dq {
    /// `Some` when the CPU supports the AVX-512 element-wise kernels.
    pub fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl"))
        .then_some(Self(()))
    }
}

/// [`super::ops::AffineRow::run`] compiled for AVX-512 (the compiler vectorizes the same
/// integer code: 64-bit products, variable shifts, clamps), after detection.
pub fn affine_row_avx512(_: Avx512Dq, row: &super::ops::AffineRow<'_>, o: &mut [i32]) {
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl")]
    fn run(row: &super::ops::AffineRow<'_>, o: &mut [i32]) {
        row.run(o);
    }
    // SAFETY: the token proves the features; `run` is safe code otherwise.
    unsafe { run(row, o) }
}

/// Calls `f` from a function compiled with AVX-512 F, DQ, BW and VL, into which the
/// compiler may inline and vectorize it.
pub fn with_avx512<R>(_: Avx512Dq, f: impl FnOnce() -> R) -> R {
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl")]
    fn run<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
    // SAFETY: the token proves the features; `run` is safe code otherwise.
    unsafe { run(f) }
}
