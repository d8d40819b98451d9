//! The small integer kernels the encoder needs besides gemm-i8 and the I-BERT blocks:
//! per-column affine requantization with a per-row shift ([`affine_reference`]), scaled
//! element-wise sums ([`add_reference`]), dynamic per-row power-of-two quantization to int8
//! ([`dynquant_reference`]) and masked mean pooling with integer L2 normalisation
//! ([`pool_reference`]).
//!
//! As in [`crate::ibert`], each function is the definition its shader in `shaders/` must
//! match byte for byte, and the `check_*` functions are the host-side bounds under which the
//! shaders' arithmetic is exact.

use crate::{ComputeError, Matrix};

/// Largest number of columns [`pool_reference`] accepts (the shader's shared array).
pub const POOL_MAX_COLS: usize = 1024;
/// Largest number of rows [`pool_reference`] accepts (keeps the shader's loops short).
pub const POOL_MAX_ROWS: usize = 4096;

fn bound(what: &str) -> ComputeError {
    ComputeError::Shape(format!("integer bound violated: {what}"))
}

/// Per-column affine requantization parameters (see [`affine_reference`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affine {
    /// Signed fixed-point multiplier per column.
    pub mult: Vec<i32>,
    /// Right shift per column, before the per-row offset is subtracted.
    pub shift: Vec<u32>,
    /// Bias per column, added after the shift (in the output scale).
    pub bias: Vec<i32>,
    /// Lower clamp of the output.
    pub lo: i32,
    /// Upper clamp of the output.
    pub hi: i32,
}

impl Affine {
    /// Number of columns the parameters cover.
    pub fn cols(&self) -> usize {
        self.mult.len()
    }
}

/// Checks the parameters of an affine requantization of `x` with per-row shift offsets.
pub fn check_affine(x: &Matrix<i32>, p: &Affine, row_shift: &[u32]) -> Result<(), ComputeError> {
    if p.mult.len() != x.cols() || p.shift.len() != x.cols() || p.bias.len() != x.cols() {
        return Err(ComputeError::Shape(format!(
            "affine parameters for {}/{}/{} columns, input has {}",
            p.mult.len(),
            p.shift.len(),
            p.bias.len(),
            x.cols()
        )));
    }
    if row_shift.len() != x.rows() {
        return Err(ComputeError::Shape(format!(
            "{} row shifts for {} rows",
            row_shift.len(),
            x.rows()
        )));
    }
    if p.lo > p.hi {
        return Err(bound("affine clamp needs lo <= hi"));
    }
    if x.data().is_empty() {
        return Ok(());
    }
    let s_min = p.shift.iter().copied().min().unwrap_or(0);
    let s_max = p.shift.iter().copied().max().unwrap_or(0);
    let e_min = row_shift.iter().copied().min().unwrap_or(0);
    let e_max = row_shift.iter().copied().max().unwrap_or(0);
    if i64::from(s_min) - i64::from(e_max) < 1 || i64::from(s_max) - i64::from(e_min) > 62 {
        return Err(bound("affine: every shift - row shift must lie in 1..=62"));
    }
    Ok(())
}

/// Per-column affine requantization with a per-row shift offset (the shader's definition):
/// `s = shift[c] - row_shift[r]`, `y = clamp(((x * mult[c] + 2^(s-1)) >> s) + bias[c], lo, hi)`
/// in exact 64-bit arithmetic.
pub fn affine_reference(
    x: &Matrix<i32>,
    p: &Affine,
    row_shift: &[u32],
) -> Result<Matrix<i32>, ComputeError> {
    check_affine(x, p, row_shift)?;
    let mut out = Vec::with_capacity(x.data().len());
    for (r, &e) in row_shift.iter().enumerate() {
        for (c, &v) in x.row(r).iter().enumerate() {
            let s = p.shift[c] - e;
            let prod = i64::from(v) * i64::from(p.mult[c]);
            let y = ((prod + (1i64 << (s - 1))) >> s) + i64::from(p.bias[c]);
            out.push(y.clamp(i64::from(p.lo), i64::from(p.hi)) as i32);
        }
    }
    Matrix::new(x.rows(), x.cols(), out)
}

/// [`affine_reference`] of `a * ma + b * mb` (wrapping, as [`add_reference`]): the two
/// kernels fused into one.
pub fn affine_sum_reference(
    a: &Matrix<i32>,
    b: &Matrix<i32>,
    ma: i32,
    mb: i32,
    p: &Affine,
    row_shift: &[u32],
) -> Result<Matrix<i32>, ComputeError> {
    affine_reference(&add_reference(a, b, ma, mb)?, p, row_shift)
}

/// `a * ma + b * mb` element-wise, wrapping like two's complement int32 (as the shader).
pub fn add_reference(
    a: &Matrix<i32>,
    b: &Matrix<i32>,
    ma: i32,
    mb: i32,
) -> Result<Matrix<i32>, ComputeError> {
    check_same_shape(a, b)?;
    let out = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| x.wrapping_mul(ma).wrapping_add(y.wrapping_mul(mb)))
        .collect();
    Matrix::new(a.rows(), a.cols(), out)
}

/// Errors unless `a` and `b` have the same shape.
pub fn check_same_shape(a: &Matrix<i32>, b: &Matrix<i32>) -> Result<(), ComputeError> {
    if a.rows() != b.rows() || a.cols() != b.cols() {
        return Err(ComputeError::Shape(format!(
            "{} x {} and {} x {} differ",
            a.rows(),
            a.cols(),
            b.rows(),
            b.cols()
        )));
    }
    Ok(())
}

/// Bit widths [`dynquant_reference`] supports.
pub const DYNQUANT_BITS: std::ops::RangeInclusive<u32> = 8..=16;

/// The power-of-two exponent `k` [`dynquant_reference`] picks for a row whose largest
/// magnitude is `amax`: the least `k` with `(amax + 2^(k-1)) >> k <= qmax`.
pub fn dynquant_shift(amax: u32, qmax: u32) -> u32 {
    let mut k = 0u32;
    while (u64::from(amax) + if k > 0 { 1u64 << (k - 1) } else { 0 }) >> k > u64::from(qmax) {
        k += 1;
    }
    k
}

/// Checks a dynamic quantization: `bits` in [`DYNQUANT_BITS`], rows of
/// 1..=[`crate::ibert::MAX_ROW_LEN`].
pub fn check_dynquant(x: &Matrix<i32>, bits: u32) -> Result<(), ComputeError> {
    if !DYNQUANT_BITS.contains(&bits) {
        return Err(bound("dynamic quantization needs 8 <= bits <= 16"));
    }
    if x.rows() > 0 && (x.cols() == 0 || x.cols() > crate::ibert::MAX_ROW_LEN) {
        return Err(ComputeError::Shape(format!(
            "row length {} outside 1..={}",
            x.cols(),
            crate::ibert::MAX_ROW_LEN
        )));
    }
    Ok(())
}

/// Dynamic per-row quantization to `bits`-bit signed integers with a power-of-two scale:
/// returns the values (`round(x / 2^k)`, half up, clamped to `-2^(bits-1)..2^(bits-1)`)
/// and each row's `k` (see `shaders/dynquant.comp`).
pub fn dynquant_reference(
    x: &Matrix<i32>,
    bits: u32,
) -> Result<(Matrix<i32>, Vec<u32>), ComputeError> {
    check_dynquant(x, bits)?;
    let qmax = (1i64 << (bits - 1)) - 1;
    let mut out = Vec::with_capacity(x.data().len());
    let mut shifts = Vec::with_capacity(x.rows());
    for r in 0..x.rows() {
        let row = x.row(r);
        let amax = row.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        let k = dynquant_shift(amax, qmax as u32);
        shifts.push(k);
        out.extend(row.iter().map(|&v| {
            let q = if k == 0 {
                i64::from(v)
            } else {
                (i64::from(v) + (1i64 << (k - 1))) >> k
            };
            q.clamp(-qmax - 1, qmax) as i32
        }));
    }
    Ok((Matrix::new(x.rows(), x.cols(), out)?, shifts))
}

/// A split dynamic quantization: the high halves, the low halves, each row's exponent.
pub type SplitQuant = (Matrix<i8>, Matrix<i8>, Vec<u32>);

/// Widest dynamic quantization [`dynquant_split_reference`] accepts: its halves then fit
/// int8 (`hi` in -64..=64, `lo` in -64..=63).
pub const SPLIT_MAX_BITS: u32 = 14;

/// [`dynquant_reference`] followed by the split of each value into int8 halves
/// `q = 128·hi + lo`, `hi = (q + 64) >> 7` (round half up) and `lo = q − 128·hi`: returns
/// `hi`, `lo` and each row's `k`. `bits` must be at most [`SPLIT_MAX_BITS`].
pub fn dynquant_split_reference(x: &Matrix<i32>, bits: u32) -> Result<SplitQuant, ComputeError> {
    check_dynquant_split(x, bits)?;
    let (q, k) = dynquant_reference(x, bits)?;
    let (hi, lo): (Vec<i8>, Vec<i8>) = q
        .data()
        .iter()
        .map(|&v| {
            let hi = (v + 64) >> 7;
            (hi as i8, (v - 128 * hi) as i8)
        })
        .unzip();
    Ok((
        Matrix::new(x.rows(), x.cols(), hi)?,
        Matrix::new(x.rows(), x.cols(), lo)?,
        k,
    ))
}

/// Checks a split dynamic quantization (see [`dynquant_split_reference`]).
pub fn check_dynquant_split(x: &Matrix<i32>, bits: u32) -> Result<(), ComputeError> {
    check_dynquant(x, bits)?;
    if bits > SPLIT_MAX_BITS {
        return Err(bound("split dynamic quantization needs bits <= 14"));
    }
    Ok(())
}

/// Checks that pooling `x` with `mask` and `out_bits` stays exact (see `shaders/pool.comp`).
pub fn check_pool(x: &Matrix<i32>, mask: &[u32], out_bits: u32) -> Result<(), ComputeError> {
    if mask.len() != x.rows() {
        return Err(ComputeError::Shape(format!(
            "{} mask entries for {} rows",
            mask.len(),
            x.rows()
        )));
    }
    if x.cols() == 0 || x.cols() > POOL_MAX_COLS || x.rows() > POOL_MAX_ROWS {
        return Err(ComputeError::Shape(format!(
            "pooling {} x {}: at most {POOL_MAX_ROWS} rows and 1..={POOL_MAX_COLS} columns",
            x.rows(),
            x.cols()
        )));
    }
    if out_bits > 30 {
        return Err(bound("pooling out_bits must be <= 30"));
    }
    let max = x
        .data()
        .iter()
        .map(|v| u64::from(v.unsigned_abs()))
        .max()
        .unwrap_or(0);
    if (x.rows() as u64) * max > i32::MAX as u64 {
        return Err(bound("pooling: rows * max|x| >= 2^31"));
    }
    if (x.cols() as u128) * u128::from(max) * u128::from(max) >= 1u128 << 62 {
        return Err(bound("pooling: cols * max|x|^2 >= 2^62"));
    }
    Ok(())
}

/// Masked mean pooling over rows, then integer L2 normalisation to `out_bits` fraction
/// bits: a `1 x cols` result whose entries are the unit vector's components times
/// `2^out_bits`, rounded toward zero.
pub fn pool_reference(
    x: &Matrix<i32>,
    mask: &[u32],
    out_bits: u32,
) -> Result<Matrix<i32>, ComputeError> {
    check_pool(x, mask, out_bits)?;
    let count = (mask.iter().filter(|&&m| m != 0).count() as u32).max(1);
    let means: Vec<i32> = (0..x.cols())
        .map(|c| {
            let sum: i32 = (0..x.rows())
                .filter(|&r| mask[r] != 0)
                .map(|r| x.row(r)[c])
                .sum();
            let a = (sum.unsigned_abs() / count) as i32;
            if sum < 0 {
                -a
            } else {
                a
            }
        })
        .collect();
    let sq: u64 = means
        .iter()
        .map(|m| u64::from(m.unsigned_abs()).pow(2))
        .sum();
    let norm = sq.isqrt().max(1);
    let out = means
        .iter()
        .map(|&m| {
            let q = ((u64::from(m.unsigned_abs()) << out_bits) / norm) as i32;
            if m < 0 {
                -q
            } else {
                q
            }
        })
        .collect();
    Matrix::new(1, x.cols(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_quantization_picks_the_smallest_power_of_two_that_fits_the_width() {
        assert_eq!(dynquant_shift(0, 127), 0);
        assert_eq!(dynquant_shift(127, 127), 0);
        assert_eq!(dynquant_shift(128, 127), 1);
        assert_eq!(dynquant_shift(254, 127), 1);
        assert_eq!(dynquant_shift(255, 127), 2);
        assert_eq!(dynquant_shift(1 << 31, 127), 25);
        assert_eq!(dynquant_shift(8191, 8191), 0);
        assert_eq!(dynquant_shift(8192, 8191), 1);
        let x = Matrix::new(1, 4, vec![1000, -1000, 3, i32::MIN / 1024]).unwrap();
        let (q, k) = dynquant_reference(&x, 8).unwrap();
        assert_eq!(k, vec![15]);
        assert_eq!(q.data(), &[0, 0, 0, -64]);
    }

    #[test]
    fn affine_requantization_rounds_adds_the_bias_and_clamps() {
        let p = Affine {
            mult: vec![1 << 30, -(1 << 30)],
            shift: vec![31, 31],
            bias: vec![10, 0],
            lo: -5,
            hi: 100,
        };
        let x = Matrix::new(2, 2, vec![3, 3, 1000, -7]).unwrap();
        // Row 1 has a row shift of 1: factor 1 instead of 1/2.
        let y = affine_reference(&x, &p, &[0, 1]).unwrap();
        assert_eq!(y.data(), &[12, -1, 100, 7]);
        assert!(affine_reference(&x, &p, &[0, 31]).is_err());
    }

    #[test]
    fn pooling_averages_masked_rows_and_normalises_to_unit_length() {
        let x = Matrix::new(3, 2, vec![3, 4, 3, 4, 1000, 1000]).unwrap();
        let y = pool_reference(&x, &[1, 1, 0], 10).unwrap();
        assert_eq!(y.data(), &[614, 819]); // (0.6, 0.8) * 1024, truncated
    }
}
