//! x86-64 SIMD micro-kernels for gemm-i8 (AVX2 and AVX-512 VNNI).
//!
//! Each kernel computes a small tile `C[r][c] += dot(A_r[k0..k1], Bt_c[k0..k1])` for
//! `MR` rows of `A` and `NR` rows of `Bt` given as row pointers, with int32 wrapping
//! arithmetic. Wrapping is exact here: every true partial sum of the reference lies in
//! int32 (see [`crate::gemm`]), and a sum computed modulo 2³² in any order equals the true
//! sum modulo 2³², hence the true sum.
//!
//! `unsafe` is confined to this file: the intrinsics need their CPU feature, which the
//! callers in [`super`] check with `is_x86_feature_detected!` before any call (each entry
//! point is a `#[target_feature]` function), and raw loads stay inside the row slices,
//! whose lengths are checked by the safe wrappers (`debug_assert!` plus slicing) before
//! the pointer arithmetic.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

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

/// Safe entry to [`panel_vnni_raw`]: adds to `c` (rows of `cstride` int32, `a.len()`
/// rows from `a`) the products of the (biased, see [`tile_vnni_raw`]) rows `a` of `A` with
/// the `bt.len() / k` rows of `Bt` in `bt` over `k0..k1`, into columns `j0..`.
///
/// # Panics
/// If the slices are too short for the shapes named, or `a` holds more than 4 rows.
#[allow(clippy::too_many_arguments)]
pub fn panel_vnni(
    _: Vnni,
    a: &[&[u8]],
    bt: &[i8],
    k: usize,
    (k0, k1): (usize, usize),
    c: &mut [i32],
    cstride: usize,
    j0: usize,
) {
    let nb = bt.len() / k.max(1);
    let mr = a.len();
    assert!(
        (1..=4).contains(&mr)
            && k0 <= k1
            && k1 <= k
            && nb > 0
            && a.iter().all(|r| r.len() >= k1)
            && c.len() >= (mr - 1) * cstride + j0 + nb
    );
    let rows: [*const u8; 4] = std::array::from_fn(|r| a[r.min(mr - 1)].as_ptr());
    // SAFETY: the token proves the features; every pointer read or written lies in the
    // slices checked above (B rows below nb, A rows and B rows below k1 bytes, C below
    // (mr - 1) * cstride + j0 + nb).
    unsafe {
        panel_vnni_raw(
            rows,
            mr,
            bt.as_ptr(),
            k,
            nb,
            (k0, k1),
            c.as_mut_ptr().add(j0),
            cstride,
        )
    }
}

/// Safe entry to [`row_sum_vnni_raw`]: `Σ row`.
pub fn row_sum_vnni(_: Vnni, row: &[i8]) -> i32 {
    // SAFETY: the token proves the features; the row holds row.len() bytes.
    unsafe { row_sum_vnni_raw(row.as_ptr(), 0, row.len()) }
}

/// Safe entry to [`tile_avx2_raw`]: the 2×4 sums (row-major, in the first 8 entries)
/// over `k0..done`, with `done` = `k1` rounded down to a multiple of 16 from `k0`.
///
/// # Panics
/// If a row is shorter than `k1`.
pub fn tile_avx2(
    _: Avx2,
    a: &[&[i8]; 2],
    b: &[&[i8]; 4],
    k0: usize,
    k1: usize,
) -> ([i32; 16], usize) {
    assert!(k0 <= k1 && a.iter().chain(b).all(|r| r.len() >= k1));
    // SAFETY: the token proves the feature; every row holds at least k1 bytes.
    let t = unsafe { tile_avx2_raw(a.map(<[i8]>::as_ptr), b.map(<[i8]>::as_ptr), k0, k1) };
    let mut out = [0i32; 16];
    out[..8].copy_from_slice(&t);
    (out, k0 + (k1 - k0) / 16 * 16)
}

/// Rows of `A` per AVX2 tile.
pub const AVX2_MR: usize = 2;
/// Rows of `Bt` per AVX2 tile.
pub const AVX2_NR: usize = 4;

/// AVX-512 VNNI panel: for each group of 4 rows of `Bt` (`nb` rows, stride `k`), the
/// 4×4 tile `Σ_{k0 ≤ t < k1} a[r][t] · b[c][t]` (wrapping i32) is added to `C` (stride
/// `cstride`, columns from `c`), for the first `mr` rows of `a`.
///
/// `vpdpbusd` multiplies *unsigned* bytes of its first operand by signed bytes of the
/// second, so `A` comes biased, `a + 128` (`xor 0x80`, done once per product by the
/// caller), and the caller subtracts `128 · Σ_t b[c][t]` (see [`row_sum_vnni`]). The four
/// byte products of a lane are formed in 16 bits (`255 · ±128` fits) and added to the
/// int32 lane without saturation, so everything is exact modulo 2³².
///
/// # Safety
/// The CPU must support `avx512f`, `avx512bw` and `avx512vnni`; the four `a` pointers and
/// `nb` rows from `b` must be readable for `k1` bytes; `c` must be writable for `mr` rows
/// of `nb` int32 at stride `cstride`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn panel_vnni_raw(
    a: [*const u8; 4],
    mr: usize,
    b: *const i8,
    k: usize,
    nb: usize,
    (k0, k1): (usize, usize),
    c: *mut i32,
    cstride: usize,
) {
    let tail = k1 - k0 - (k1 - k0) / 64 * 64;
    let mask: __mmask64 = if tail == 0 {
        0
    } else {
        u64::MAX >> (64 - tail)
    };
    let mut j = 0;
    while j < nb {
        let br: [*const i8; 4] = std::array::from_fn(|q| unsafe { b.add((j + q).min(nb - 1) * k) });
        let mut acc = [[_mm512_setzero_si512(); 4]; 4];
        let mut t = k0;
        while t + 64 <= k1 {
            // SAFETY: t + 64 <= k1, so every load stays within its row of k1 bytes.
            let bv = unsafe { br.map(|p| _mm512_loadu_si512(p.add(t).cast())) };
            for r in 0..4 {
                // SAFETY: as above.
                let av = unsafe { _mm512_loadu_si512(a[r].add(t).cast()) };
                for q in 0..4 {
                    acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], av, bv[q]);
                }
            }
            t += 64;
        }
        if tail > 0 {
            // Masked tail: lanes past k1 load as 0 without touching memory.
            // SAFETY: masked-off bytes are not accessed; the others lie below k1.
            let bv = unsafe { br.map(|p| _mm512_maskz_loadu_epi8(mask, p.add(t))) };
            for r in 0..4 {
                // SAFETY: as above.
                let av = unsafe { _mm512_maskz_loadu_epi8(mask, a[r].add(t).cast()) };
                for q in 0..4 {
                    acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], av, bv[q]);
                }
            }
        }
        let mut sums = [0i32; 16];
        // SAFETY: `sums` holds 16 i32, one 512-bit store.
        unsafe { _mm512_storeu_si512(sums.as_mut_ptr().cast(), reduce16(acc)) };
        let nr = (nb - j).min(4);
        for r in 0..mr {
            // SAFETY: row r < mr, columns j..j + nr < nb: inside the caller's bound.
            unsafe {
                let dst = c.add(r * cstride + j);
                if nr == 4 {
                    let v = _mm_loadu_si128(dst.cast::<__m128i>());
                    let s = _mm_loadu_si128(sums.as_ptr().add(4 * r).cast::<__m128i>());
                    _mm_storeu_si128(dst.cast::<__m128i>(), _mm_add_epi32(v, s));
                } else {
                    for q in 0..nr {
                        *dst.add(q) = (*dst.add(q)).wrapping_add(sums[4 * r + q]);
                    }
                }
            }
        }
        j += 4;
    }
}

/// `Σ b[t]` over `k0..k1` for one row, with `vpdpbusd` against ones (exact: `|Σ| ≤ 128·k`).
///
/// # Safety
/// As [`tile_vnni`]; `b` valid for reads of `k1` bytes.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn row_sum_vnni_raw(b: *const i8, k0: usize, k1: usize) -> i32 {
    let ones = _mm512_set1_epi8(1);
    let mut acc = _mm512_setzero_si512();
    let mut t = k0;
    while t + 64 <= k1 {
        // SAFETY: t + 64 <= k1.
        let v = unsafe { _mm512_loadu_si512(b.add(t).cast()) };
        acc = _mm512_dpbusd_epi32(acc, ones, v);
        t += 64;
    }
    if t < k1 {
        let mask: __mmask64 = u64::MAX >> (64 - (k1 - t));
        // SAFETY: masked-off bytes are not accessed.
        let v = unsafe { _mm512_maskz_loadu_epi8(mask, b.add(t)) };
        acc = _mm512_dpbusd_epi32(acc, ones, v);
    }
    _mm512_reduce_add_epi32(acc)
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

/// AVX2 tile: `out[r * 4 + c] = Σ_{k0 ≤ t < k1'} a[r][t] · b[c][t]` where `k1'` is `k1`
/// rounded down to 16 from `k0`; the caller adds the remainder with scalar code.
///
/// Bytes are sign-extended to 16 bits and multiplied with `vpmaddwd`: each pair sum is at
/// most `2 · 128²` in magnitude, exact in int32.
///
/// # Safety
/// The CPU must support `avx2`; each row pointer must be valid for reads of `k1` bytes.
#[target_feature(enable = "avx2")]
unsafe fn tile_avx2_raw(a: [*const i8; 2], b: [*const i8; 4], k0: usize, k1: usize) -> [i32; 8] {
    let mut acc = [[_mm256_setzero_si256(); 4]; 2];
    let mut t = k0;
    while t + 16 <= k1 {
        // SAFETY: t + 16 <= k1, so each 16-byte load stays within its row.
        let av = unsafe { [widen16(a[0], t), widen16(a[1], t)] };
        for c in 0..4 {
            // SAFETY: as above.
            let bv = unsafe { widen16(b[c], t) };
            for r in 0..2 {
                acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(av[r], bv));
            }
        }
        t += 16;
    }
    let mut out = [0i32; 8];
    for r in 0..2 {
        let [v0, v1, v2, v3] = acc[r];
        let h = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
        let s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
        // SAFETY: out[4r..4r + 4] is 16 writable bytes.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().add(4 * r).cast(), s) };
    }
    out
}

/// 16 bytes at `p + t`, sign-extended to 16 bits.
///
/// # Safety
/// `avx2`; `p + t .. p + t + 16` readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn widen16(p: *const i8, t: usize) -> __m256i {
    // SAFETY: guaranteed by the caller.
    _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(p.add(t).cast::<__m128i>()) })
}
