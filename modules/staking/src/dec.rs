//! Exact fixed-point numbers as the Cosmos SDK's `LegacyDec` carries them:
//! an integer count of 10⁻¹⁸ units ("atomics"). Shares and commission
//! rates are `Dec`s. On the wire (protobuf) a `Dec` is its atomics as a
//! decimal integer string, as the SDK's gogoproto encoding writes it
//! (`"1000000000000000000"` is 1); people write and read `"1.0"` / `"0.05"`.
//!
//! Products that could overflow 128 bits go through a 256-bit intermediate
//! ([`mul_div_floor`]), so no conversion between tokens and shares ever
//! overflows or rounds twice.

use std::fmt;

use crypto_bigint::{Encoding, U256};

/// Decimal places of a [`Dec`].
pub const PRECISION: u32 = 18;

/// The atomics of 1.
pub const ONE_ATOMICS: u128 = 1_000_000_000_000_000_000;

/// A non-negative fixed-point number with 18 decimals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dec(u128);

/// Why a decimal could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a non-negative decimal with at most 18 decimal places")]
pub struct DecError(pub String);

impl Dec {
    /// Zero.
    pub const ZERO: Dec = Dec(0);
    /// One.
    pub const ONE: Dec = Dec(ONE_ATOMICS);

    /// The number with these atomics.
    pub const fn from_atomics(atomics: u128) -> Dec {
        Dec(atomics)
    }

    /// Its atomics.
    pub const fn atomics(self) -> u128 {
        self.0
    }

    /// The whole number `n`, if it fits.
    pub fn from_int(n: u128) -> Option<Dec> {
        n.checked_mul(ONE_ATOMICS).map(Dec)
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Reads the protobuf form: atomics as a decimal integer (empty is zero,
    /// as the SDK reads an unset field).
    pub fn from_proto(s: &str) -> Result<Dec, DecError> {
        if s.is_empty() {
            return Ok(Dec::ZERO);
        }
        if s.len() > 39 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecError(s.to_string()));
        }
        s.parse().map(Dec).map_err(|_| DecError(s.to_string()))
    }

    /// The protobuf form: atomics as a decimal integer.
    pub fn to_proto(self) -> String {
        self.0.to_string()
    }

    /// Reads the human form: `1`, `0.05`, `12.000000000000000001`.
    pub fn parse_human(s: &str) -> Result<Dec, DecError> {
        let bad = || DecError(s.to_string());
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 39 && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (s.contains('.') && !digits(frac)) || frac.len() > PRECISION as usize {
            return Err(bad());
        }
        let int: u128 = int.parse().map_err(|_| bad())?;
        let mut f: u128 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        for _ in frac.len()..PRECISION as usize {
            // At most PRECISION digits: `f` stays below 10¹⁸, so this never fails.
            f = f.checked_mul(10).ok_or_else(bad)?;
        }
        int.checked_mul(ONE_ATOMICS)
            .and_then(|i| i.checked_add(f))
            .map(Dec)
            .ok_or_else(bad)
    }

    /// `self × n`, rounded down to a whole number.
    pub fn mul_int_floor(self, n: u128) -> Option<u128> {
        mul_div_floor(self.0, n, ONE_ATOMICS)
    }

    /// The sum, if it fits.
    pub fn checked_add(self, other: Dec) -> Option<Dec> {
        self.0.checked_add(other.0).map(Dec)
    }

    /// The difference, if not negative.
    pub fn checked_sub(self, other: Dec) -> Option<Dec> {
        self.0.checked_sub(other.0).map(Dec)
    }

    /// The distance between two numbers.
    pub fn abs_diff(self, other: Dec) -> Dec {
        Dec(self.0.abs_diff(other.0))
    }
}

/// The human form, with all 18 decimals (as the SDK prints a `LegacyDec`).
impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:018}", self.0 / ONE_ATOMICS, self.0 % ONE_ATOMICS)
    }
}

fn wide(n: u128) -> U256 {
    U256::from_u128(n)
}

fn narrow(n: U256) -> Option<u128> {
    let bytes = n.to_be_bytes();
    let (high, low) = bytes.split_at(16);
    if high.iter().any(|b| *b != 0) {
        return None;
    }
    Some(u128::from_be_bytes(low.try_into().ok()?))
}

/// `a × b / c` rounded down, exact for any 128-bit inputs; `None` when `c`
/// is zero or the result does not fit 128 bits.
pub fn mul_div_floor(a: u128, b: u128, c: u128) -> Option<u128> {
    if c == 0 {
        return None;
    }
    // A 128 × 128-bit product fits 256 bits: the multiplication cannot wrap.
    narrow(wide(a).wrapping_mul(&wide(b)).wrapping_div(&wide(c)))
}

/// `a × b / c` rounded up; `None` as for [`mul_div_floor`].
pub fn mul_div_ceil(a: u128, b: u128, c: u128) -> Option<u128> {
    if c == 0 {
        return None;
    }
    let product = wide(a).wrapping_mul(&wide(b));
    let q = product.wrapping_div(&wide(c));
    let exact = q.wrapping_mul(&wide(c)) == product;
    let q = narrow(q)?;
    if exact {
        Some(q)
    } else {
        q.checked_add(1)
    }
}

#[cfg(test)]
mod tests {
    // Test arithmetic on small known numbers; the lint guards the module's own code.
    #![allow(clippy::arithmetic_side_effects)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn human_and_proto_forms_read_back() {
        let d = Dec::parse_human("0.05").unwrap();
        assert_eq!(d.atomics(), 50_000_000_000_000_000);
        assert_eq!(d.to_string(), "0.050000000000000000");
        assert_eq!(Dec::from_proto(&d.to_proto()).unwrap(), d);
        assert_eq!(Dec::parse_human("1").unwrap(), Dec::ONE);
        assert_eq!(
            Dec::parse_human("1.000000000000000001").unwrap().atomics(),
            ONE_ATOMICS + 1
        );
        assert_eq!(Dec::from_proto("").unwrap(), Dec::ZERO);
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "1.0000000000000000001",
            "1e3",
            "0x10",
            " 1",
            "1,0",
        ] {
            assert!(Dec::parse_human(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "1.0",
            "-1",
            "1e3",
            "999999999999999999999999999999999999999999",
        ] {
            assert!(Dec::from_proto(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mul_div_is_exact_past_128_bits() {
        let big = u128::MAX / 3;
        assert_eq!(mul_div_floor(big, 6, 2), Some(big * 3));
        assert_eq!(
            mul_div_floor(u128::MAX, u128::MAX, u128::MAX),
            Some(u128::MAX)
        );
        assert_eq!(mul_div_floor(u128::MAX, 2, 1), None);
        assert_eq!(mul_div_floor(1, 1, 0), None);
        assert_eq!(mul_div_ceil(7, 1, 2), Some(4));
        assert_eq!(mul_div_ceil(8, 1, 2), Some(4));
    }

    proptest! {
        #[test]
        fn floor_and_ceil_bracket_the_quotient(a in any::<u64>(), b in any::<u64>(), c in 1u64..) {
            let (a, b, c) = (u128::from(a), u128::from(b), u128::from(c));
            let floor = mul_div_floor(a, b, c).unwrap();
            let ceil = mul_div_ceil(a, b, c).unwrap();
            prop_assert_eq!(floor, a * b / c);
            prop_assert!(ceil == floor || ceil == floor + 1);
            prop_assert_eq!(ceil == floor, a * b % c == 0);
        }
    }
}
