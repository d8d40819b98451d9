//! The gas limit of a transaction, as `--gas` and `--gas-adjustment` give
//! it: `auto` (simulate the tx and multiply its gas by a decimal factor like
//! 1.3) or a fixed number. The one parser the CLI and the compute daemon
//! share; decimals are parsed without floats.

/// Why `--gas` or `--gas-adjustment` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GasError {
    /// `--gas` is neither a number nor `auto`.
    #[error("--gas {0:?} is neither a number nor auto")]
    NotANumber(String),
    /// `--gas-adjustment` is not a decimal with at most 3 decimals.
    #[error("--gas-adjustment: {0}")]
    Adjustment(DecimalError),
    /// `--gas-adjustment` is below 1: the tx would run out of the gas it was simulated to use.
    #[error("--gas-adjustment {0:?} must be at least 1")]
    AdjustmentBelowOne(String),
}

/// Why a decimal such as `1.3` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// Not digits, an optional point and at most 3 digits.
    #[error("{0:?} is not a decimal like 1.3 (at most 3 decimals)")]
    Malformed(String),
    /// Too large for thousandths in a `u64`.
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// The gas limit of each transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gas {
    /// Simulate the transaction and multiply its gas by this many thousandths.
    Auto {
        /// 1300 for 1.3.
        adjustment_per_mille: u64,
    },
    /// A fixed limit.
    Fixed(u64),
}

impl Gas {
    /// Parses `--gas` (`auto` or a number) and, with `auto`, `--gas-adjustment`
    /// (a decimal of at least 1, e.g. 1.3). The adjustment is ignored with a
    /// fixed limit.
    pub fn parse(gas: &str, adjustment: &str) -> Result<Gas, GasError> {
        if gas != "auto" {
            return gas
                .parse()
                .map(Gas::Fixed)
                .map_err(|_| GasError::NotANumber(gas.to_string()));
        }
        let adjustment_per_mille = per_mille(adjustment).map_err(GasError::Adjustment)?;
        if adjustment_per_mille < 1000 {
            return Err(GasError::AdjustmentBelowOne(adjustment.to_string()));
        }
        Ok(Gas::Auto {
            adjustment_per_mille,
        })
    }

    /// The limit for a tx whose simulation used `simulated` gas (ignored
    /// for a fixed limit); saturates rather than overflows.
    pub fn limit(self, simulated: u64) -> u64 {
        match self {
            Gas::Fixed(limit) => limit,
            Gas::Auto {
                adjustment_per_mille,
            } => simulated.saturating_mul(adjustment_per_mille) / 1000,
        }
    }
}

/// Parses a decimal such as `1.3` into thousandths (1300), without floats.
pub fn per_mille(s: &str) -> Result<u64, DecimalError> {
    let malformed = || DecimalError::Malformed(s.to_string());
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || frac.len() > 3
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed());
    }
    let whole: u64 = whole
        .parse()
        .map_err(|_| DecimalError::TooLarge(s.to_string()))?;
    let frac: u64 = format!("{frac:0<3}").parse().map_err(|_| malformed())?;
    whole
        .checked_mul(1000)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(|| DecimalError::TooLarge(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_adjustments_parse_without_floats() {
        assert_eq!(per_mille("1.3").unwrap(), 1300);
        assert_eq!(per_mille("2").unwrap(), 2000);
        assert_eq!(per_mille("1.125").unwrap(), 1125);
        assert!(per_mille("1.2345").is_err());
        assert!(per_mille("abc").is_err());
        assert!(per_mille(".5").is_err());
        assert!(per_mille("+1.5").is_err());
        assert!(per_mille("1.-5").is_err());
        assert_eq!(
            per_mille(&u64::MAX.to_string()).unwrap_err(),
            DecimalError::TooLarge(u64::MAX.to_string())
        );
    }

    #[test]
    fn auto_gas_takes_the_adjustment_as_thousandths() {
        assert_eq!(
            Gas::parse("auto", "1.3").unwrap(),
            Gas::Auto {
                adjustment_per_mille: 1300
            }
        );
        assert_eq!(
            Gas::parse("auto", "2").unwrap(),
            Gas::Auto {
                adjustment_per_mille: 2000
            }
        );
        assert_eq!(
            Gas::parse("auto", "1.05").unwrap(),
            Gas::Auto {
                adjustment_per_mille: 1050
            }
        );
        assert_eq!(Gas::parse("auto", "1.3").unwrap().limit(100_000), 130_000);
        assert_eq!(
            Gas::parse("auto", "2").unwrap().limit(u64::MAX),
            u64::MAX / 1000
        );
    }

    #[test]
    fn a_fixed_limit_ignores_the_adjustment() {
        assert_eq!(Gas::parse("400000", "1.3").unwrap(), Gas::Fixed(400_000));
        assert_eq!(Gas::parse("400000", "junk").unwrap(), Gas::Fixed(400_000));
        assert_eq!(Gas::Fixed(400_000).limit(1), 400_000);
    }

    #[test]
    fn garbage_gas_or_adjustments_are_refused_with_the_flag_named() {
        let e = |g: &str, a: &str| Gas::parse(g, a).unwrap_err().to_string();
        assert_eq!(
            e("lots", "1.3"),
            "--gas \"lots\" is neither a number nor auto"
        );
        assert_eq!(e("-5", "1.3"), "--gas \"-5\" is neither a number nor auto");
        assert_eq!(
            e("AUTO", "1.3"),
            "--gas \"AUTO\" is neither a number nor auto"
        );
        assert_eq!(
            e("auto", "x"),
            "--gas-adjustment: \"x\" is not a decimal like 1.3 (at most 3 decimals)"
        );
        assert!(e("auto", "1.2345").contains("not a decimal"));
        assert!(e("auto", ".5").contains("not a decimal"));
        assert!(e("auto", "").contains("not a decimal"));
        assert_eq!(
            e("auto", "0.9"),
            "--gas-adjustment \"0.9\" must be at least 1"
        );
    }
}
