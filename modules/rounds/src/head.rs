//! The trainable head and the integer rules applied to it: prediction
//! (argmax of integer scores), evaluation, and the learning rule.
//!
//! A head is `classes x hidden` i32 weights, row-major (row = class). An
//! embedding is `hidden` i8 values. A class's score is the i64 dot product
//! of its row with the embedding; the prediction is the class with the
//! highest score, the lowest index on a tie.

use crate::params::HIDDEN;

/// The predicted class of embedding `x` under `head`.
pub fn predict(head: &[i32], x: &[i8]) -> usize {
    let hidden = usize::try_from(HIDDEN).unwrap_or(usize::MAX);
    let mut best = (0usize, i64::MIN);
    for (class, row) in head.chunks_exact(hidden).enumerate() {
        let score = row.iter().zip(x).fold(0i64, |acc, (&w, &v)| {
            acc.saturating_add(i64::from(w).saturating_mul(i64::from(v)))
        });
        if score > best.1 {
            best = (class, score);
        }
    }
    best.0
}

/// How many of the examples (`hidden` i8 bytes each, `labels` one byte each) `head` gets right.
pub fn correct(head: &[i32], embeddings: &[u8], labels: &[u8]) -> u32 {
    let hidden = usize::try_from(HIDDEN).unwrap_or(usize::MAX);
    let hits = embeddings
        .chunks_exact(hidden)
        .zip(labels)
        .filter(|(row, &label)| {
            let x: Vec<i8> = row.iter().map(|&b| b as i8).collect();
            predict(head, &x) == usize::from(label)
        })
        .count();
    u32::try_from(hits).unwrap_or(u32::MAX)
}

/// `round(x num / den)`, the nearest integer, ties away from zero (symmetric
/// in sign, so the rule has no drift toward either sign).
pub fn scale(x: i64, num: u32, den: u32) -> i64 {
    let p = i128::from(x).saturating_mul(i128::from(num));
    let d = i128::from(den.max(1));
    let q = p
        .unsigned_abs()
        .saturating_mul(2)
        .saturating_add(d.unsigned_abs())
        .checked_div(d.unsigned_abs().saturating_mul(2))
        .unwrap_or(0);
    let q = i128::try_from(q).unwrap_or(i128::MAX);
    let q = if p < 0 { q.saturating_neg() } else { q };
    i64::try_from(q).unwrap_or(if p < 0 { i64::MIN } else { i64::MAX })
}

/// The learning rule: `new = parent + round(lr_num / lr_den x sum)`
/// coordinate by coordinate, saturating at the i32 range.
pub fn apply(parent: &[i32], sum: &[i64], num: u32, den: u32) -> Vec<i32> {
    parent
        .iter()
        .zip(sum)
        .map(|(&w, &s)| {
            let v = i64::from(w).saturating_add(scale(s, num, den));
            i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test arithmetic on small known values
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The rule is odd-symmetric and within half a unit of the exact quotient.
        #[test]
        fn scaling_is_symmetric_and_rounds_to_nearest(
            x in -(1i64 << 40)..(1i64 << 40),
            num in 1u32..=(1 << 20),
            den in 1u32..=(1 << 20),
        ) {
            let q = scale(x, num, den);
            prop_assert_eq!(scale(-x, num, den), -q);
            let exact2 = 2 * i128::from(x) * i128::from(num);
            let err2 = (2 * i128::from(q) * i128::from(den) - exact2).abs();
            prop_assert!(err2 <= i128::from(den), "{} {} {} -> {}", x, num, den, q);
        }
    }

    #[test]
    fn scaling_rounds_to_nearest_with_ties_away_from_zero() {
        assert_eq!(scale(5, 1, 2), 3);
        assert_eq!(scale(-5, 1, 2), -3);
        assert_eq!(scale(4, 1, 3), 1);
        assert_eq!(scale(-4, 1, 3), -1);
        assert_eq!(scale(7, 1, 1), 7);
        assert_eq!(apply(&[i32::MAX, 0], &[10, -3], 1, 1), vec![i32::MAX, -3]);
    }

    #[test]
    fn a_tie_predicts_the_lowest_class() {
        let hidden = HIDDEN as usize;
        let head = vec![0i32; 2 * hidden];
        assert_eq!(predict(&head, &vec![1i8; hidden]), 0);
        let mut head = head;
        head[hidden] = 1;
        assert_eq!(predict(&head, &vec![1i8; hidden]), 1);
    }
}
