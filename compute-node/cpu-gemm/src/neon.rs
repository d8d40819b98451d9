//! AArch64 micro-kernels for gemm-i8: Advanced SIMD (NEON, part of every AArch64 CPU)
//! and, where the CPU has the Armv8.2 dot-product extension, `sdot`.
//!
//! Both compute a 4×4 tile `C[r][q] += Σ_{k0 ≤ t < k1} a[r][t]·b[q][t]` 16 bytes at a
//! time, with int32 lanes that wrap (exact, see [`crate`]):
//! - **widening**: `smull`/`smull2` form the byte products in 16 bits (`|x·y| ≤ 2¹⁴`
//!   fits, `-128·-128` included) and `sadalp` adds neighbouring pairs into the int32
//!   lanes;
//! - **dot**: `sdot` adds four byte products into each int32 lane in one instruction.
//!   Rust's intrinsic for it is not stable yet, so it is written as inline assembly in a
//!   function compiled with the `dotprod` feature, which [`Dot::detect`] checks first.
//!
//! `unsafe` is confined to this file: the loads stay inside the row slices, whose lengths
//! `Panel::raw` checks before any pointer arithmetic, and `sdot` runs only with a [`Dot`]
//! token.
#![allow(unsafe_code)]

use std::arch::{aarch64::*, asm};

use crate::{Panel, RawPanel};

/// Proof that this CPU has the dot-product instructions: only [`Dot::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Dot(());

impl Dot {
    /// `Some` when the CPU supports `sdot` (Armv8.2 `dotprod`).
    pub fn detect() -> Option<Self> {
        std::arch::is_aarch64_feature_detected!("dotprod").then_some(Self(()))
    }
}

/// Which micro-kernel a panel runs.
#[derive(Clone, Copy, Debug)]
pub enum Kernel {
    /// `smull` + `sadalp` (every AArch64 CPU).
    Widening,
    /// `sdot` (CPUs with the dot-product extension).
    Dot(Dot),
}

/// Adds to `C` the products over the slab (multiples of 16) of the rows of `A` with the
/// 1 to 4 rows of `Bt`, with `kernel`.
///
/// # Panics
/// If the slices are too short for the shapes named, or the slab's ends are not
/// multiples of 16 ([`Panel::raw`]).
pub(crate) fn panel(kernel: Kernel, panel: Panel<'_, i8, i8>) {
    let p = panel.raw(16);
    // SAFETY: every access lies in the slices `raw` checked; `Dot` proves the feature
    // `panel_dot` is compiled with.
    unsafe {
        match kernel {
            Kernel::Widening => panel_tiles::<false>(p),
            Kernel::Dot(_) => panel_dot(p),
        }
    }
}

/// One tile's 16 accumulators reduced per row (lane `q` of row `r`: the sum of
/// `acc[r][q]`'s four lanes) and added to `C` for its first `rows` rows and `nr` columns.
///
/// # Safety
/// `c` must be writable for `rows <= 4` rows of `nr <= 4` int32 at stride `cstride`.
#[inline]
unsafe fn store_tile(
    acc: &[[int32x4_t; 4]; 4],
    rows: usize,
    nr: usize,
    c: *mut i32,
    cstride: usize,
) {
    for (r, [v0, v1, v2, v3]) in acc.iter().enumerate().take(rows) {
        let sums = vpaddq_s32(vpaddq_s32(*v0, *v1), vpaddq_s32(*v2, *v3));
        let mut lanes = [0i32; 4];
        // SAFETY: `lanes` holds four int32.
        unsafe { vst1q_s32(lanes.as_mut_ptr(), sums) };
        for (q, &s) in lanes.iter().enumerate().take(nr) {
            // SAFETY: row r < rows, column q < nr: inside the caller's bound.
            unsafe {
                let p = c.add(r * cstride + q);
                *p = (*p).wrapping_add(s);
            }
        }
    }
}

/// The panel's 4×4 tiles, `m` rows of `A` against 4 rows of `Bt` (the first `nr` real),
/// 4 rows at a time, over `k0..k1`, added to `C`; `DOT` picks `sdot` or the widening
/// multiply-adds.
///
/// # Safety
/// `p` must come from [`Panel::raw`] with step 16 (its slices still borrowed). With
/// `DOT`, the CPU must support `dotprod` and the caller be compiled with it
/// ([`panel_dot`]), so that this inlines into code that may use `sdot`.
#[inline(always)]
unsafe fn panel_tiles<const DOT: bool>(p: RawPanel<'_, i8, i8>) {
    let (a, kp, m, b, nr) = (p.a, p.stride, p.m, p.b, p.nr);
    let (k0, k1, c, cstride) = (p.k0, p.k1, p.c, p.cstride);
    let mut i = 0;
    while i < m {
        // SAFETY (all pointer arithmetic and loads below): rows are clamped below m, and
        // 16-byte loads start at multiples of 16 below k1, a multiple of 16.
        let ar: [*const i8; 4] = std::array::from_fn(|r| unsafe { a.add((i + r).min(m - 1) * kp) });
        let mut acc = [[vdupq_n_s32(0); 4]; 4];
        let mut t = k0;
        while t < k1 {
            let bv = unsafe { b.map(|p| vld1q_s8(p.add(t))) };
            for r in 0..4 {
                let av = unsafe { vld1q_s8(ar[r].add(t)) };
                for q in 0..4 {
                    acc[r][q] = if DOT {
                        // SAFETY: with DOT the CPU has `dotprod` (see above).
                        unsafe { sdot(acc[r][q], av, bv[q]) }
                    } else {
                        let lo = vmull_s8(vget_low_s8(av), vget_low_s8(bv[q]));
                        let hi = vmull_high_s8(av, bv[q]);
                        vpadalq_s16(vpadalq_s16(acc[r][q], lo), hi)
                    };
                }
            }
            t += 16;
        }
        // SAFETY: rows i.. below m, columns below nr: inside the caller's bound.
        unsafe { store_tile(&acc, (m - i).min(4), nr, c.add(i * cstride), cstride) };
        i += 4;
    }
}

/// `acc + sdot(a, b)`: each int32 lane plus the four products of its bytes.
#[inline]
#[target_feature(enable = "dotprod")]
fn sdot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: the instruction only reads and writes these registers; the enclosing
    // function is compiled with `dotprod`, which its callers have checked.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// The `sdot` panel: [`panel_tiles`] compiled with `dotprod`, one instruction per 16
/// byte products.
///
/// # Safety
/// As [`panel_tiles`], and the CPU must support `dotprod`.
#[target_feature(enable = "dotprod")]
unsafe fn panel_dot(p: RawPanel<'_, i8, i8>) {
    // SAFETY: guaranteed by the caller; this function is compiled with `dotprod`.
    unsafe { panel_tiles::<true>(p) }
}
