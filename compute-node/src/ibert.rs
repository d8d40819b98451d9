//! Integer-only transformer building blocks in the I-BERT style (Kim et al., 2021):
//! requantization with (multiplier, shift) pairs, integer GELU, integer softmax with a
//! shift-based exponential, and integer LayerNorm with an integer square root.
//!
//! Each function here is the *definition* of its kernel (the shaders in `shaders/` are
//! checked byte-for-byte against it), plus the host-side bound checks that prove every
//! intermediate fits its integer type, so results are identical on every driver. The
//! `*::for_scale` constructors derive the integer constants from a real-valued scale with
//! `f64` once, when a model is prepared; the kernels themselves never see a float.

use crate::{ComputeError, Matrix};

/// Rows one workgroup-per-row kernel (softmax, LayerNorm) may have at most per row, so that
/// each invocation's loops stay far below lavapipe's loop-iteration cap.
pub const MAX_ROW_LEN: usize = 64 * 8192;

fn bound(what: &str) -> ComputeError {
    ComputeError::Shape(format!("integer bound violated: {what}"))
}

// ---------------------------------------------------------------------------------------
// Requantization

/// One output column's requantization: `y = clamp((x * multiplier + 2^(shift-1)) >> shift)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant {
    /// Fixed-point multiplier, `0 <= multiplier < 2^31`.
    pub multiplier: i32,
    /// Right shift, `1 <= shift <= 62`.
    pub shift: u32,
}

impl Requant {
    /// The pair closest to the real factor `scale` (`0 < scale < 1`): `multiplier` in
    /// `[2^30, 2^31)` and the matching shift, as gemmlowp and TFLite do.
    pub fn for_scale(scale: f64) -> Result<Self, ComputeError> {
        if !(scale > 0.0 && scale < 1.0) {
            return Err(bound("requantization scale must lie in (0, 1)"));
        }
        let mut shift = 31u32;
        let mut s = scale;
        while s < 0.5 {
            s *= 2.0;
            shift += 1;
        }
        let mut multiplier = (s * f64::from(1u32 << 31)).round() as i64;
        if multiplier == 1i64 << 31 {
            multiplier /= 2;
            shift -= 1;
        }
        let r = Self {
            multiplier: i32::try_from(multiplier).map_err(|_| bound("multiplier"))?,
            shift,
        };
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<(), ComputeError> {
        if self.multiplier < 0 || !(1..=62).contains(&self.shift) {
            return Err(bound(
                "requantization needs multiplier >= 0 and 1 <= shift <= 62",
            ));
        }
        Ok(())
    }

    /// Requantizes one value (the definition the shader follows).
    pub fn apply(&self, x: i32) -> i8 {
        let p = i64::from(x) * i64::from(self.multiplier);
        let r = (p + (1i64 << (self.shift - 1))) >> self.shift;
        r.clamp(-128, 127) as i8
    }
}

/// Checks the per-column parameters of a requantization of `x`.
pub fn check_requant(x: &Matrix<i32>, params: &[Requant]) -> Result<(), ComputeError> {
    if params.len() != x.cols() {
        return Err(ComputeError::Shape(format!(
            "{} requantization pairs for {} columns",
            params.len(),
            x.cols()
        )));
    }
    params.iter().try_for_each(Requant::check)
}

/// Requantizes `x` to int8 with one (multiplier, shift) pair per column.
pub fn requantize_reference(
    x: &Matrix<i32>,
    params: &[Requant],
) -> Result<Matrix<i8>, ComputeError> {
    check_requant(x, params)?;
    let mut out = Vec::with_capacity(x.data().len());
    for r in 0..x.rows() {
        out.extend(x.row(r).iter().zip(params).map(|(&v, p)| p.apply(v)));
    }
    Matrix::new(x.rows(), x.cols(), out)
}

// ---------------------------------------------------------------------------------------
// GELU

/// Integer constants of I-BERT's GELU for one input scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeluParams {
    /// `floor(b / S_erf)`, b = -1.769 (non-positive).
    pub q_b: i32,
    /// `floor(1 / (a S_erf^2))`, a = -0.2888.
    pub q_c: i32,
    /// `floor(1 / S_L)`, the integer one of the erf output scale `S_L = a S_erf^2`.
    pub q_1: i32,
}

impl GeluParams {
    /// Constants for input scale `scale` (`S_erf = scale / sqrt 2`), and the output scale
    /// `scale * S_L / 2`.
    pub fn for_scale(scale: f64) -> Result<(Self, f64), ComputeError> {
        const A: f64 = -0.2888;
        const B: f64 = -1.769;
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(bound("GELU scale must be positive"));
        }
        let s_erf = scale / std::f64::consts::SQRT_2;
        let s_l = A * s_erf * s_erf;
        let to_i32 = |v: f64| {
            let f = v.floor();
            if f.abs() < 2_147_483_647.0 {
                Ok(f as i32)
            } else {
                Err(bound("GELU constant out of int32 range"))
            }
        };
        let p = Self {
            q_b: to_i32(B / s_erf)?,
            q_c: to_i32(1.0 / s_l)?,
            q_1: to_i32(1.0 / s_l)?,
        };
        p.magnitude()?;
        Ok((p, scale * s_l / 2.0))
    }

    /// `E = q_b^2 + |q_c| + |q_1|`, the largest `|L + q_1|`; errors unless `E < 2^31`.
    fn magnitude(&self) -> Result<i64, ComputeError> {
        if self.q_b > 0 || self.q_b == i32::MIN {
            return Err(bound("GELU needs i32::MIN < q_b <= 0"));
        }
        let e = i64::from(self.q_b).pow(2) + i64::from(self.q_c).abs() + i64::from(self.q_1).abs();
        if e > i64::from(i32::MAX) {
            return Err(bound("GELU constants: q_b^2 + |q_c| + |q_1| >= 2^31"));
        }
        Ok(e)
    }
}

/// Checks that GELU on `x` cannot overflow: `max|q| * E < 2^31`.
pub fn check_gelu(x: &Matrix<i32>, p: &GeluParams) -> Result<(), ComputeError> {
    let amax = x.data().iter().map(|v| v.unsigned_abs()).max();
    check_gelu_amax(amax.unwrap_or(0), p)
}

/// [`check_gelu`] of an input whose largest magnitude is `amax`.
pub fn check_gelu_amax(amax: u32, p: &GeluParams) -> Result<(), ComputeError> {
    let e = p.magnitude()?;
    if i64::from(amax) * e.max(1) > i64::from(i32::MAX) {
        return Err(bound(
            "GELU input too large for its constants: max|q| * E >= 2^31",
        ));
    }
    Ok(())
}

/// I-BERT integer GELU, element-wise (the definition the shader follows).
pub fn gelu_reference(x: &Matrix<i32>, p: &GeluParams) -> Result<Matrix<i32>, ComputeError> {
    check_gelu(x, p)?;
    let out = x
        .data()
        .iter()
        .map(|&q| {
            let qa = q.abs().min(-p.q_b);
            let t = qa + p.q_b;
            let l = q.signum() * (t * t + p.q_c);
            q * (l + p.q_1)
        })
        .collect();
    Matrix::new(x.rows(), x.cols(), out)
}

// ---------------------------------------------------------------------------------------
// Softmax

/// Integer constants of I-BERT's shift-based softmax for one input scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    /// `floor(ln 2 / S)`, positive.
    pub q_ln2: i32,
    /// `floor(b / S)`, b = 1.353.
    pub q_b: i32,
    /// `floor(c / (a S^2))`, a = 0.3585, c = 0.344; non-negative.
    pub q_c: i32,
    /// Output fraction bits F: outputs are probabilities scaled by `2^F`, `1 <= F <= 31`.
    pub out_bits: u32,
}

impl SoftmaxParams {
    /// Constants for input scale `scale`.
    pub fn for_scale(scale: f64, out_bits: u32) -> Result<Self, ComputeError> {
        const A: f64 = 0.3585;
        const B: f64 = 1.353;
        const C: f64 = 0.344;
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(bound("softmax scale must be positive"));
        }
        let to_i32 = |v: f64| {
            let f = v.floor();
            if f.abs() < 2_147_483_647.0 {
                Ok(f as i32)
            } else {
                Err(bound("softmax constant out of int32 range"))
            }
        };
        let p = Self {
            q_ln2: to_i32(std::f64::consts::LN_2 / scale)?,
            q_b: to_i32(B / scale)?,
            q_c: to_i32(C / (A * scale * scale))?,
            out_bits,
        };
        p.exp_max()?;
        Ok(p)
    }

    /// The largest value of the exponential polynomial, after checking the constants.
    fn exp_max(&self) -> Result<i64, ComputeError> {
        if self.q_ln2 <= 0 || self.q_c < 0 || !(1..=31).contains(&self.out_bits) {
            return Err(bound(
                "softmax needs q_ln2 > 0, q_c >= 0, 1 <= out_bits <= 31",
            ));
        }
        let t = i64::from(self.q_ln2) + i64::from(self.q_b).abs();
        let l = t * t + i64::from(self.q_c);
        if l > i64::from(i32::MAX) {
            return Err(bound("softmax constants: (q_ln2 + |q_b|)^2 + q_c >= 2^31"));
        }
        if i64::from(self.q_b).pow(2) + i64::from(self.q_c) < 1 {
            return Err(bound("softmax constants: q_b^2 + q_c must be >= 1"));
        }
        Ok(l)
    }

    /// `exp` of `-d` (`d >= 0`) in the polynomial's scale (the definition the shader follows).
    fn iexp(&self, d: i32) -> u32 {
        let z = (d as u32) / (self.q_ln2 as u32);
        let r = z as i32 * self.q_ln2 - d;
        let t = r + self.q_b;
        let l = (t * t + self.q_c) as u32;
        if z >= 31 {
            0
        } else {
            l >> z
        }
    }
}

fn row_ranges(x: &Matrix<i32>) -> impl Iterator<Item = (i64, i64)> + '_ {
    (0..x.rows()).map(|r| {
        let row = x.row(r);
        let lo = row.iter().copied().min().map_or(0, i64::from);
        let hi = row.iter().copied().max().map_or(0, i64::from);
        (lo, hi)
    })
}

fn check_row_shape(x: &Matrix<i32>) -> Result<(), ComputeError> {
    if x.cols() == 0 || x.cols() > MAX_ROW_LEN {
        return Err(ComputeError::Shape(format!(
            "row length {} outside 1..={MAX_ROW_LEN}",
            x.cols()
        )));
    }
    Ok(())
}

/// Checks that softmax on `x` stays exact (see `shaders/softmax.comp`).
pub fn check_softmax(x: &Matrix<i32>, p: &SoftmaxParams) -> Result<(), ComputeError> {
    check_row_shape(x)?;
    let l = p.exp_max()?;
    if (x.cols() as i64) * l > i64::from(u32::MAX) {
        return Err(bound("softmax: cols * max exp >= 2^32"));
    }
    for (lo, hi) in row_ranges(x) {
        if hi - lo > i64::from(i32::MAX) {
            return Err(bound("softmax: a row spans 2^31 or more"));
        }
    }
    Ok(())
}

/// I-BERT integer softmax over each row; outputs are probabilities times `2^out_bits`.
pub fn softmax_reference(x: &Matrix<i32>, p: &SoftmaxParams) -> Result<Matrix<u32>, ComputeError> {
    check_softmax(x, p)?;
    let mut out = Vec::with_capacity(x.data().len());
    for r in 0..x.rows() {
        let row = x.row(r);
        let m = row.iter().copied().max().unwrap_or(0);
        let sum: u32 = row.iter().map(|&q| p.iexp(m - q)).sum();
        let factor = u32::MAX / sum;
        out.extend(
            row.iter()
                .map(|&q| (p.iexp(m - q) * factor) >> (32 - p.out_bits)),
        );
    }
    Matrix::new(x.rows(), x.cols(), out)
}

// ---------------------------------------------------------------------------------------
// LayerNorm

/// Checks that LayerNorm on `x` with `out_bits` fraction bits stays exact.
pub fn check_layernorm(x: &Matrix<i32>, out_bits: u32) -> Result<(), ComputeError> {
    check_row_shape(x)?;
    if out_bits > 30 {
        return Err(bound("LayerNorm out_bits must be <= 30"));
    }
    let n = x.cols() as i64;
    for (lo, hi) in row_ranges(x) {
        let span = hi - lo;
        if span > i64::from(i32::MAX) {
            return Err(bound("LayerNorm: a row spans 2^31 or more"));
        }
        if (n as i128) * (span as i128) * (span as i128) > i128::from(u64::MAX) {
            return Err(bound("LayerNorm: cols * (max - min)^2 >= 2^64"));
        }
        if span << out_bits > i64::from(i32::MAX) {
            return Err(bound("LayerNorm: (max - min) << out_bits >= 2^31"));
        }
    }
    Ok(())
}

/// A LayerNorm row's integer mean (truncated) and standard deviation (the floor of the root
/// of the truncated mean square deviation, at least 1). The row is non-empty and within
/// [`check_layernorm`]'s bounds.
pub(crate) fn layernorm_row_stats(row: &[i32]) -> (i32, u32) {
    let n = row.len() as u64;
    let total: i64 = row.iter().map(|&v| i64::from(v)).sum();
    // Truncating division; |mean| <= max|x|, so it fits.
    let mean = (total / n as i64) as i32;
    let sq: u64 = row
        .iter()
        .map(|&v| {
            let d = u64::from((v - mean).unsigned_abs());
            d * d
        })
        .sum();
    // The root of a u64 is below 2^32.
    let std_dev = u32::try_from((sq / n).isqrt()).unwrap_or(u32::MAX).max(1);
    (mean, std_dev)
}

/// Integer LayerNorm of each row: `(x - mean) * 2^out_bits / isqrt(var)`, every division
/// on magnitudes (rounding toward zero), the sum of squares exact in 64 bits. Gamma and
/// beta fold into the next requantization.
pub fn layernorm_reference(x: &Matrix<i32>, out_bits: u32) -> Result<Matrix<i32>, ComputeError> {
    check_layernorm(x, out_bits)?;
    let mut out = Vec::with_capacity(x.data().len());
    for r in 0..x.rows() {
        let row = x.row(r);
        let (mean, std_dev) = layernorm_row_stats(row);
        out.extend(row.iter().map(|&v| {
            let d = v - mean;
            d.signum() * ((d.unsigned_abs() << out_bits) / std_dev) as i32
        }));
    }
    Matrix::new(x.rows(), x.cols(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantization_rounds_half_up_and_saturates() {
        let half = Requant {
            multiplier: 1 << 30,
            shift: 31,
        };
        assert_eq!(half.apply(3), 2); // 1.5 -> 2
        assert_eq!(half.apply(-3), -1); // -1.5 -> -1
        assert_eq!(half.apply(1000), 127);
        assert_eq!(half.apply(-1000), -128);
        assert_eq!(half.apply(i32::MIN), -128);
        let r = Requant::for_scale(0.25).unwrap();
        assert_eq!(r.apply(400), 100);
    }

    #[test]
    fn integer_gelu_tracks_the_real_gelu() {
        let scale = 0.01;
        let (p, out_scale) = GeluParams::for_scale(scale).unwrap();
        let qs: Vec<i32> = (-300..=300).step_by(7).collect();
        let x = Matrix::new(1, qs.len(), qs.clone()).unwrap();
        let y = gelu_reference(&x, &p).unwrap();
        for (&q, &o) in qs.iter().zip(y.data()) {
            let v = f64::from(q) * scale;
            let gelu = 0.5 * v * (1.0 + erf(v / std::f64::consts::SQRT_2));
            assert!((f64::from(o) * out_scale - gelu).abs() < 0.02, "{v}: {o}");
        }
    }

    #[test]
    fn integer_softmax_sums_to_about_one_and_tracks_the_real_softmax() {
        let scale = 0.01;
        let p = SoftmaxParams::for_scale(scale, 16).unwrap();
        let qs: Vec<i32> = vec![0, 50, -100, 200, 25, -500, 165, 60];
        let x = Matrix::new(1, qs.len(), qs.clone()).unwrap();
        let y = softmax_reference(&x, &p).unwrap();
        let exps: Vec<f64> = qs.iter().map(|&q| (f64::from(q) * scale).exp()).collect();
        let total: f64 = exps.iter().sum();
        for (e, &o) in exps.iter().zip(y.data()) {
            let err = (f64::from(o) / 65536.0 - e / total).abs();
            assert!(err < 0.01, "{o} vs {}: {err}", e / total);
        }
        let s: u32 = y.data().iter().sum();
        assert!((65536 - 100..=65536).contains(&s), "{s}");
    }

    #[test]
    fn integer_layernorm_gives_zero_mean_unit_variance() {
        let qs: Vec<i32> = (0..64).map(|i| (i * 37 % 101) - 50).collect();
        let x = Matrix::new(1, 64, qs).unwrap();
        let y = layernorm_reference(&x, 8).unwrap();
        let mean: f64 = y.data().iter().map(|&v| f64::from(v)).sum::<f64>() / 64.0 / 256.0;
        let var: f64 = y
            .data()
            .iter()
            .map(|&v| (f64::from(v) / 256.0).powi(2))
            .sum::<f64>()
            / 64.0;
        assert!(mean.abs() < 0.05, "{mean}");
        assert!((var - 1.0).abs() < 0.1, "{var}");
    }

    #[test]
    fn out_of_bound_inputs_are_rejected() {
        let (g, _) = GeluParams::for_scale(0.01).unwrap();
        let big = Matrix::new(1, 1, vec![1 << 20]).unwrap();
        assert!(gelu_reference(&big, &g).is_err());
        let span = Matrix::new(1, 2, vec![i32::MIN, i32::MAX]).unwrap();
        let p = SoftmaxParams::for_scale(0.05, 16).unwrap();
        assert!(softmax_reference(&span, &p).is_err());
        assert!(layernorm_reference(&span, 8).is_err());
        let bad = Requant {
            multiplier: -1,
            shift: 3,
        };
        let x = Matrix::new(1, 1, vec![1]).unwrap();
        assert!(requantize_reference(&x, &[bad]).is_err());
    }

    /// erf by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7), for the accuracy checks only.
    fn erf(x: f64) -> f64 {
        let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
        let y = 1.0
            - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736)
                * t
                + 0.254_829_592)
                * t
                * (-x * x).exp();
        y.copysign(x)
    }
}
