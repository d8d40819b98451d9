//! x86-64 SIMD micro-kernels for gemm-i8 (AVX2 and AVX-512 VNNI).
//!
//! Each kernel computes a small tile `C[r][c] += dot(A_r[k0..k1], Bt_c[k0..k1])` for
//! `MR` rows of `A` and `NR` rows of `Bt` given as row pointers, with int32 wrapping
//! arithmetic, which gives exactly what [`crate::gemm`] documents whatever the order of
//! the additions.
//!
//! `unsafe` is confined to this file: the intrinsics need their CPU feature, which the
//! callers in [`crate`] check with `is_x86_feature_detected!` before any call (each entry
//! point is a `#[target_feature]` function), and raw loads stay inside the row slices,
//! whose lengths are checked by the safe wrappers (`debug_assert!` plus slicing) before
//! the pointer arithmetic.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::{Panel, RawPanel};

/// Proof that this CPU has AVX-512 F, BW and VNNI: only [`Vnni::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Vnni(());

impl Vnni {
    /// `Some` when the CPU supports the AVX-512 VNNI kernels.
    pub fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni"))
        .then_some(Self(()))
    }
}

/// Proof that this CPU has AVX2: only [`Avx2::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Avx2(());

impl Avx2 {
    /// `Some` when the CPU supports the AVX2 kernels.
    pub fn detect() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Self(()))
    }
}

/// Safe entry to [`panel_vnni_raw`]: adds to `C` the products over the slab of the rows
/// of `A`, biased (see [`panel_vnni_raw`]), with the 1 to 4 rows of `Bt`.
///
/// # Panics
/// If the slices are too short for the shapes named ([`Panel::raw`]).
pub(crate) fn panel_vnni(_: Vnni, panel: Panel<'_, u8, i8>) {
    let p = panel.raw(1);
    // SAFETY: the token proves the features; every access lies in the slices `raw`
    // checked (A rows below m, k1 <= k bytes of each row, C rows below m, nr columns).
    unsafe { panel_vnni_raw(p) }
}

/// Safe entry to [`panel_avx2_raw`]: adds to `C` the products over the slab (multiples
/// of 16) of the widened rows of `A` with the 1 to 4 widened rows of `Bt`.
///
/// # Panics
/// If the slices are too short for the shapes named, or the slab's ends are not
/// multiples of 16 ([`Panel::raw`]).
pub(crate) fn panel_avx2(_: Avx2, panel: Panel<'_, i16, i16>) {
    let p = panel.raw(16);
    // SAFETY: the token proves the feature; every access lies in the slices `raw` checked.
    unsafe { panel_avx2_raw(p) }
}

/// Adds the first `nr` lanes of `s` to `dst[0..nr]` (wrapping).
///
/// # Safety
/// `dst` writable for `nr <= 4` int32.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn add4(dst: *mut i32, s: __m128i, nr: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        if nr == 4 {
            let v = _mm_loadu_si128(dst.cast::<__m128i>());
            _mm_storeu_si128(dst.cast::<__m128i>(), _mm_add_epi32(v, s));
        } else {
            let mut sums = [0i32; 4];
            _mm_storeu_si128(sums.as_mut_ptr().cast(), s);
            for (q, &v) in sums.iter().enumerate().take(nr) {
                *dst.add(q) = (*dst.add(q)).wrapping_add(v);
            }
        }
    }
}

/// AVX-512 VNNI panel: 4 rows of `Bt` (`b`, the first `nr` real) against every row of
/// `A` (`m` rows at stride `k` from `a`), 4 rows at a time: the 4×4 tile
/// `Σ_{k0 ≤ t < k1} a[r][t] · b[q][t]` (wrapping i32) is added to `C` (stride `cstride`,
/// columns from `c`). The 4 rows of `Bt` stay in L1 while `A` streams past them.
///
/// `vpdpbusd` multiplies *unsigned* bytes of its first operand by signed bytes of the
/// second, so `A` comes biased, `a + 128` (`xor 0x80`, done once per product by the
/// caller), and `128 · Σ_t b[q][t]` is subtracted here, per slab. The four
/// byte products of a lane are formed in 16 bits (`255 · ±128` fits) and added to the
/// int32 lane without saturation, so everything is exact modulo 2³².
///
/// # Safety
/// The CPU must support `avx512f`, `avx512bw` and `avx512vnni`, and `p` must come from
/// [`Panel::raw`] (its slices still borrowed).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn panel_vnni_raw(p: RawPanel<'_, u8, i8>) {
    let (a, k, m, b, nr) = (p.a, p.stride, p.m, p.b, p.nr);
    let (k0, k1, c, cstride) = (p.k0, p.k1, p.c, p.cstride);
    let tail = (k1 - k0) % 64;
    let mask: __mmask64 = if tail == 0 {
        0
    } else {
        u64::MAX >> (64 - tail)
    };
    // The bias correction `128 · Σ_t b[q][t]` over this slab, subtracted from the sums
    // below (`Σ b` by `vpdpbusd` against ones: exact, `|Σ| ≤ 128·k`).
    let ones = _mm512_set1_epi8(1);
    let mut bsum = [_mm512_setzero_si512(); 4];
    let mut t = k0;
    while t + 64 <= k1 {
        for q in 0..4 {
            // SAFETY: t + 64 <= k1.
            let v = unsafe { _mm512_loadu_si512(b[q].add(t).cast()) };
            bsum[q] = _mm512_dpbusd_epi32(bsum[q], ones, v);
        }
        t += 64;
    }
    if tail > 0 {
        for q in 0..4 {
            // SAFETY: masked-off bytes are not accessed.
            let v = unsafe { _mm512_maskz_loadu_epi8(mask, b[q].add(t)) };
            bsum[q] = _mm512_dpbusd_epi32(bsum[q], ones, v);
        }
    }
    // Lanes 4r + q of reduce16 of four copies: 128 · Σ b[q] in every row block.
    let correction = _mm512_slli_epi32::<7>(reduce16([bsum; 4]));
    let mut i = 0;
    while i < m {
        // SAFETY (all pointer arithmetic and loads below): rows are clamped below m, and
        // loads end at k1 (whole vectors) or are masked past it.
        let ar: [*const u8; 4] = std::array::from_fn(|r| unsafe { a.add((i + r).min(m - 1) * k) });
        let mut acc = [[_mm512_setzero_si512(); 4]; 4];
        let mut t = k0;
        while t + 64 <= k1 {
            let bv = unsafe {
                [
                    _mm512_loadu_si512(b[0].add(t).cast()),
                    _mm512_loadu_si512(b[1].add(t).cast()),
                    _mm512_loadu_si512(b[2].add(t).cast()),
                    _mm512_loadu_si512(b[3].add(t).cast()),
                ]
            };
            for r in 0..4 {
                let av = unsafe { _mm512_loadu_si512(ar[r].add(t).cast()) };
                for q in 0..4 {
                    acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], av, bv[q]);
                }
            }
            t += 64;
        }
        if tail > 0 {
            // Masked tail: lanes past k1 load as 0 without touching memory.
            let bv = unsafe {
                [
                    _mm512_maskz_loadu_epi8(mask, b[0].add(t)),
                    _mm512_maskz_loadu_epi8(mask, b[1].add(t)),
                    _mm512_maskz_loadu_epi8(mask, b[2].add(t)),
                    _mm512_maskz_loadu_epi8(mask, b[3].add(t)),
                ]
            };
            for r in 0..4 {
                let av = unsafe { _mm512_maskz_loadu_epi8(mask, ar[r].add(t).cast()) };
                for q in 0..4 {
                    acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], av, bv[q]);
                }
            }
        }
        let mut sums = [0i32; 16];
        // SAFETY: `sums` holds 16 i32, one 512-bit store.
        unsafe {
            _mm512_storeu_si512(
                sums.as_mut_ptr().cast(),
                _mm512_sub_epi32(reduce16(acc), correction),
            )
        };
        for r in 0..(m - i).min(4) {
            // SAFETY: row i + r < m, columns 0..nr: inside the caller's bound.
            unsafe {
                let s = _mm_loadu_si128(sums.as_ptr().add(4 * r).cast::<__m128i>());
                add4(c.add((i + r) * cstride), s, nr);
            }
        }
        i += 4;
    }
}

/// Sums each of 16 vectors into one lane: lane `4r + c` of the result is the (wrapping)
/// sum of `v[r][c]`'s 16 lanes.
#[target_feature(enable = "avx512f")]
fn reduce16(v: [[__m512i; 4]; 4]) -> __m512i {
    // Per row r: within each 128-bit block, [s_r0, s_r1, s_r2, s_r3] partial sums.
    let w = v.map(|[v0, v1, v2, v3]| {
        let a01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
        let a23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
        _mm512_add_epi32(
            _mm512_unpacklo_epi64(a01, a23),
            _mm512_unpackhi_epi64(a01, a23),
        )
    });
    // Transpose the 128-bit blocks and add, so block r holds row r's totals.
    let y01 = _mm512_add_epi32(
        _mm512_shuffle_i32x4::<0b01_00_01_00>(w[0], w[1]),
        _mm512_shuffle_i32x4::<0b11_10_11_10>(w[0], w[1]),
    );
    let y23 = _mm512_add_epi32(
        _mm512_shuffle_i32x4::<0b01_00_01_00>(w[2], w[3]),
        _mm512_shuffle_i32x4::<0b11_10_11_10>(w[2], w[3]),
    );
    _mm512_add_epi32(
        _mm512_shuffle_i32x4::<0b10_00_10_00>(y01, y23),
        _mm512_shuffle_i32x4::<0b11_01_11_01>(y01, y23),
    )
}

/// AVX2 panel on operands widened to int16 and zero-padded to a multiple of 16: 4 rows
/// of `Bt` (`b`, the first `nr` real) against every row of `A` (`m` rows at stride `kp`),
/// 2 rows at a time: `Σ_{k0 ≤ t < k1} a[r][t] · b[q][t]` (wrapping i32) is added to `C`
/// (stride `cstride`, columns from `c`). `k0` and `k1` are multiples of 16.
///
/// `vpmaddwd` multiplies int16 pairs and adds each pair in int32: at most `2 · 128²` in
/// magnitude for widened int8, exact.
///
/// # Safety
/// The CPU must support `avx2`, and `p` must come from [`Panel::raw`] with step 16 (its
/// slices still borrowed).
#[target_feature(enable = "avx2")]
unsafe fn panel_avx2_raw(p: RawPanel<'_, i16, i16>) {
    let (a, kp, m, b, nr) = (p.a, p.stride, p.m, p.b, p.nr);
    let (k0, k1, c, cstride) = (p.k0, p.k1, p.c, p.cstride);
    let mut i = 0;
    while i < m {
        // SAFETY (all pointer arithmetic and loads below): rows are clamped below m, and
        // 16-element loads start at multiples of 16 below k1, a multiple of 16.
        let ar: [*const i16; 2] =
            std::array::from_fn(|r| unsafe { a.add((i + r).min(m - 1) * kp) });
        let mut acc = [[_mm256_setzero_si256(); 4]; 2];
        let mut t = k0;
        while t < k1 {
            let av = unsafe {
                [
                    _mm256_loadu_si256(ar[0].add(t).cast()),
                    _mm256_loadu_si256(ar[1].add(t).cast()),
                ]
            };
            for q in 0..4 {
                let bv = unsafe { _mm256_loadu_si256(b[q].add(t).cast()) };
                for r in 0..2 {
                    acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(av[r], bv));
                }
            }
            t += 16;
        }
        for (r, [v0, v1, v2, v3]) in acc.into_iter().enumerate().take((m - i).min(2)) {
            let h = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
            let s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
            // SAFETY: row i + r < m, columns 0..nr: inside the caller's bound.
            unsafe { add4(c.add((i + r) * cstride), s, nr) };
        }
        i += 2;
    }
}
