//! Faster forms of the encoder's element-wise references for the CPU backend: the same
//! integer formulas, value for value, without the per-element bounds checks, pushes and
//! intermediate matrices of the references (which stay the definition; the tests compare).

use crate::{
    ibert::{check_gelu_amax, check_layernorm, layernorm_row_stats, GeluParams},
    ops::{
        check_affine, check_dynquant, check_dynquant_split, check_same_shape, dynquant_shift,
        Affine, SplitQuant,
    },
    ComputeError, Matrix,
};

/// [`crate::ops::affine_reference`] of `x`, or with `sum = Some((b, ma, mb))`
/// [`crate::ops::affine_sum_reference`] of `x·ma + b·mb` (wrapping), fused.
pub fn affine(
    x: &Matrix<i32>,
    sum: Option<(&Matrix<i32>, i32, i32)>,
    p: &Affine,
    row_shift: &[u32],
) -> Result<Matrix<i32>, ComputeError> {
    if let Some((b, _, _)) = sum {
        check_same_shape(x, b)?;
    }
    check_affine(x, p, row_shift)?;
    let cols = x.cols();
    let mut out = vec![0i32; x.data().len()];
    if cols == 0 {
        return Matrix::new(x.rows(), cols, out);
    }
    let wide = super::x86_affine_available();
    for (r, (o, &e)) in out.chunks_exact_mut(cols).zip(row_shift).enumerate() {
        let row = AffineRow {
            x: x.row(r),
            sum: sum.map(|(b, ma, mb)| (b.row(r), ma, mb)),
            p,
            e,
        };
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = wide {
            super::x86::affine_row_avx512(token, &row, o);
            continue;
        }
        let _ = wide;
        row.run(o);
    }
    Matrix::new(x.rows(), cols, out)
}

/// One row of [`affine`]: its input (or the two inputs of the sum), the parameters and
/// the row's shift offset.
pub(crate) struct AffineRow<'a> {
    pub x: &'a [i32],
    pub sum: Option<(&'a [i32], i32, i32)>,
    pub p: &'a Affine,
    pub e: u32,
}

impl AffineRow<'_> {
    /// Writes the row into `o`. `#[inline(always)]` so that a `#[target_feature]` caller
    /// compiles (and vectorizes) it with its features.
    #[inline(always)]
    pub fn run(&self, o: &mut [i32]) {
        let (lo, hi, e) = (i64::from(self.p.lo), i64::from(self.p.hi), self.e);
        let params = self.p.mult.iter().zip(&self.p.shift).zip(&self.p.bias);
        #[inline(always)]
        fn one(v: i32, m: i32, s: u32, b: i32, e: u32, lo: i64, hi: i64) -> i32 {
            // check_affine: 1 <= s - e <= 62.
            let s = s - e;
            let prod = i64::from(v) * i64::from(m);
            (((prod + (1i64 << (s - 1))) >> s) + i64::from(b)).clamp(lo, hi) as i32
        }
        match self.sum {
            None => {
                for ((d, &v), ((&m, &s), &b)) in o.iter_mut().zip(self.x).zip(params) {
                    *d = one(v, m, s, b, e, lo, hi);
                }
            }
            Some((y, ma, mb)) => {
                for (((d, &v), &w), ((&m, &s), &b)) in o.iter_mut().zip(self.x).zip(y).zip(params) {
                    let v = v.wrapping_mul(ma).wrapping_add(w.wrapping_mul(mb));
                    *d = one(v, m, s, b, e, lo, hi);
                }
            }
        }
    }
}

/// [`crate::ops::dynquant_reference`], row by row without intermediate checks.
pub fn dynquant(x: &Matrix<i32>, bits: u32) -> Result<(Matrix<i32>, Vec<u32>), ComputeError> {
    check_dynquant(x, bits)?;
    let qmax = (1i32 << (bits - 1)) - 1;
    let cols = x.cols();
    let mut out = vec![0i32; x.data().len()];
    let mut shifts = Vec::with_capacity(x.rows());
    if cols > 0 {
        for (o, row) in out.chunks_exact_mut(cols).zip(x.data().chunks_exact(cols)) {
            let k = super::vectorized(|| row_shift(row, qmax));
            shifts.push(k);
            super::vectorized(|| {
                for (d, &v) in o.iter_mut().zip(row) {
                    *d = quantize(v, k, qmax);
                }
            });
        }
    }
    Ok((Matrix::new(x.rows(), cols, out)?, shifts))
}

/// [`crate::ops::dynquant_split_reference`]: the halves `hi = (q + 64) >> 7`,
/// `lo = q − 128·hi` of the dynamic quantization, without the intermediate matrix.
pub fn dynquant_split(x: &Matrix<i32>, bits: u32) -> Result<SplitQuant, ComputeError> {
    check_dynquant_split(x, bits)?;
    let qmax = (1i32 << (bits - 1)) - 1;
    let cols = x.cols();
    let mut hi = vec![0i8; x.data().len()];
    let mut lo = vec![0i8; x.data().len()];
    let mut shifts = Vec::with_capacity(x.rows());
    if cols > 0 {
        for ((h, l), row) in hi
            .chunks_exact_mut(cols)
            .zip(lo.chunks_exact_mut(cols))
            .zip(x.data().chunks_exact(cols))
        {
            let k = super::vectorized(|| row_shift(row, qmax));
            shifts.push(k);
            super::vectorized(|| {
                for ((h, l), &v) in h.iter_mut().zip(l.iter_mut()).zip(row) {
                    // |q| <= 2^13: both halves fit int8 (check_dynquant_split).
                    let q = quantize(v, k, qmax);
                    let top = (q + 64) >> 7;
                    *h = top as i8;
                    *l = (q - 128 * top) as i8;
                }
            });
        }
    }
    Ok((
        Matrix::new(x.rows(), cols, hi)?,
        Matrix::new(x.rows(), cols, lo)?,
        shifts,
    ))
}

/// A row's exponent, as the reference picks it.
#[inline(always)]
fn row_shift(row: &[i32], qmax: i32) -> u32 {
    let amax = row.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    let k = dynquant_shift(amax, qmax as u32);
    debug_assert!(k < 32, "a shift of {k} for an int32 row");
    k
}

/// `round_half_up(v / 2^k)` clamped to `-qmax - 1..=qmax`, exactly as the reference,
/// in i32 (twice the lanes of its i64): with `v = 2^k·q + r`, `0 <= r < 2^k`, the
/// reference's `(v + 2^(k-1)) >> k` is `q` plus 1 when `r >= 2^(k-1)`, i.e. when bit
/// `k − 1` of `v` is set. `k < 32`: [`dynquant_shift`] of a magnitude `<= 2^31` with
/// `qmax >= 127` (8 to 16 bits) is at most 25 (checked once per row by [`row_shift`]).
#[inline(always)]
fn quantize(v: i32, k: u32, qmax: i32) -> i32 {
    let q = if k == 0 {
        v
    } else {
        (v >> k) + ((v >> (k - 1)) & 1)
    };
    q.clamp(-qmax - 1, qmax)
}

/// [`crate::ops::add_reference`]: `a·ma + b·mb`, wrapping, compiled for AVX-512 where the
/// CPU has it (baseline x86-64 has no 32-bit multiply to vectorize it with).
pub fn add(
    a: &Matrix<i32>,
    b: &Matrix<i32>,
    ma: i32,
    mb: i32,
) -> Result<Matrix<i32>, ComputeError> {
    check_same_shape(a, b)?;
    let mut out = vec![0i32; a.data().len()];
    super::vectorized(|| {
        for ((d, &x), &y) in out.iter_mut().zip(a.data()).zip(b.data()) {
            *d = x.wrapping_mul(ma).wrapping_add(y.wrapping_mul(mb));
        }
    });
    Matrix::new(a.rows(), a.cols(), out)
}

/// [`crate::ibert::gelu_reference`], the same formula, vectorized as [`add`] is.
pub fn gelu(x: &Matrix<i32>, p: &GeluParams) -> Result<Matrix<i32>, ComputeError> {
    // Bounds every intermediate below 2^31, so the i32 arithmetic below is exact.
    let amax = super::vectorized(|| x.data().iter().map(|v| v.unsigned_abs()).max());
    check_gelu_amax(amax.unwrap_or(0), p)?;
    let mut out = vec![0i32; x.data().len()];
    let (q_b, q_c, q_1) = (p.q_b, p.q_c, p.q_1);
    super::vectorized(|| {
        for (d, &q) in out.iter_mut().zip(x.data()) {
            let qa = q.abs().min(-q_b);
            let t = qa + q_b;
            let l = q.signum() * (t * t + q_c);
            *d = q * (l + q_1);
        }
    });
    Matrix::new(x.rows(), x.cols(), out)
}

/// [`crate::ibert::layernorm_reference`], with each row's division by its standard
/// deviation done as a multiply and a shift ([`Divisor`], exact) instead of a hardware
/// division per element.
pub fn layernorm(x: &Matrix<i32>, out_bits: u32) -> Result<Matrix<i32>, ComputeError> {
    // Rows of 1..=MAX_ROW_LEN, and (max - min) << out_bits < 2^31 in every row.
    check_layernorm(x, out_bits)?;
    let cols = x.cols();
    let mut out = vec![0i32; x.data().len()];
    for (o, row) in out.chunks_exact_mut(cols).zip(x.data().chunks_exact(cols)) {
        let (mean, std_dev) = layernorm_row_stats(row);
        let div = Divisor::new(std_dev);
        super::vectorized(|| {
            for (d, &v) in o.iter_mut().zip(row) {
                let delta = v - mean;
                // |delta| <= max - min, so the shifted magnitude is below 2^31.
                *d = delta.signum() * div.divide(delta.unsigned_abs() << out_bits) as i32;
            }
        });
    }
    Matrix::new(x.rows(), cols, out)
}

/// Exact `floor(n / d)` for every `n < 2^31` and a fixed `d >= 1`, as one 64-bit multiply
/// and a shift (Granlund and Montgomery's method). With `l = ceil(log2 d)`, `s = 31 + l` and
/// `m = ceil(2^s / d)`: `m·d = 2^s + e` with `0 <= e < d <= 2^l`, so for `n = q·d + r`,
/// `n·m / 2^s = q + (r + n·e / 2^s) / d` where `n·e / 2^s < 1` and `r <= d - 1`: the floor
/// is `q`. `m <= 2^32`, so `n·m < 2^63`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Divisor {
    m: u64,
    s: u32,
}

impl Divisor {
    /// The divisor `d` (0 is taken as 1, as the LayerNorm reference clamps it).
    pub(crate) fn new(d: u32) -> Self {
        let d = d.max(1);
        let l = 32 - (d - 1).leading_zeros();
        let s = 31 + l;
        let m = (1u128 << s).div_ceil(u128::from(d));
        Divisor { m: m as u64, s }
    }

    /// `floor(n / d)`; `n` must be below 2^31.
    #[inline(always)]
    pub(crate) fn divide(self, n: u32) -> u32 {
        debug_assert!(n < 1 << 31);
        ((u64::from(n) * self.m) >> self.s) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ibert::{gelu_reference, layernorm_reference},
        ops::add_reference,
        SplitMix64,
    };

    #[test]
    fn the_multiply_and_shift_division_equals_integer_division() {
        let mut rng = SplitMix64::new(7);
        let mut divisors: Vec<u32> = vec![1, 2, 3, 5, 7, 255, 256, 257, 1 << 16, (1 << 31) - 1];
        divisors.extend([1u32 << 31, (1 << 31) + 1, u32::MAX - 1, u32::MAX]);
        divisors.extend((0..200).map(|_| (rng.next_u64() as u32) >> (rng.next_u64() % 32)));
        for &d in &divisors {
            let div = Divisor::new(d);
            let d = d.max(1);
            let check = |n: u32| {
                if n < 1 << 31 {
                    assert_eq!(div.divide(n), n / d, "{n} / {d}");
                }
            };
            for n in [
                0,
                1,
                d - 1,
                d,
                d.wrapping_add(1),
                (1 << 31) - 1,
                (1 << 30) + 7,
            ] {
                check(n);
            }
            // Around multiples of d, where a wrong rounding would show.
            for _ in 0..200 {
                let q = (rng.next_u64() as u32) % ((1u32 << 31) / d).max(1);
                let base = q.wrapping_mul(d);
                check(base);
                check(base.wrapping_sub(1));
                check(base.wrapping_add(d - 1));
                check((rng.next_u64() as u32) >> 1);
            }
        }
    }

    fn random_matrix(rng: &mut SplitMix64, rows: usize, cols: usize, span: i64) -> Matrix<i32> {
        let data = (0..rows * cols)
            .map(|_| (rng.next_u64() % (2 * span as u64 + 1)) as i64 - span)
            .map(|v| v as i32)
            .collect();
        Matrix::new(rows, cols, data).unwrap()
    }

    #[test]
    fn layernorm_gelu_and_add_equal_their_references() {
        let mut rng = SplitMix64::new(11);
        for (rows, cols, span, bits) in [
            (1, 1, 5, 0),
            (3, 384, 1 << 12, 16),
            (7, 384, 1 << 20, 8),
            (2, 1536, 1 << 14, 14),
            (5, 17, 3, 27),
            (4, 384, 0, 16),
        ] {
            let x = random_matrix(&mut rng, rows, cols, span);
            assert_eq!(
                layernorm(&x, bits).unwrap(),
                layernorm_reference(&x, bits).unwrap(),
                "{rows}x{cols} span {span} bits {bits}"
            );
            let y = random_matrix(&mut rng, rows, cols, span);
            assert_eq!(
                add(&x, &y, 3, -7).unwrap(),
                add_reference(&x, &y, 3, -7).unwrap()
            );
        }
        // A row whose spread is too large for the output bits is refused, as by the reference.
        let wide = Matrix::new(1, 2, vec![-(1 << 20), 1 << 20]).unwrap();
        assert!(layernorm(&wide, 16).is_err() && layernorm_reference(&wide, 16).is_err());
        let (p, _) = GeluParams::for_scale(1.0 / 64.0).unwrap();
        let x = random_matrix(&mut rng, 9, 1536, 1 << 9);
        assert_eq!(gelu(&x, &p).unwrap(), gelu_reference(&x, &p).unwrap());
    }
}
