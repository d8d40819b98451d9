//! Dense row-major matrices and the deterministic inputs used by tests and benches.

use crate::ComputeError;

/// A dense row-major matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T> Matrix<T> {
    /// Wraps `data` (row-major, `rows * cols` elements) as a matrix.
    pub fn new(rows: usize, cols: usize, data: Vec<T>) -> Result<Self, ComputeError> {
        let len = rows
            .checked_mul(cols)
            .ok_or_else(|| ComputeError::Shape(format!("{rows} x {cols} overflows usize")))?;
        if data.len() != len {
            return Err(ComputeError::Shape(format!(
                "{rows} x {cols} matrix needs {len} elements, got {}",
                data.len()
            )));
        }
        Ok(Self { rows, cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// Row `r` as a slice.
    ///
    /// # Panics
    /// If `r >= rows`.
    pub fn row(&self, r: usize) -> &[T] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Consumes the matrix, returning its row-major elements.
    pub fn into_data(self) -> Vec<T> {
        self.data
    }
}

impl<T: Clone> Matrix<T> {
    /// A `rows x cols` matrix with every element equal to `value`.
    pub fn filled(rows: usize, cols: usize, value: T) -> Result<Self, ComputeError> {
        let len = rows
            .checked_mul(cols)
            .ok_or_else(|| ComputeError::Shape(format!("{rows} x {cols} overflows usize")))?;
        Self::new(rows, cols, vec![value; len])
    }
}

/// SplitMix64: a tiny, fully specified generator, so that "random" inputs are the same on
/// every machine and every version of this crate (unlike `rand`'s `StdRng`).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A `rows x cols` matrix of int8 drawn uniformly from the full range -128..=127.
pub fn random_i8_matrix(rows: usize, cols: usize, seed: u64) -> Matrix<i8> {
    let mut rng = SplitMix64::new(seed);
    let len = rows * cols;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        let bits = rng.next_u64().to_le_bytes();
        let take = (len - data.len()).min(8);
        data.extend(bits[..take].iter().map(|&b| i8::from_le_bytes([b])));
    }
    Matrix { rows, cols, data }
}
