//! The minter and the Cosmos SDK's formula for it, integer for integer.
//!
//! The SDK computes with `LegacyDec`, whose operations round in particular
//! ways; this module repeats them on [`Dec`] atomics (10⁻¹⁸ units) so that
//! a chain replaying the SDK's blocks lands on the same numbers:
//!
//! - `bonded_ratio = bonded ÷ supply`, truncated (`LegacyDec.QuoInt`);
//! - `change = (1 − bonded_ratio ÷ goal_bonded) × inflation_rate_change ÷
//!   blocks_per_year`, each `÷` and `×` of two decimals rounded half to even
//!   at 18 places (`LegacyDec.Quo`, `LegacyDec.Mul`), the sign kept apart
//!   (the SDK rounds the magnitude of a negative number);
//! - `inflation = clamp(inflation + change, inflation_min, inflation_max)`;
//! - `annual_provisions = inflation × supply`, exact (`LegacyDec.MulInt`);
//! - the block's provision is `annual_provisions ÷ blocks_per_year`,
//!   truncated to whole tokens.
//!
//! Every step is checked: a result that would not fit 128 bits is an
//! [`Overflow`], never a wrapped number.

use cosmos_sdk_proto::cosmos::mint::v1beta1 as sdk;
use deai_staking::dec::{mul_div_floor, Dec, ONE_ATOMICS};

use crate::{MintError, Rates};

/// Half of 10¹⁸: where rounding to 18 places turns.
const HALF_ATOMICS: u128 = 500_000_000_000_000_000;

/// The minter: the current annual inflation rate and the provisions a year
/// of it gives (the SDK's `Minter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minter {
    /// The annual inflation rate.
    pub inflation: Dec,
    /// `inflation × supply` at the last block that minted, in the mint denom.
    pub annual_provisions: Dec,
}

impl Default for Minter {
    /// The SDK's starting minter: 13% inflation, no provisions yet.
    fn default() -> Self {
        Minter {
            inflation: Dec::from_atomics(130_000_000_000_000_000),
            annual_provisions: Dec::ZERO,
        }
    }
}

impl Minter {
    /// The SDK's message: decimals are their atomics as text.
    pub fn to_proto(&self) -> sdk::Minter {
        sdk::Minter {
            inflation: self.inflation.to_proto(),
            annual_provisions: self.annual_provisions.to_proto(),
        }
    }

    /// Reads the SDK's message.
    pub fn from_proto(p: &sdk::Minter) -> Result<Self, MintError> {
        let d = |field: &str, s: &str| {
            Dec::from_proto(s).map_err(|e| MintError::Corrupt(format!("minter {field}: {e}")))
        };
        Ok(Minter {
            inflation: d("inflation", &p.inflation)?,
            annual_provisions: d("annual_provisions", &p.annual_provisions)?,
        })
    }
}

/// A step of the formula whose result would not fit 128 bits: what it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow(pub &'static str);

/// What one block mints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provision {
    /// Bonded tokens over the supply.
    pub bonded_ratio: Dec,
    /// The minter after this block.
    pub minter: Minter,
    /// The whole tokens minted.
    pub amount: u128,
}

/// Rounds `q + rem / 10¹⁸` to a whole number, half to even, where `rem` is
/// below 10¹⁸ (the SDK's `chopPrecisionAndRound`).
fn round_half_even(q: u128, rem: u128) -> Option<u128> {
    let up = match rem.cmp(&HALF_ATOMICS) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => (q & 1) == 1,
    };
    if up {
        q.checked_add(1)
    } else {
        Some(q)
    }
}

/// `a × b` of two non-negative decimals (atomics), rounded half to even:
/// `LegacyDec.Mul`. `None` if it does not fit 128 bits.
pub fn mul_round(a: u128, b: u128) -> Option<u128> {
    let q = mul_div_floor(a, b, ONE_ATOMICS)?;
    // a·b − q·10¹⁸ is below 10¹⁸: computed modulo 2¹²⁸ it comes out exact,
    // however large a·b itself is.
    let rem = a.wrapping_mul(b).wrapping_sub(q.wrapping_mul(ONE_ATOMICS));
    round_half_even(q, rem)
}

/// `a ÷ b` of two non-negative decimals (atomics): `LegacyDec.Quo`, which
/// truncates `a·10³⁶ ÷ b` and then rounds the last 18 of its digits away,
/// half to even. `None` if `b` is zero or the result does not fit 128 bits.
pub fn quo_round(a: u128, b: u128) -> Option<u128> {
    // With a·10¹⁸ = q·b + s (0 ≤ s < b): a·10³⁶ ÷ b = q·10¹⁸ + s·10¹⁸ ÷ b,
    // whose truncation has q above 10¹⁸ and ⌊s·10¹⁸ ÷ b⌋ (below 10¹⁸) under it.
    let q = mul_div_floor(a, ONE_ATOMICS, b)?;
    // s is below b: computed modulo 2¹²⁸ it comes out exact.
    let s = a.wrapping_mul(ONE_ATOMICS).wrapping_sub(q.wrapping_mul(b));
    let rem = mul_div_floor(s, ONE_ATOMICS, b)?;
    round_half_even(q, rem)
}

/// `bonded ÷ supply` as a decimal, truncated (`LegacyDec.QuoInt` of the
/// bonded tokens as a decimal). `None` for no supply or an overflow.
pub fn bonded_ratio(bonded: u128, supply: u128) -> Option<Dec> {
    mul_div_floor(bonded, ONE_ATOMICS, supply).map(Dec::from_atomics)
}

/// A signed decimal (atomics) from a sign and a magnitude.
fn signed(negative: bool, magnitude: u128) -> Option<i128> {
    let m = i128::try_from(magnitude).ok()?;
    if negative {
        m.checked_neg()
    } else {
        Some(m)
    }
}

impl Minter {
    /// The inflation rate for the next block at `bonded_ratio` (the SDK's
    /// `NextInflationRate`).
    pub fn next_inflation(&self, rates: &Rates, bonded_ratio: Dec) -> Result<Dec, Overflow> {
        let over = Overflow("inflation change");
        let one = i128::try_from(ONE_ATOMICS).map_err(|_| over)?;
        // (1 − bonded_ratio ÷ goal_bonded) × inflation_rate_change ÷ blocks_per_year,
        // rounded on magnitudes as LegacyDec rounds, the sign kept apart.
        let ratio_to_goal = quo_round(bonded_ratio.atomics(), rates.goal_bonded.atomics())
            .and_then(|x| i128::try_from(x).ok())
            .ok_or(over)?;
        let gap = one.checked_sub(ratio_to_goal).ok_or(over)?;
        let per_year =
            mul_round(gap.unsigned_abs(), rates.inflation_rate_change.atomics()).ok_or(over)?;
        let blocks = u128::from(rates.blocks_per_year)
            .checked_mul(ONE_ATOMICS)
            .ok_or(over)?;
        let per_block = quo_round(per_year, blocks)
            .and_then(|m| signed(gap < 0, m))
            .ok_or(over)?;
        let current = i128::try_from(self.inflation.atomics()).map_err(|_| over)?;
        let next = current.checked_add(per_block).ok_or(over)?;
        let max = i128::try_from(rates.inflation_max.atomics()).map_err(|_| over)?;
        let min = i128::try_from(rates.inflation_min.atomics()).map_err(|_| over)?;
        // As the SDK: above the ceiling is the ceiling, then below the floor
        // the floor (the bounds keep min ≤ max).
        let clamped = if next > max {
            max
        } else if next < min {
            min
        } else {
            next
        };
        u128::try_from(clamped)
            .map(Dec::from_atomics)
            .map_err(|_| over)
    }

    /// One block of the formula at `bonded` tokens of `supply`: the new
    /// minter and what it mints. Pure: nothing is written.
    pub fn next(&self, rates: &Rates, bonded: u128, supply: u128) -> Result<Provision, Overflow> {
        let bonded_ratio = bonded_ratio(bonded, supply).ok_or(Overflow("bonded ratio"))?;
        let inflation = self.next_inflation(rates, bonded_ratio)?;
        let over = Overflow("annual provisions");
        let annual = inflation.atomics().checked_mul(supply).ok_or(over)?;
        // ⌊⌊annual ÷ blocks_per_year⌋ ÷ 10¹⁸⌋, as the SDK's QuoInt then TruncateInt.
        let amount = annual
            .checked_div(u128::from(rates.blocks_per_year))
            .and_then(|a| a.checked_div(ONE_ATOMICS))
            .ok_or(over)?;
        Ok(Provision {
            bonded_ratio,
            minter: Minter {
                inflation,
                annual_provisions: Dec::from_atomics(annual),
            },
            amount,
        })
    }
}

#[cfg(test)]
mod tests {
    // Test arithmetic on small known numbers; the lint guards the module's own code.
    #![allow(clippy::arithmetic_side_effects)]

    use proptest::prelude::*;

    use super::*;

    /// The SDK's defaults as rates.
    fn rates() -> Rates {
        crate::MintParams::default().rates().unwrap()
    }

    #[test]
    fn one_block_of_the_sdks_formula_on_a_worked_example() {
        // 1,000,000 DEAI, half of it bonded, from the SDK's starting minter.
        // 0.5 ÷ 0.67 = 0.746268656716417910|44…; 1 − it = 0.253731343283582090;
        // × 0.13 = 0.032985074626865671|7, rounded up; ÷ 6311520 a block.
        assert_eq!(
            quo_round(500_000_000_000_000_000, 670_000_000_000_000_000),
            Some(746_268_656_716_417_910)
        );
        assert_eq!(
            mul_round(253_731_343_283_582_090, 130_000_000_000_000_000),
            Some(32_985_074_626_865_672)
        );
        assert_eq!(
            quo_round(32_985_074_626_865_672, 6_311_520 * ONE_ATOMICS),
            Some(5_226_169_707)
        );
        let p = Minter::default()
            .next(&rates(), 500_000_000_000, 1_000_000_000_000)
            .unwrap();
        assert_eq!(p.bonded_ratio.atomics(), 500_000_000_000_000_000);
        assert_eq!(p.minter.inflation.atomics(), 130_000_005_226_169_707);
        assert_eq!(
            p.minter.annual_provisions.atomics(),
            130_000_005_226_169_707 * 1_000_000_000_000
        );
        // ⌊130000005226.169707 ÷ 6311520⌋.
        assert_eq!(p.amount, 20_597);
    }

    #[test]
    fn over_the_goal_the_change_is_negative_and_rounded_on_its_magnitude() {
        // 0.9 ÷ 0.67 = 1.343283582089552239 (rounded); 1 − it < 0;
        // × 0.13 = −0.044626865671641791; ÷ 6311520 = −0.000000007070700191.
        let p = Minter::default()
            .next(&rates(), 900_000_000_000, 1_000_000_000_000)
            .unwrap();
        assert_eq!(p.minter.inflation.atomics(), 129_999_992_929_299_809);
    }

    #[test]
    fn annual_provisions_past_128_bits_are_an_overflow() {
        assert_eq!(
            Minter::default().next(&rates(), u128::MAX / 4, u128::MAX / 2),
            Err(Overflow("annual provisions"))
        );
    }

    /// `LegacyDec`'s rounding of `x / 10¹⁸` to a whole number: half to even.
    fn reference_round(x: u128) -> u128 {
        let (q, r) = (x / ONE_ATOMICS, x % ONE_ATOMICS);
        let half = ONE_ATOMICS / 2;
        if r > half || (r == half && q % 2 == 1) {
            q + 1
        } else {
            q
        }
    }

    #[test]
    fn rounding_ties_go_to_the_even_neighbour() {
        let half = ONE_ATOMICS / 2;
        // 1.5 × 10⁻¹⁸ and 2.5 × 10⁻¹⁸ both round to 2 × 10⁻¹⁸.
        assert_eq!(mul_round(3 * half, 1), Some(2));
        assert_eq!(mul_round(5 * half, 1), Some(2));
        assert_eq!(mul_round(5 * half + 1, 1), Some(3));
        // 1 ÷ 3 and 2 ÷ 3 at 18 places.
        assert_eq!(
            quo_round(ONE_ATOMICS, 3 * ONE_ATOMICS),
            Some(333_333_333_333_333_333)
        );
        assert_eq!(
            quo_round(2 * ONE_ATOMICS, 3 * ONE_ATOMICS),
            Some(666_666_666_666_666_667)
        );
        // The smallest goal: a quotient far past 128 bits of 10⁻³⁶ units, exact.
        assert_eq!(
            quo_round(18_169_055_466_450_020, 1),
            Some(18_169_055_466_450_020 * ONE_ATOMICS)
        );
        assert_eq!(
            quo_round(ONE_ATOMICS, 3),
            Some(333_333_333_333_333_333_333_333_333_333_333_333)
        );
        assert_eq!(quo_round(1, 0), None);
        assert_eq!(quo_round(u128::MAX, 1), None);
        assert_eq!(mul_round(u128::MAX, 2 * ONE_ATOMICS), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The rounding helpers against the SDK's definitions computed directly,
        /// where the direct products fit 128 bits.
        #[test]
        fn mul_and_quo_round_as_legacy_dec_does(
            a in 0u128..=u128::from(u64::MAX),
            b in 0u128..=u128::from(u64::MAX),
            small in 0u128..=340,
            divisor in 1u128..,
            ratio in 0u128..=ONE_ATOMICS,
            goal in 1u128..=ONE_ATOMICS,
        ) {
            prop_assert_eq!(mul_round(a, b), Some(reference_round(a * b)));
            // small·10³⁶ fits 128 bits, so the SDK's Quo can be done directly.
            let direct = small * ONE_ATOMICS * ONE_ATOMICS / divisor;
            prop_assert_eq!(quo_round(small, divisor), Some(reference_round(direct)));
            // The bonded ratio over the goal, as the formula divides them:
            // directly while ratio·10³⁶ ÷ goal fits 128 bits, and past that
            // (a goal below ratio ÷ 340) at least bracketed by its truncation.
            let got = quo_round(ratio, goal).unwrap();
            match mul_div_floor(ratio * ONE_ATOMICS, ONE_ATOMICS, goal) {
                Some(wide) => prop_assert_eq!(got, reference_round(wide)),
                None => {
                    let floor = mul_div_floor(ratio, ONE_ATOMICS, goal).unwrap();
                    prop_assert!(got == floor || got == floor + 1);
                }
            }
        }
    }
}
