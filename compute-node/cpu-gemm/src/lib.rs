//! gemm-i8 on the CPU with SIMD micro-kernels: AVX-512 VNNI or AVX2 on x86-64, NEON with
//! or without its dot-product instructions on AArch64 (chosen at run time), and a
//! portable scalar path everywhere; multi-threaded over rows or columns with rayon.
//!
//! Every kernel gives the same bytes as the plain product [`gemm_reference`]: each output
//! is the int32 dot product of a row of `A` and a row of `Bt`, added with wrapping int32
//! arithmetic. Integer addition modulo 2³² is associative and commutative, so lanes,
//! blocks and tiles in any order give the same sum modulo 2³² as adding the products in
//! order; when every true partial sum lies in int32 (the compute node bounds `k` so that
//! it does), that sum is the true dot product. No floating point is involved.
//!
//! This crate is kept free of the compute node's other dependencies so that the NEON
//! kernels can be built for AArch64 and checked under an emulator on any machine
//! (`scripts/test-neon.sh`).

use std::{fmt, str::FromStr};

use rayon::prelude::*;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

/// An instruction set the CPU gemm-i8 can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Portable Rust (whatever the compiler vectorizes for the build target).
    Scalar,
    /// x86-64 AVX2: bytes widened to 16 bits, `vpmaddwd`.
    Avx2,
    /// x86-64 AVX-512 (F, BW) with VNNI: `vpdpbusd`, 64 byte products per instruction.
    Avx512Vnni,
    /// AArch64 Advanced SIMD: `smull` byte products into 16 bits, `sadalp` into 32.
    Neon,
    /// AArch64 with the dot-product extension (Armv8.2 `dotprod`): `sdot`, 16 byte
    /// products per instruction.
    NeonDot,
}

impl Isa {
    /// Every instruction set: the portable path, then each architecture's, slowest first.
    pub const ALL: [Isa; 5] = [
        Isa::Scalar,
        Isa::Avx2,
        Isa::Avx512Vnni,
        Isa::Neon,
        Isa::NeonDot,
    ];

    /// Whether this CPU can run `self` (runtime detection).
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x86::Avx2::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => x86::Vnni::detect().is_some(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => true,
            #[cfg(target_arch = "aarch64")]
            Isa::NeonDot => neon::Dot::detect().is_some(),
            #[allow(unreachable_patterns)]
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
            Isa::Neon => "neon",
            Isa::NeonDot => "neon-dot",
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
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|i| i.name()).collect();
                format!("unknown instruction set `{s}` ({})", names.join(", "))
            })
    }
}

/// Multiply-adds below which a product runs on the calling thread (a fork costs a few µs).
pub const PARALLEL_MIN_MACS: usize = 1 << 20;

/// `c (m × n) = a (m × k) × bt (n × k)ᵀ`, all row-major, on `isa` (the portable path when
/// this CPU lacks it); `threads` lets the work split over rayon's pool (rows of `C` when
/// there are many, else columns) when it is big enough to gain from it.
///
/// # Panics
/// If the slices' lengths are not `m·k`, `n·k` and `m·n`.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    isa: Isa,
    threads: bool,
    a: &[i8],
    bt: &[i8],
    m: usize,
    n: usize,
    k: usize,
    c: &mut [i32],
) {
    if trivial(a, bt, (m, n, k), c) {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Vnni && m >= PACK_MIN_ROWS {
        if let Some(v) = x86::Vnni::detect() {
            // Packing `Bt` costs about n·k byte moves against m·n·k multiply-adds.
            let packed = PackedB::new(bt, n, k);
            split(threads, m, n, k, c, |rows, cols, part| {
                packed_vnni(v, &a[rows.start * k..rows.end * k], &packed, cols, part);
            });
            return;
        }
    }
    split(threads, m, n, k, c, |rows, cols, part| {
        let bb = &bt[cols.start * k..cols.end * k];
        block(
            isa,
            &a[rows.start * k..rows.end * k],
            bb,
            rows.len(),
            cols.len(),
            k,
            part,
        );
    });
}

/// Checks the slices against `m × n × k` and does the products with nothing to multiply
/// (no rows or columns: nothing; `k = 0`: zeros); `true` when that was all.
///
/// # Panics
/// If the slices' lengths are not `m·k`, `n·k` and `m·n`.
fn trivial(a: &[i8], bt: &[i8], (m, n, k): (usize, usize, usize), c: &mut [i32]) -> bool {
    assert!(
        m.checked_mul(k) == Some(a.len())
            && n.checked_mul(k) == Some(bt.len())
            && m.checked_mul(n) == Some(c.len()),
        "gemm-i8 slices do not match {m}×{n}×{k}"
    );
    if k == 0 {
        c.fill(0);
    }
    m == 0 || n == 0 || k == 0
}

/// Rows of `A` from which [`gemm`] packs `Bt` for the broadcast kernel on AVX-512 VNNI
/// (below it, the packing would cost more than the faster products gain).
pub const PACK_MIN_ROWS: usize = 64;

/// `Bt` (`n × k`, row-major) packed once for the AVX-512 VNNI broadcast kernel, for a
/// product with the same `Bt` and many different `A` (a model's weights). On a CPU
/// without AVX-512 VNNI nothing is packed and [`gemm_packed`] runs [`gemm`].
///
/// Layout: for each block of 16 rows of `Bt` (columns of `C`), `kp / 4` groups of 64
/// bytes, the group `g` holding bytes `4g..4g + 4` of each of the 16 rows in turn (one
/// vector operand of `vpdpbusd`); rows past `n` and bytes past `k` are zero, so they add
/// nothing. `kp` is `k` rounded up to a multiple of 4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedB {
    n: usize,
    k: usize,
    kp: usize,
    data: Vec<i8>,
    /// `128 · Σ_t bt[j][t]` per column (wrapping), the bias correction of the kernel;
    /// zero past `n`.
    correction: Vec<i32>,
    /// [`fingerprint`] of the `Bt` packed, checked against the `Bt` given to
    /// [`gemm_packed`] in debug builds.
    fingerprint: u64,
}

/// A cheap digest of `Bt`'s bytes (FNV-1a over 8-byte words), to catch a [`PackedB`]
/// handed to [`gemm_packed`] with another `Bt` of the same shape in debug builds.
fn fingerprint(bt: &[i8]) -> u64 {
    bt.chunks(8).fold(0xcbf2_9ce4_8422_2325u64, |h, w| {
        let mut v = [0u8; 8];
        for (d, &s) in v.iter_mut().zip(w) {
            *d = s as u8;
        }
        (h ^ u64::from_le_bytes(v)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl PackedB {
    /// Packs `bt` (`n × k`) when this CPU has AVX-512 VNNI.
    ///
    /// # Panics
    /// If `bt.len() != n · k`.
    pub fn new(bt: &[i8], n: usize, k: usize) -> Self {
        assert!(bt.len() == n * k, "gemm-i8 Bt does not match {n}×{k}");
        let kp = k.next_multiple_of(4);
        if !Isa::Avx512Vnni.is_available() {
            return Self {
                n,
                k,
                kp,
                data: Vec::new(),
                correction: Vec::new(),
                fingerprint: fingerprint(bt),
            };
        }
        let blocks = n.div_ceil(16);
        let mut data = vec![0i8; blocks * 16 * kp];
        let mut correction = vec![0i32; blocks * 16];
        for (j, row) in bt.chunks_exact(k.max(1)).take(n).enumerate() {
            let block = &mut data[j / 16 * 16 * kp..(j / 16 + 1) * 16 * kp];
            for (g, quad) in row.chunks(4).enumerate() {
                let at = g * 64 + j % 16 * 4;
                block[at..at + quad.len()].copy_from_slice(quad);
            }
            let sum = row.iter().fold(0i32, |s, &x| s.wrapping_add(i32::from(x)));
            correction[j] = sum.wrapping_mul(128);
        }
        Self {
            n,
            k,
            kp,
            data,
            correction,
            fingerprint: fingerprint(bt),
        }
    }

    /// `(n, k)`: the shape of the `Bt` it was packed from.
    pub fn shape(&self) -> (usize, usize) {
        (self.n, self.k)
    }
}

/// [`gemm`] with `bt` packed beforehand: the same bytes. On AVX-512 VNNI it runs the
/// broadcast kernel on `packed`, on any other instruction set [`gemm`] on `bt`, so
/// `packed` **must** be `bt`'s own [`PackedB`] (else machines with and without VNNI would
/// compute different products; debug builds check a fingerprint of `bt`). Keep the two
/// together, immutable, as the compute node's `encoder::Weights` does.
///
/// # Panics
/// If the slices' lengths are not `m·k`, `n·k` and `m·n`, or `packed` has another shape
/// (or, in debug builds, was packed from other bytes).
#[allow(clippy::too_many_arguments)]
pub fn gemm_packed(
    isa: Isa,
    threads: bool,
    a: &[i8],
    bt: &[i8],
    packed: &PackedB,
    m: usize,
    c: &mut [i32],
) {
    let (n, k) = packed.shape();
    debug_assert!(
        bt.len() != n * k || fingerprint(bt) == packed.fingerprint,
        "gemm-i8 Bt is not the one this PackedB was packed from"
    );
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Vnni && !packed.data.is_empty() {
        if let Some(v) = x86::Vnni::detect() {
            if trivial(a, bt, (m, n, k), c) {
                return;
            }
            split(threads, m, n, k, c, |rows, cols, part| {
                packed_vnni(v, &a[rows.start * k..rows.end * k], packed, cols, part);
            });
            return;
        }
    }
    gemm(isa, threads, a, bt, m, n, k, c);
}

/// Splits an `m × n × k` product over rayon's threads when `threads` and it is big
/// enough: by rows of `C` when there are many, else by columns (multiples of 64) into
/// private buffers, copied after. `part(rows, cols, c)` computes `C[rows][cols]` into
/// `c` (rows of `cols.len()` int32, overwritten). `m, n, k > 0`.
fn split(
    threads: bool,
    m: usize,
    n: usize,
    k: usize,
    c: &mut [i32],
    part: impl Fn(std::ops::Range<usize>, std::ops::Range<usize>, &mut [i32]) + Sync,
) {
    let workers = if threads && m * n * k >= PARALLEL_MIN_MACS {
        rayon::current_num_threads()
    } else {
        1
    };
    if workers <= 1 {
        part(0..m, 0..n, c);
        return;
    }
    if m >= 16 * workers {
        // Row chunks: each task owns whole rows of C. A few chunks per worker balance
        // uneven progress; multiples of 12 rows keep tiles (4 and 6 rows) whole.
        let rows = (m.div_ceil(4 * workers)).next_multiple_of(12);
        c.par_chunks_mut(rows * n).enumerate().for_each(|(p, cc)| {
            let i0 = p * rows;
            part(i0..i0 + cc.len() / n, 0..n, cc);
        });
    } else {
        // Few rows (a sentence's tokens): column chunks into private buffers, then copied.
        let cols = (n.div_ceil(2 * workers)).next_multiple_of(64);
        let parts: Vec<(usize, Vec<i32>)> = (0..n.div_ceil(cols))
            .into_par_iter()
            .map(|p| {
                let (j0, j1) = (p * cols, ((p + 1) * cols).min(n));
                let mut buf = vec![0i32; m * (j1 - j0)];
                part(0..m, j0..j1, &mut buf);
                (j0, buf)
            })
            .collect();
        for (j0, buf) in parts {
            let nn = buf.len() / m;
            for (dst, src) in c.chunks_exact_mut(n).zip(buf.chunks_exact(nn)) {
                dst[j0..j0 + nn].copy_from_slice(src);
            }
        }
    }
}

/// The plain product every kernel must equal: `c[i][j] = Σ_t a[i][t]·bt[j][t]`, the
/// products added in order with wrapping int32 arithmetic.
///
/// # Panics
/// If the slices' lengths are not `m·k`, `n·k` and `m·n`.
pub fn gemm_reference(a: &[i8], bt: &[i8], m: usize, n: usize, k: usize, c: &mut [i32]) {
    assert!(
        a.len() == m * k && bt.len() == n * k && c.len() == m * n,
        "gemm-i8 slices do not match {m}×{n}×{k}"
    );
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = dot(&a[i * k..(i + 1) * k], &bt[j * k..(j + 1) * k]);
        }
    }
}

/// Depth of a slab of `k`: 4 rows of `Bt` this deep (16 KiB of int8, 32 KiB widened to
/// int16) stay in L1 while `A` streams past them; a multiple of 64.
const K_BLOCK: usize = 4096;

/// The single-threaded product on `isa` (see [`gemm`]); `k > 0`.
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
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => neon_product(neon::Kernel::Widening, a, bt, (m, n, k), c),
        #[cfg(target_arch = "aarch64")]
        Isa::NeonDot => match neon::Dot::detect() {
            Some(d) => neon_product(neon::Kernel::Dot(d), a, bt, (m, n, k), c),
            None => neon_product(neon::Kernel::Widening, a, bt, (m, n, k), c),
        },
        _ => scalar(a, bt, m, n, k, c),
    }
}

/// The loop nest of the AVX-512 VNNI path: `A` biased to unsigned once, then for each
/// [`K_BLOCK`]-deep slab, each block of rows of `A` that fits L2 ([`rows_per_l2`]) and
/// each group of 4 rows of `Bt`, every row of the block (the group stays in L1 while the
/// block streams past it from L2).
#[cfg(target_arch = "x86_64")]
fn vnni(v: x86::Vnni, a: &[i8], bt: &[i8], (m, n, k): (usize, usize, usize), c: &mut [i32]) {
    let mut biased = vec![0u8; a.len()];
    for (d, &x) in biased.iter_mut().zip(a) {
        *d = x as u8 ^ 0x80;
    }
    int8_panels(&biased, bt, (m, n, k), c, |panel| x86::panel_vnni(v, panel));
}

/// Depth of a slab of the broadcast kernel: 4 column blocks of packed `Bt` this deep
/// (32 KiB) stay in L1 while rows of `A` stream past them; a multiple of 4.
#[cfg(target_arch = "x86_64")]
const PACKED_K_BLOCK: usize = 512;

/// The loop nest of the AVX-512 VNNI broadcast kernel: `C[.., cols]` (rows of
/// `cols.len()` int32 in `c`) `= A × Bt[cols]ᵀ` with `Bt` packed. `A` is biased to
/// unsigned and its rows padded to `kp` once; then for each [`PACKED_K_BLOCK`]-deep slab
/// and block of rows that fits L2, the kernel runs over every 64 columns (4 blocks of
/// 16) of `cols`. `cols` starts on a multiple of 16.
#[cfg(target_arch = "x86_64")]
fn packed_vnni(v: x86::Vnni, a: &[i8], b: &PackedB, cols: std::ops::Range<usize>, c: &mut [i32]) {
    debug_assert!(
        cols.start.is_multiple_of(16),
        "columns start on a packed block"
    );
    let (k, kp) = (b.k, b.kp);
    let m = a.len() / k;
    let mut biased = vec![0x80u8; m * kp];
    for (dst, src) in biased.chunks_exact_mut(kp).zip(a.chunks_exact(k)) {
        for (d, &x) in dst.iter_mut().zip(src) {
            *d = x as u8 ^ 0x80;
        }
    }
    // The first slab overwrites C, so it needs no zeroing.
    let width = cols.len();
    let mut k0 = 0;
    while k0 < kp {
        let k1 = (k0 + PACKED_K_BLOCK).min(kp);
        // Whole 6-row tiles per block.
        let mc = (rows_per_l2(k1 - k0) / 12 * 12).max(12);
        for i0 in (0..m).step_by(mc) {
            let i1 = (i0 + mc).min(m);
            for j in (cols.start..cols.end).step_by(64) {
                let nb = (cols.end - j).div_ceil(16).min(4);
                x86::packed_panel_vnni(
                    v,
                    x86::PackedPanel {
                        a: &biased[i0 * kp..i1 * kp],
                        kp,
                        b: &b.data[j / 16 * 16 * kp..(j / 16 + nb) * 16 * kp],
                        correction: (k0 == 0).then(|| &b.correction[j..j + 16 * nb]),
                        slab: (k0, k1),
                        c: &mut c[i0 * width..i1 * width],
                        cstride: width,
                        j: j - cols.start,
                        cols: (cols.end - j).min(64),
                    },
                );
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
    c.fill(0);
    // Four widened rows of `Bt`; only the current slab k0..k1 is filled (and touched).
    let mut wb = vec![0i16; 4 * kp];
    for_each_panel((m, n, kp), 2, |rows, j, nr, (k0, k1)| {
        for (q, dst) in wb.chunks_exact_mut(kp).take(nr).enumerate() {
            let src = &bt[(j + q) * k..(j + q + 1) * k];
            let real = k1.min(k).saturating_sub(k0);
            let slab = &mut dst[k0..k1];
            for (d, &s) in slab.iter_mut().zip(&src[k0.min(k)..]) {
                *d = i16::from(s);
            }
            slab[real..].fill(0);
        }
        let b: Vec<&[i16]> = wb.chunks_exact(kp).take(nr).collect();
        let panel = Panel {
            a: &wa[rows.start * kp..rows.end * kp],
            stride: kp,
            b: &b,
            slab: (k0, k1),
            c: &mut c[rows.start * n..rows.end * n],
            cstride: n,
            j,
        };
        x86::panel_avx2(v, panel);
    });
}

/// The loop nest of both NEON paths: `A` and `Bt` zero-padded to a multiple of 16 bytes
/// per row when `k` is not one (zeros add nothing to a dot product); then, like the x86
/// paths, for each [`K_BLOCK`]-deep slab and block of rows of `A` that fits L2, each group
/// of 4 rows of `Bt` against every row of the block.
#[cfg(target_arch = "aarch64")]
fn neon_product(
    kernel: neon::Kernel,
    a: &[i8],
    bt: &[i8],
    (m, n, k): (usize, usize, usize),
    c: &mut [i32],
) {
    let kp = k.next_multiple_of(16);
    let (pa, pb);
    let (a, bt) = if kp == k {
        (a, bt)
    } else {
        pa = pad_rows(a, k, kp);
        pb = pad_rows(bt, k, kp);
        (&pa[..], &pb[..])
    };
    int8_panels(a, bt, (m, n, kp), c, |panel| neon::panel(kernel, panel));
}

/// The loop nest of the paths whose kernels read `Bt`'s bytes as they are (VNNI, NEON):
/// `C` zeroed, then [`for_each_panel`] over rows of `stride` bytes, each group of 4 rows
/// of `Bt` taken in place, handed to `kernel` as one [`Panel`].
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn int8_panels<A>(
    a: &[A],
    bt: &[i8],
    (m, n, stride): (usize, usize, usize),
    c: &mut [i32],
    mut kernel: impl FnMut(Panel<'_, A, i8>),
) {
    c.fill(0);
    for_each_panel((m, n, stride), 1, |rows, j, nr, slab| {
        let b: Vec<&[i8]> = (j..j + nr)
            .map(|q| &bt[q * stride..(q + 1) * stride])
            .collect();
        kernel(Panel {
            a: &a[rows.start * stride..rows.end * stride],
            stride,
            b: &b,
            slab,
            c: &mut c[rows.start * n..rows.end * n],
            cstride: n,
            j,
        });
    });
}

/// `rows` rows of `k` bytes copied into rows of `kp >= k` bytes, zero-filled.
#[cfg(target_arch = "aarch64")]
fn pad_rows(x: &[i8], k: usize, kp: usize) -> Vec<i8> {
    let mut out = vec![0i8; x.len() / k * kp];
    for (dst, src) in out.chunks_exact_mut(kp).zip(x.chunks_exact(k)) {
        dst[..k].copy_from_slice(src);
    }
    out
}

/// One panel's operands, as the loop nests hand them to a kernel: `a`, whole rows of `A`
/// (`stride` elements each); `b`, 1 to 4 rows of `Bt`; `slab`, the part `k0..k1` of the
/// depth to multiply over; `c`, the rows of `C` (`cstride` int32 each) to which the
/// products are added, from column `j`.
// Unused on targets with no SIMD kernels (neither x86-64 nor AArch64).
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
struct Panel<'a, A, B> {
    a: &'a [A],
    stride: usize,
    b: &'a [&'a [B]],
    slab: (usize, usize),
    c: &'a mut [i32],
    cstride: usize,
    j: usize,
}

/// A [`Panel`] checked by [`Panel::raw`], as the pointers a kernel reads and writes: `m`
/// rows of `A` from `a`, `nr` rows of `Bt` (`b`, the last repeated to fill four), the
/// slab `k0..k1`, and `C` from its column `j` (`c`). It borrows the panel's slices.
// Unused on targets with no SIMD kernels (neither x86-64 nor AArch64).
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
#[derive(Clone, Copy)]
struct RawPanel<'a, A, B> {
    a: *const A,
    stride: usize,
    m: usize,
    b: [*const B; 4],
    nr: usize,
    k0: usize,
    k1: usize,
    c: *mut i32,
    cstride: usize,
    _borrow: std::marker::PhantomData<&'a mut [i32]>,
}

// Unused on targets with no SIMD kernels (neither x86-64 nor AArch64).
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
impl<'a, A, B> Panel<'a, A, B> {
    /// Checks that `a` holds whole rows, `b` 1 to 4 rows readable up to `k1 <= stride`,
    /// `c` room for every row of `A` times `b.len()` int32 from column `j`, and that `step`
    /// divides `k0` and `k1`; the kernels' raw loads and stores stay within that.
    ///
    /// # Panics
    /// If any of that does not hold.
    fn raw(self, step: usize) -> RawPanel<'a, A, B> {
        let (k0, k1) = self.slab;
        let m = self.a.len() / self.stride.max(1);
        let nr = self.b.len();
        assert!(
            (1..=4).contains(&nr)
                && m > 0
                && k0 <= k1
                && k1 <= self.stride
                && k0 % step == 0
                && k1 % step == 0
                && self.a.len() == m * self.stride
                && self.b.iter().all(|r| r.len() >= k1)
                && self.c.len() >= (m - 1) * self.cstride + self.j + nr,
            "a gemm-i8 panel's slices do not match its shape"
        );
        RawPanel {
            a: self.a.as_ptr(),
            stride: self.stride,
            m,
            b: std::array::from_fn(|q| self.b[q.min(nr - 1)].as_ptr()),
            nr,
            k0,
            k1,
            c: self.c[self.j..].as_mut_ptr(),
            cstride: self.cstride,
            _borrow: std::marker::PhantomData,
        }
    }
}

/// The loop nest the panel kernels share: for each [`K_BLOCK`]-deep slab `k0..k1` of
/// `0..kp`, each block of rows `i0..i1` of `A` that fits L2 (rows of `elem_bytes · (k1 −
/// k0)` bytes) and each group of (up to) 4 rows of `Bt` from `j`, `panel(i0..i1, j, nr,
/// (k0, k1))`. Each group stays in L1 while the block streams past it from L2.
fn for_each_panel(
    (m, n, kp): (usize, usize, usize),
    elem_bytes: usize,
    mut panel: impl FnMut(std::ops::Range<usize>, usize, usize, (usize, usize)),
) {
    let mut k0 = 0;
    while k0 < kp {
        let k1 = (k0 + K_BLOCK).min(kp);
        let mc = rows_per_l2(elem_bytes * (k1 - k0));
        for i0 in (0..m).step_by(mc) {
            for j in (0..n).step_by(4) {
                panel(i0..(i0 + mc).min(m), j, (n - j).min(4), (k0, k1));
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

/// `Σ a[t]·b[t]`, the products added in order with wrapping i32 arithmetic: each output
/// of [`gemm_reference`] (and of the compute node's reference gemm-i8).
#[inline]
pub fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .fold(0i32, |s, p| s.wrapping_add(p))
}
