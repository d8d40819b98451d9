//! gemm-i8: `C[m x n] (i32) = A[m x k] (i8) x B[k x n] (i8)`, exact integer arithmetic.
//!
//! # Layout
//! * `A` is `m x k`, row-major.
//! * `B` is passed **transposed**, as `Bt` (`n x k`, row-major: row `j` of `Bt` is column `j`
//!   of `B`). Both operands are then read along contiguous rows, by the shader and by the
//!   reference alike, and a weight matrix `W` of a linear layer `y = x Wᵀ` is used as stored.
//! * `C` is `m x n`, row-major, int32.
//!
//! # Overflow bound
//! Every product `a * b` of two int8 lies in `[-128 * 127, (-128) * (-128)] = [-16256, 16384]`,
//! so every partial sum of `j <= k` products lies in `[-16256 j, 16384 j]`. With
//! `k <= K_MAX = floor((2^31 - 1) / 16384) = 131071` no partial sum, in any summation order,
//! leaves int32; `k = 131072` with all operands `-128` gives exactly `2^31`, which does.
//! Hence the result is the same on every driver and [`check_shapes`] rejects `k > K_MAX`.
//!
//! # Size bound
//! The operands are already in memory, but the result is sized from their shapes, and a
//! shape costs nothing to claim: `m = n = 2^20` with `k = 0` holds no elements yet names a
//! 4 TiB result. [`check_shapes`] therefore also requires `k >= 1` and at most
//! [`MAX_OUTPUT_ELEMENTS`] results, the bound the chain puts on `gemm-i8` jobs
//! ([`deai_compute_module::input`]), before the reference or the executor sizes anything.

use deai_compute_module::input::{GEMM_I8_MAX_K, GEMM_I8_MAX_OUTPUT_ELEMENTS};

use crate::{ComputeError, Matrix};

/// Largest inner dimension whose int32 accumulation cannot overflow (see the module docs).
pub const K_MAX: usize = (i32::MAX as usize) / (128 * 128);

/// Most int32 elements one product (or one batch of products) may produce: 2^24, 64 MiB.
pub const MAX_OUTPUT_ELEMENTS: usize = GEMM_I8_MAX_OUTPUT_ELEMENTS as usize;

// The kernels and the chain's job format must agree on both bounds.
const _: () = assert!(K_MAX == GEMM_I8_MAX_K as usize);
const _: () = assert!(MAX_OUTPUT_ELEMENTS as u64 == GEMM_I8_MAX_OUTPUT_ELEMENTS);

/// Refuses a result of `rows x cols` int32 beyond [`MAX_OUTPUT_ELEMENTS`], before it is sized.
pub fn check_output(rows: usize, cols: usize) -> Result<(), ComputeError> {
    match rows.checked_mul(cols) {
        Some(elements) if elements <= MAX_OUTPUT_ELEMENTS => Ok(()),
        _ => Err(ComputeError::OutputTooLarge {
            rows,
            cols,
            max: MAX_OUTPUT_ELEMENTS,
        }),
    }
}

/// Validates the operands of `A x Bt^T` and returns `(m, n, k)`: equal inner dimensions,
/// `1 <= k <= K_MAX`, and at most [`MAX_OUTPUT_ELEMENTS`] results.
pub fn check_shapes(
    a: &Matrix<i8>,
    bt: &Matrix<i8>,
) -> Result<(usize, usize, usize), ComputeError> {
    let k = check_inner(a, bt)?;
    check_output(a.rows(), bt.rows())?;
    Ok((a.rows(), bt.rows(), k))
}

/// The inner dimension `k` of `A x Bt^T`, if the operands agree on it and `1 <= k <= K_MAX`.
fn check_inner(a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<usize, ComputeError> {
    if a.cols() != bt.cols() {
        return Err(ComputeError::Shape(format!(
            "A is {} x {} but Bt is {} x {}: inner dimensions differ",
            a.rows(),
            a.cols(),
            bt.rows(),
            bt.cols()
        )));
    }
    let k = a.cols();
    if k > K_MAX {
        return Err(ComputeError::KTooLarge { k, max: K_MAX });
    }
    if k == 0 {
        // An empty inner dimension is no product to run, and would let a caller claim any
        // m x n without holding a single operand byte.
        return Err(ComputeError::Shape(format!(
            "A is {} x 0 and Bt is {} x 0: k must be at least 1",
            a.rows(),
            bt.rows()
        )));
    }
    Ok(k)
}

/// int8 per packed row group: rows are stored in 16-byte groups (one `uvec4` in the shader).
pub const ROW_GROUP: usize = 16;

/// Number of 32-bit words holding a packed row of `k` int8: `k` rounded up to a whole
/// [`ROW_GROUP`], 4 int8 per word.
pub fn words_per_row(k: usize) -> usize {
    k.div_ceil(ROW_GROUP) * (ROW_GROUP / 4)
}

/// Packs the rows of `m` into `out` as little-endian 32-bit words, 4 int8 per word, lowest
/// byte first; each row is zero-padded to [`words_per_row`] words. Zero padding adds
/// nothing to a dot product, so the shaders never need to know the true `k`.
///
/// `out.len()` must be `m.rows() * words_per_row(m.cols())`.
pub fn pack_rows(m: &Matrix<i8>, out: &mut [u32]) {
    let kw = words_per_row(m.cols());
    debug_assert_eq!(out.len(), m.rows() * kw);
    if m.cols() == 0 {
        return;
    }
    for (row, dst) in m
        .data()
        .chunks_exact(m.cols())
        .zip(out.chunks_exact_mut(kw))
    {
        let mut quads = row.chunks_exact(4);
        let mut d = dst.iter_mut();
        for (q, w) in (&mut quads).zip(&mut d) {
            *w = u32::from_le_bytes([q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8]);
        }
        let rest = quads.remainder();
        if !rest.is_empty() {
            if let Some(w) = d.next() {
                let mut bytes = [0u8; 4];
                for (b, &x) in bytes.iter_mut().zip(rest) {
                    *b = x as u8;
                }
                *w = u32::from_le_bytes(bytes);
            }
        }
        for w in d {
            *w = 0;
        }
    }
}

/// Rows of `Bt` processed together by the reference, sized so a block of `Bt` rows stays in
/// cache while every row of `A` streams past it.
fn reference_block_rows(k: usize) -> usize {
    const BLOCK_BYTES: usize = 192 * 1024;
    (BLOCK_BYTES / k.max(1)).clamp(1, 64)
}

/// Plain single-threaded Rust reference for gemm-i8: `C = A x Bt^T`.
///
/// Each output is an i32 dot product over two contiguous rows; the loop nest is blocked over
/// rows of `Bt` for cache reuse. This is the definition the shaders are checked against.
pub fn gemm_i8_reference(a: &Matrix<i8>, bt: &Matrix<i8>) -> Result<Matrix<i32>, ComputeError> {
    // Checked before `c` is sized: `m * n` is bounded from here on.
    let (m, n, k) = check_shapes(a, bt)?;
    let mut c = vec![0i32; m * n];
    if m == 0 || n == 0 {
        return Matrix::new(m, n, c);
    }
    let block = reference_block_rows(k);
    let mut j0 = 0;
    while j0 < n {
        let j1 = (j0 + block).min(n);
        for (i, c_row) in c.chunks_exact_mut(n).enumerate() {
            let a_row = a.row(i);
            for (j, out) in (j0..j1).zip(&mut c_row[j0..j1]) {
                // Exact: `k <= K_MAX` keeps every partial sum in i32.
                *out = deai_cpu_gemm::dot(a_row, bt.row(j));
            }
        }
        j0 = j1;
    }
    Matrix::new(m, n, c)
}

/// `batch` independent products stacked by rows: `a` holds `batch` blocks of `m` rows,
/// `bt` `batch` blocks of `n` rows, and the result `batch` blocks of `m` rows, block `z`
/// being `A_z × Bt_zᵀ`.
pub fn gemm_i8_batched_reference(
    a: &Matrix<i8>,
    bt: &Matrix<i8>,
    batch: usize,
) -> Result<Matrix<i32>, ComputeError> {
    let (m, n, k) = check_batched_shapes(a, bt, batch)?;
    let mut out = Vec::with_capacity(batch * m * n);
    for z in 0..batch {
        let az = Matrix::new(m, k, a.data()[z * m * k..(z + 1) * m * k].to_vec())?;
        let bz = Matrix::new(n, k, bt.data()[z * n * k..(z + 1) * n * k].to_vec())?;
        out.extend(gemm_i8_reference(&az, &bz)?.into_data());
    }
    Matrix::new(batch * m, n, out)
}

/// Validates a batched product and returns one product's `(m, n, k)`; the whole stacked
/// result is held to [`MAX_OUTPUT_ELEMENTS`].
pub fn check_batched_shapes(
    a: &Matrix<i8>,
    bt: &Matrix<i8>,
    batch: usize,
) -> Result<(usize, usize, usize), ComputeError> {
    let k = check_inner(a, bt)?;
    if batch == 0 || !a.rows().is_multiple_of(batch) || !bt.rows().is_multiple_of(batch) {
        return Err(ComputeError::Shape(format!(
            "{} and {} rows do not split into {batch} batches",
            a.rows(),
            bt.rows()
        )));
    }
    let (m, n) = (a.rows() / batch, bt.rows() / batch);
    // The stacked result is `batch * m` rows of `n`; `batch * m` is `a.rows()`.
    check_output(a.rows(), n)?;
    Ok((m, n, k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random_i8_matrix;

    fn naive(a: &Matrix<i8>, bt: &Matrix<i8>) -> Vec<i64> {
        let mut c = Vec::new();
        for i in 0..a.rows() {
            for j in 0..bt.rows() {
                c.push(
                    a.row(i)
                        .iter()
                        .zip(bt.row(j))
                        .map(|(&x, &y)| i64::from(x) * i64::from(y))
                        .sum(),
                );
            }
        }
        c
    }

    #[test]
    fn a_pinned_problem_keeps_its_result_hash() {
        // `deai-compute gemm 17x33x65 --seed 3`: pins the input generator, the reference
        // and the canonical encoding; nodes of every version must agree on this.
        let a = random_i8_matrix(17, 65, 3);
        let bt = random_i8_matrix(33, 65, 4);
        let c = gemm_i8_reference(&a, &bt).unwrap();
        assert_eq!(
            crate::hash::hash_hex(&crate::result_hash(&c)),
            "69c1d7f6b012078f07f65bf678685ab0253296b2396943a5a6aef18a09660556"
        );
    }

    #[test]
    fn k_max_is_the_largest_k_that_cannot_overflow() {
        assert_eq!(K_MAX, 131_071);
        assert!((K_MAX as i64) * 16384 <= i64::from(i32::MAX));
        assert!((K_MAX as i64 + 1) * 16384 > i64::from(i32::MAX));
    }

    #[test]
    fn the_reference_matches_a_wide_naive_product() {
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (17, 33, 65), (8, 300, 9)] {
            let a = random_i8_matrix(m, k, 1);
            let bt = random_i8_matrix(n, k, 2);
            let c = gemm_i8_reference(&a, &bt).unwrap();
            let wide: Vec<i64> = c.data().iter().map(|&x| i64::from(x)).collect();
            assert_eq!(wide, naive(&a, &bt), "{m}x{n}x{k}");
        }
    }

    #[test]
    fn packing_puts_the_first_element_in_the_lowest_byte_and_pads_with_zero() {
        let m = Matrix::new(2, 5, vec![1, -1, 2, -128, 127, 3, 4, 5, 6, 7]).unwrap();
        // Rows are padded to 16 int8 (4 words); stale buffer contents must be overwritten.
        let mut out = vec![0xFFFF_FFFFu32; 8];
        pack_rows(&m, &mut out);
        assert_eq!(
            out,
            vec![
                0x80_02_FF_01,
                0x0000_007F,
                0,
                0,
                0x06_05_04_03,
                0x0000_0007,
                0,
                0
            ]
        );
    }

    #[test]
    fn k_above_the_bound_is_rejected() {
        let a = Matrix::filled(1, K_MAX + 1, 0i8).unwrap();
        let err = gemm_i8_reference(&a, &a).unwrap_err();
        assert!(
            matches!(err, ComputeError::KTooLarge { k, max } if k == K_MAX + 1 && max == K_MAX)
        );
    }

    #[test]
    fn a_huge_result_is_refused_before_it_is_sized() {
        // Issue 10 item 3: k = 0 operands hold nothing yet named a (2^32 - 1)^2 result.
        let a = Matrix::<i8>::new(u32::MAX as usize, 0, Vec::new()).unwrap();
        assert!(matches!(
            gemm_i8_reference(&a, &a),
            Err(ComputeError::Shape(_))
        ));
        // k = 1 and one row past 2^24 results: 8 KiB of operands, 64 MiB of result.
        let a = Matrix::filled(1 << 12, 1, 1i8).unwrap();
        let bt = Matrix::filled((1 << 12) + 1, 1, 1i8).unwrap();
        assert!(matches!(
            gemm_i8_reference(&a, &bt),
            Err(ComputeError::OutputTooLarge { .. })
        ));
        let batched = gemm_i8_batched_reference(&bt, &bt, 1).unwrap_err();
        assert!(
            matches!(batched, ComputeError::OutputTooLarge { .. }),
            "{batched}"
        );
        // At the bound it still runs.
        let bt = Matrix::filled(1 << 12, 1, 1i8).unwrap();
        assert_eq!(
            gemm_i8_reference(&a, &bt).unwrap().data().len(),
            MAX_OUTPUT_ELEMENTS
        );
    }

    #[test]
    fn the_extreme_case_at_k_max_fits_in_i32() {
        let a = Matrix::filled(1, K_MAX, -128i8).unwrap();
        let c = gemm_i8_reference(&a, &a).unwrap();
        assert_eq!(c.data(), &[i32::MAX - 16383]);
    }
}
