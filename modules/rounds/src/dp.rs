//! Privacy accounting of a round, in integer fixed point (Q32), so every
//! node computes the same epsilon.
//!
//! The mechanism: the sum of `n` contributors' updates, each clipped to
//! squared L2 norm `B`, plus Skellam noise `Sk(mu, mu) = Poisson(mu) -
//! Poisson(mu)` per coordinate with `mu = n x lambda` (each contributor adds
//! `Sk(lambda, lambda)`; independent Skellams add up). Adding or removing one
//! contributor changes the sum by at most `Delta2^2 = B` in squared L2 norm
//! and `Delta1 = min(B, ceil(sqrt(d B)))` in L1 norm (an integer vector's L1
//! norm is at most its squared L2 norm).
//!
//! Renyi DP of order `alpha` (Agarwal, Kairouz, Liu, "The Skellam Mechanism
//! for Differentially Private Federated Learning", NeurIPS 2021, the
//! multi-dimensional bound):
//!
//! `eps(alpha) = alpha Delta2^2 / (4 mu) + min(((2 alpha - 1) Delta2^2 + 6 Delta1) / (16 mu^2), 3 Delta1 / (4 mu))`
//!
//! The first term is the Gaussian mechanism's with `sigma^2 = 2 mu`. RDP
//! composes by addition across rounds, so a model version keeps its
//! lineage's RDP at each order of [`ORDERS`]; `(epsilon, delta)` is
//! `min over alpha of eps(alpha) + ln(1/delta) / (alpha - 1)` at
//! `delta = 10^-6`. Every division rounds up, so the epsilon reported is
//! never below the exact value of these formulas.

use crate::params::HIDDEN;

/// The Renyi orders tracked.
pub const ORDERS: [u64; 20] = [
    2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024,
];

/// `ceil(ln(10^6) x 2^32)`: `ln(1/delta)` in Q32 at `delta = 10^-6`.
pub const LN_INV_DELTA_Q32: u128 = 59_337_166_024;

/// `delta` of the reported epsilon, as `1/DELTA_INV`.
pub const DELTA_INV: u64 = 1_000_000;

fn div_ceil(n: u128, d: u128) -> u128 {
    n.checked_div(d)
        .map(|q| {
            if q.saturating_mul(d) < n {
                q.saturating_add(1)
            } else {
                q
            }
        })
        .unwrap_or(u128::MAX)
}

/// The RDP (Q32, at each of [`ORDERS`]) of one round with `contributors`
/// submitters, `classes` rows, clip `clip_l2_squared` and noise `lambda` per contributor.
pub fn round_rdp_q32(
    clip_l2_squared: u64,
    classes: u32,
    lambda: u64,
    contributors: u32,
) -> Vec<u64> {
    let b = u128::from(clip_l2_squared);
    let d = u128::from(classes).saturating_mul(u128::from(HIDDEN));
    let delta1 = b.min(d.saturating_mul(b).isqrt().saturating_add(1));
    let mu = u128::from(lambda)
        .saturating_mul(u128::from(contributors))
        .max(1);
    let q = 1u128 << 32;
    ORDERS
        .iter()
        .map(|&alpha| {
            let alpha = u128::from(alpha);
            let gaussian = div_ceil(
                alpha.saturating_mul(b).saturating_mul(q),
                mu.saturating_mul(4),
            );
            let a = div_ceil(
                alpha
                    .saturating_mul(2)
                    .saturating_sub(1)
                    .saturating_mul(b)
                    .saturating_add(delta1.saturating_mul(6))
                    .saturating_mul(q),
                mu.saturating_mul(mu).saturating_mul(16),
            );
            let c = div_ceil(
                delta1.saturating_mul(3).saturating_mul(q),
                mu.saturating_mul(4),
            );
            u64::try_from(gaussian.saturating_add(a.min(c))).unwrap_or(u64::MAX)
        })
        .collect()
}

/// Adds two RDP curves order by order (composition), saturating.
pub fn compose(a: &[u64], b: &[u64]) -> Vec<u64> {
    (0..ORDERS.len())
        .map(|i| {
            let x = a.get(i).copied().unwrap_or(0);
            let y = b.get(i).copied().unwrap_or(0);
            x.saturating_add(y)
        })
        .collect()
}

/// Epsilon x 10^6 (rounded up) at `delta = 10^-6` of an RDP curve.
pub fn epsilon_micro(rdp_q32: &[u64]) -> u64 {
    let q = 1u128 << 32;
    let best = ORDERS
        .iter()
        .zip(rdp_q32)
        .map(|(&alpha, &r)| {
            let conv = div_ceil(LN_INV_DELTA_Q32, u128::from(alpha.saturating_sub(1)).max(1));
            u128::from(r).saturating_add(conv)
        })
        .min()
        .unwrap_or(u128::MAX);
    u64::try_from(div_ceil(best.saturating_mul(1_000_000), q)).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test arithmetic on small known values
mod tests {
    use super::*;

    #[test]
    fn more_noise_and_more_contributors_give_a_smaller_epsilon() {
        let e = |lambda, n| epsilon_micro(&round_rdp_q32(10_000, 4, lambda, n));
        assert!(e(1000, 10) > e(10_000, 10));
        assert!(e(1000, 10) > e(1000, 20));
    }

    #[test]
    fn composition_of_two_rounds_costs_more_than_one_and_at_most_twice() {
        let one = round_rdp_q32(10_000, 4, 5_000, 10);
        let two = compose(&one, &one);
        let (e1, e2) = (epsilon_micro(&one), epsilon_micro(&two));
        assert!(e2 > e1 && e2 <= 2 * e1, "{e1} {e2}");
    }

    #[test]
    fn the_gaussian_limit_matches_the_classic_bound() {
        // With mu large the Skellam term vanishes: eps(alpha) ~ alpha B / (2 sigma^2).
        // B = 1, sigma^2 = 2 mu = 2^21: eps(2) = 2 / (2 x 2^21) = 2^-21 -> 2^11 in Q32
        // (plus the vanishing Skellam term and rounding up).
        let rdp = round_rdp_q32(1, 2, 1 << 20, 1);
        assert!((2048..2052).contains(&rdp[0]), "{}", rdp[0]);
        // ln(10^6) / 1023 dominates at the largest order.
        assert!(epsilon_micro(&rdp) >= 13_505);
    }
}
