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
//! [`panel`] checks before any pointer arithmetic, and `sdot` runs only with a [`Dot`]
//! token.
#![allow(unsafe_code)]

use std::arch::{aarch64::*, asm};

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

/// Adds to `c` (`m` rows of `cstride` int32, from column `j`) the products over
/// `k0..k1` (multiples of 16) of the `m` rows of `a` (stride `kp`) with the `b.len()`
/// (1 to 4) rows of `Bt` in `b`.
///
/// # Panics
/// If the slices are too short for the shapes named, or `k0`, `k1` are not multiples
/// of 16.
#[allow(clippy::too_many_arguments)]
pub fn panel(
    kernel: Kernel,
    a: &[i8],
    kp: usize,
    b: &[&[i8]],
    (k0, k1): (usize, usize),
    c: &mut [i32],
    cstride: usize,
    j: usize,
) {
    let (m, rows) = crate::check_panel(a, kp, b, (k0, k1), c, cstride, j, 16);
    let nr = b.len();
    let c = c[j..].as_mut_ptr();
    // SAFETY: every access lies in the slices checked above (rows of A below m, bytes
    // below k1 <= kp of each row, C within (m - 1) * cstride + j + nr); `Dot` proves the
    // feature `panel_dot` is compiled with.
    unsafe {
        match kernel {
            Kernel::Widening => panel_widening(a.as_ptr(), kp, m, rows, nr, (k0, k1), c, cstride),
            Kernel::Dot(_) => panel_dot(a.as_ptr(), kp, m, rows, nr, (k0, k1), c, cstride),
        }
    }
}

/// One tile's 16 accumulators reduced per row (lane `q` of row `r`: the sum of
/// `acc[r][q]`'s four lanes) and added to `C` for the rows below `m - i` and the first
/// `nr` columns.
///
/// # Safety
/// `c` must be writable for `min(m - i, 4)` rows of `nr <= 4` int32 at stride `cstride`.
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

/// The widening panel: `m` rows of `A` (stride `kp`) against 4 rows of `Bt` (the first
/// `nr` real), 4 rows at a time, over `k0..k1`, added to `C`.
///
/// # Safety
/// `m` rows of `kp` bytes from `a` and the four `b` rows must be readable up to
/// `k1 <= kp`, `k0` and `k1` multiples of 16; `c` writable for `m` rows of `nr` int32 at
/// stride `cstride`.
#[allow(clippy::too_many_arguments)]
unsafe fn panel_widening(
    a: *const i8,
    kp: usize,
    m: usize,
    b: [*const i8; 4],
    nr: usize,
    k: (usize, usize),
    c: *mut i32,
    cstride: usize,
) {
    // SAFETY: guaranteed by the caller.
    unsafe { panel_tiles::<false>(a, kp, m, b, nr, k, c, cstride) }
}

/// The tile loop of both panels: `DOT` picks `sdot` or the widening multiply-adds.
///
/// # Safety
/// As [`panel_widening`]; with `DOT`, the CPU must support `dotprod` and the caller be
/// compiled with it ([`panel_dot`]), so that this inlines into code that may use `sdot`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn panel_tiles<const DOT: bool>(
    a: *const i8,
    kp: usize,
    m: usize,
    b: [*const i8; 4],
    nr: usize,
    (k0, k1): (usize, usize),
    c: *mut i32,
    cstride: usize,
) {
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

/// The `sdot` panel: as [`panel_widening`], one instruction per 16 byte products.
///
/// # Safety
/// As [`panel_widening`], and the CPU must support `dotprod`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "dotprod")]
unsafe fn panel_dot(
    a: *const i8,
    kp: usize,
    m: usize,
    b: [*const i8; 4],
    nr: usize,
    k: (usize, usize),
    c: *mut i32,
    cstride: usize,
) {
    // SAFETY: guaranteed by the caller; this function is compiled with `dotprod`.
    unsafe { panel_tiles::<true>(a, kp, m, b, nr, k, c, cstride) }
}
