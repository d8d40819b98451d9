//! Coins: an amount of one denomination. Amounts are `u128`, which holds any
//! supply this chain will see; all arithmetic on them is checked.

use std::{fmt, str::FromStr};

/// The chain's base denomination (1 DEAI = 10^6 udeai).
pub const BASE_DENOM: &str = "udeai";

/// Parts per million: the unit of every share parameter (1_000_000 = 100%).
pub const PPM: u64 = 1_000_000;

/// `amount × ppm / 1_000_000`, rounded down, without overflow; `ppm` above
/// [`PPM`] counts as 100%.
pub fn ppm_share(amount: u128, ppm: u64) -> u128 {
    let ppm = u128::from(ppm.min(PPM));
    let unit = u128::from(PPM);
    (amount / unit) * ppm + (amount % unit) * ppm / unit
}

/// Errors from parsing or validating coins.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoinError {
    /// The denomination breaks the Cosmos SDK's denom rules.
    #[error(
        "invalid denom {0:?}: 3-128 characters, a letter first, then letters, digits or /:._-"
    )]
    InvalidDenom(String),
    /// The amount is not a non-negative integer that fits in 128 bits.
    #[error("invalid amount {0:?}: expected a non-negative integer below 2^128")]
    InvalidAmount(String),
    /// The text is not `<amount><denom>`.
    #[error("invalid coin {0:?}: expected an amount followed by a denom, like 1000udeai")]
    InvalidCoin(String),
}

/// An amount of one denomination.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Coin {
    /// The denomination, such as `udeai`.
    pub denom: String,
    /// The amount, in the smallest unit.
    #[serde(with = "amount_as_string")]
    pub amount: u128,
}

impl Coin {
    /// A coin of `amount` in `denom`.
    pub fn new(amount: u128, denom: impl Into<String>) -> Self {
        Coin {
            denom: denom.into(),
            amount,
        }
    }

    /// Checks the denom against the Cosmos SDK's rule
    /// `[a-zA-Z][a-zA-Z0-9/:._-]{2,127}`.
    pub fn validate_denom(denom: &str) -> Result<(), CoinError> {
        let bytes = denom.as_bytes();
        let ok = (3..=128).contains(&bytes.len())
            && bytes[0].is_ascii_alphabetic()
            && bytes[1..]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"/:._-".contains(b));
        if ok {
            Ok(())
        } else {
            Err(CoinError::InvalidDenom(denom.to_string()))
        }
    }

    /// Parses a decimal amount as the Cosmos SDK's `Int` string form.
    pub fn parse_amount(s: &str) -> Result<u128, CoinError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CoinError::InvalidAmount(s.to_string()));
        }
        s.parse::<u128>()
            .map_err(|_| CoinError::InvalidAmount(s.to_string()))
    }

    /// Builds a coin from the string fields of a protobuf `Coin`.
    pub fn from_parts(denom: &str, amount: &str) -> Result<Self, CoinError> {
        Self::validate_denom(denom)?;
        Ok(Coin::new(Self::parse_amount(amount)?, denom))
    }

    /// Parses a comma-separated list such as `10udeai,5ibc/AB12`.
    pub fn parse_list(s: &str) -> Result<Vec<Coin>, CoinError> {
        if s.trim().is_empty() {
            return Ok(Vec::new());
        }
        s.split(',').map(|part| part.trim().parse()).collect()
    }
}

impl FromStr for Coin {
    type Err = CoinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let split = s
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| CoinError::InvalidCoin(s.to_string()))?;
        if split == 0 {
            return Err(CoinError::InvalidCoin(s.to_string()));
        }
        let (amount, denom) = s.split_at(split);
        Coin::from_parts(denom, amount)
    }
}

impl fmt::Display for Coin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.denom)
    }
}

mod amount_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        super::Coin::parse_amount(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coins_parse_from_cli_text() {
        assert_eq!(
            "1000udeai".parse::<Coin>().unwrap(),
            Coin::new(1000, "udeai")
        );
        assert_eq!(
            Coin::parse_list("1udeai, 2ibc/ABC").unwrap(),
            vec![Coin::new(1, "udeai"), Coin::new(2, "ibc/ABC")]
        );
    }

    #[test]
    fn malformed_coins_are_clear_errors() {
        assert!(matches!(
            "udeai".parse::<Coin>(),
            Err(CoinError::InvalidCoin(_))
        ));
        assert!(matches!(
            "10".parse::<Coin>(),
            Err(CoinError::InvalidCoin(_))
        ));
        assert!(matches!(
            "10u".parse::<Coin>(),
            Err(CoinError::InvalidDenom(_))
        ));
        assert!(matches!(
            Coin::from_parts("udeai", "-5"),
            Err(CoinError::InvalidAmount(_))
        ));
        assert!(matches!(
            Coin::from_parts("udeai", "340282366920938463463374607431768211456"),
            Err(CoinError::InvalidAmount(_))
        ));
    }
}
