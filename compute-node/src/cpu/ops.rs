//! Faster forms of the encoder's element-wise references for the CPU backend: the same
//! integer formulas, value for value, without the per-element bounds checks, pushes and
//! intermediate matrices of the references (which stay the definition; the tests compare).

use crate::{
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
    let qmax = (1i64 << (bits - 1)) - 1;
    let cols = x.cols();
    let mut out = vec![0i32; x.data().len()];
    let mut shifts = Vec::with_capacity(x.rows());
    if cols > 0 {
        for (o, row) in out.chunks_exact_mut(cols).zip(x.data().chunks_exact(cols)) {
            let k = row_shift(row, qmax);
            shifts.push(k);
            super::vectorized(|| {
                for (d, &v) in o.iter_mut().zip(row) {
                    *d = quantize(v, k, qmax) as i32;
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
    let qmax = (1i64 << (bits - 1)) - 1;
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
            let k = row_shift(row, qmax);
            shifts.push(k);
            super::vectorized(|| {
                for ((h, l), &v) in h.iter_mut().zip(l.iter_mut()).zip(row) {
                    // |q| <= 2^13: both halves fit int8 (check_dynquant_split).
                    let q = quantize(v, k, qmax) as i32;
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
fn row_shift(row: &[i32], qmax: i64) -> u32 {
    let amax = row.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    dynquant_shift(amax, qmax as u32)
}

/// `round_half_up(v / 2^k)` clamped to `-qmax - 1..=qmax`, exactly as the reference.
#[inline(always)]
fn quantize(v: i32, k: u32, qmax: i64) -> i64 {
    let q = if k == 0 {
        i64::from(v)
    } else {
        (i64::from(v) + (1i64 << (k - 1))) >> k
    };
    q.clamp(-qmax - 1, qmax)
}
