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
//! whose lengths are checked by the safe wrappers (`assert!` plus slicing) before
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

/// One call of the AVX-512 VNNI broadcast kernel ([`packed_panel_vnni`]): `a`, rows of
/// `A` biased to unsigned (`a + 128`), `kp` bytes each; `b`, 1 to 4 blocks of 16 columns
/// of packed `Bt` ([`crate::PackedB`]'s layout, `16 · kp` bytes each); `correction`,
/// `128 · Σ b` of those columns in the first slab, whose products minus it overwrite `C`
/// (`None` in the later slabs, whose products are added to `C`); `slab`, the part
/// `k0..k1` of the depth (multiples of 4); `c`, the rows of `C` (`cstride` int32 each),
/// at `cols` columns from column `j`.
pub(crate) struct PackedPanel<'a> {
    pub a: &'a [u8],
    pub kp: usize,
    pub b: &'a [i8],
    pub correction: Option<&'a [i32]>,
    pub slab: (usize, usize),
    pub c: &'a mut [i32],
    pub cstride: usize,
    pub j: usize,
    pub cols: usize,
}

/// Safe entry to [`packed_panel_vnni_raw`].
///
/// # Panics
/// If the slices do not match the shapes named.
pub(crate) fn packed_panel_vnni(_: Vnni, p: PackedPanel<'_>) {
    let (k0, k1) = p.slab;
    let kp = p.kp;
    let m = p.a.len() / kp.max(1);
    let nb = p.b.len() / (16 * kp).max(1);
    assert!(
        kp > 0
            && kp.is_multiple_of(4)
            && k0.is_multiple_of(4)
            && k1.is_multiple_of(4)
            && k0 <= k1
            && k1 <= kp
            && m > 0
            && p.a.len() == m * kp
            && (1..=4).contains(&nb)
            && p.b.len() == nb * 16 * kp
            && p.cols > 16 * (nb - 1)
            && p.cols <= 16 * nb
            && p.correction.is_none_or(|c| c.len() == 16 * nb)
            && p.c.len() >= (m - 1) * p.cstride + p.j + p.cols,
        "a packed gemm-i8 panel's slices do not match its shape"
    );
    let raw = RawPacked {
        a: p.a.as_ptr(),
        kp,
        m,
        b: p.b.as_ptr(),
        correction: p.correction.map(<[i32]>::as_ptr),
        k0,
        k1,
        c: p.c[p.j..].as_mut_ptr(),
        cstride: p.cstride,
        cols: p.cols,
    };
    // SAFETY: the token proves the features; every access lies in the slices checked
    // above (A rows below m, bytes below k1 <= kp; nb blocks of B; C rows below m and
    // `cols` columns from j, the rest masked off).
    unsafe {
        match nb {
            1 => packed_panel_vnni_raw::<1>(raw),
            2 => packed_panel_vnni_raw::<2>(raw),
            3 => packed_panel_vnni_raw::<3>(raw),
            _ => packed_panel_vnni_raw::<4>(raw),
        }
    }
}

/// A [`PackedPanel`] checked by [`packed_panel_vnni`], as pointers (`c` at column `j`).
#[derive(Clone, Copy)]
struct RawPacked {
    a: *const u8,
    kp: usize,
    m: usize,
    b: *const i8,
    correction: Option<*const i32>,
    k0: usize,
    k1: usize,
    c: *mut i32,
    cstride: usize,
    cols: usize,
}

/// The broadcast kernel: tiles of 6 rows × `NV` blocks of 16 columns, 6·`NV` vector
/// accumulators. Per 4 bytes of depth, `NV` vectors of packed `Bt` (16 columns × 4
/// bytes) are loaded once, 4 bytes of each of the 6 rows of `A` are broadcast, and each
/// pair meets in one `vpdpbusd`: no horizontal sums, and each accumulator is 16
/// consecutive columns of one row of `C`, written (first slab) or added with masked
/// loads and stores. Exact
/// modulo 2³² as [`panel_vnni_raw`] is (the same biased product and correction).
///
/// # Safety
/// The CPU must support `avx512f`, `avx512bw` and `avx512vnni`, and `p` must come from
/// [`packed_panel_vnni`] with `NV` its number of blocks (its slices still borrowed).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn packed_panel_vnni_raw<const NV: usize>(p: RawPacked) {
    const MR: usize = 6;
    let (a, kp, m, b, k0, k1) = (p.a, p.kp, p.m, p.b, p.k0, p.k1);
    let masks: [__mmask16; NV] = std::array::from_fn(|v| {
        let w = p.cols.saturating_sub(16 * v).min(16);
        (((1u32 << w) - 1) & 0xffff) as __mmask16
    });
    // SAFETY (all pointer arithmetic, loads and stores below): correction holds 16·NV
    // int32; rows are clamped below m; depth offsets stay below k1 <= kp; block v < NV
    // of B holds 16·kp bytes; C rows below m, columns masked to `cols`.
    let correction: Option<[__m512i; NV]> = p
        .correction
        .map(|q| std::array::from_fn(|v| unsafe { _mm512_loadu_si512(q.add(16 * v).cast()) }));
    let mut i = 0;
    while i < m {
        let mr = (m - i).min(MR);
        let ar: [*const u8; MR] =
            std::array::from_fn(|r| unsafe { a.add((i + r.min(mr - 1)) * kp) });
        let mut acc = [[_mm512_setzero_si512(); NV]; MR];
        let mut t = k0;
        while t < k1 {
            let bv: [__m512i; NV] = std::array::from_fn(|v| unsafe {
                _mm512_loadu_si512(b.add(v * 16 * kp + t * 16).cast())
            });
            for r in 0..MR {
                let quad = unsafe { std::ptr::read_unaligned(ar[r].add(t).cast::<i32>()) };
                let av = _mm512_set1_epi32(quad);
                for v in 0..NV {
                    acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, bv[v]);
                }
            }
            t += 4;
        }
        for (r, row) in acc.iter().enumerate().take(mr) {
            let dst = unsafe { p.c.add((i + r) * p.cstride) };
            for v in 0..NV {
                unsafe {
                    let at = dst.add(16 * v);
                    let sum = match correction {
                        Some(cv) => _mm512_sub_epi32(row[v], cv[v]),
                        None => _mm512_add_epi32(_mm512_maskz_loadu_epi32(masks[v], at), row[v]),
                    };
                    _mm512_mask_storeu_epi32(at, masks[v], sum);
                }
            }
        }
        i += MR;
    }
}
