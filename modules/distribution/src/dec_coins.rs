//! Amounts with 18 decimals in several denoms (the SDK's `DecCoins`):
//! rewards owed, commission and per-token reward ratios. Every operation
//! rounds down, so the books never promise more than the module holds;
//! what rounding leaves over is the module's dust, which goes to the
//! treasury in whole coins.

use std::collections::BTreeMap;

use cosmos_sdk_proto::cosmos::base::v1beta1::DecCoin;
use deai_staking::dec::{mul_div_floor, Dec, ONE_ATOMICS};
use deai_types::Coin;

/// Non-negative decimal amounts by denom; no zero entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecCoins(BTreeMap<String, Dec>);

impl DecCoins {
    /// Nothing.
    pub fn new() -> Self {
        DecCoins::default()
    }

    /// Whole coins as decimals; `None` if one does not fit (over 3.4 × 10²⁰).
    pub fn from_coins(coins: &[Coin]) -> Option<Self> {
        let mut out = DecCoins::new();
        for c in coins {
            out = out.checked_add(&DecCoins::one(&c.denom, Dec::from_int(c.amount)?))?;
        }
        Some(out)
    }

    /// `amount` of `denom`.
    pub fn one(denom: &str, amount: Dec) -> Self {
        let mut m = BTreeMap::new();
        if !amount.is_zero() {
            m.insert(denom.to_string(), amount);
        }
        DecCoins(m)
    }

    /// Whether it is nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The amount of `denom`.
    pub fn amount_of(&self, denom: &str) -> Dec {
        self.0.get(denom).copied().unwrap_or(Dec::ZERO)
    }

    /// The amounts, by denom.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Dec)> {
        self.0.iter()
    }

    fn map(&self, f: impl Fn(Dec) -> Option<Dec>) -> Option<Self> {
        let mut out = BTreeMap::new();
        for (d, a) in &self.0 {
            let v = f(*a)?;
            if !v.is_zero() {
                out.insert(d.clone(), v);
            }
        }
        Some(DecCoins(out))
    }

    /// The sum; `None` on overflow.
    pub fn checked_add(&self, other: &DecCoins) -> Option<Self> {
        let mut out = self.0.clone();
        for (d, a) in &other.0 {
            let sum = out.get(d).copied().unwrap_or(Dec::ZERO).checked_add(*a)?;
            out.insert(d.clone(), sum);
        }
        Some(DecCoins(out))
    }

    /// The sum, each denom capped at the largest decimal (used for
    /// cumulative ratios, which only ever grow: a capped ratio pays less,
    /// never more).
    pub fn saturating_add(&self, other: &DecCoins) -> Self {
        let mut out = self.0.clone();
        for (d, a) in &other.0 {
            let old = out.get(d).copied().unwrap_or(Dec::ZERO);
            let sum = old.checked_add(*a).unwrap_or(Dec::from_atomics(u128::MAX));
            out.insert(d.clone(), sum);
        }
        DecCoins(out)
    }

    /// The difference; `None` if some denom would go negative.
    pub fn checked_sub(&self, other: &DecCoins) -> Option<Self> {
        let mut out = self.0.clone();
        for (d, a) in &other.0 {
            let left = out.get(d).copied().unwrap_or(Dec::ZERO).checked_sub(*a)?;
            if left.is_zero() {
                out.remove(d);
            } else {
                out.insert(d.clone(), left);
            }
        }
        Some(DecCoins(out))
    }

    /// The difference, each denom floored at zero.
    pub fn saturating_sub(&self, other: &DecCoins) -> Self {
        let mut out = self.0.clone();
        for (d, b) in &other.0 {
            if let Some(a) = out.get(d).copied() {
                let left = a.checked_sub(*b).unwrap_or(Dec::ZERO);
                if left.is_zero() {
                    out.remove(d);
                } else {
                    out.insert(d.clone(), left);
                }
            }
        }
        DecCoins(out)
    }

    /// Each denom the smaller of the two.
    pub fn min(&self, other: &DecCoins) -> Self {
        let mut out = BTreeMap::new();
        for (d, a) in &self.0 {
            let m = (*a).min(other.amount_of(d));
            if !m.is_zero() {
                out.insert(d.clone(), m);
            }
        }
        DecCoins(out)
    }

    /// Each amount × `rate`, rounded down.
    pub fn mul_dec_floor(&self, rate: Dec) -> Self {
        self.map(|a| {
            Some(Dec::from_atomics(
                mul_div_floor(a.atomics(), rate.atomics(), ONE_ATOMICS).unwrap_or(0),
            ))
        })
        .unwrap_or_default()
    }

    /// Each amount × `num` / `den`, rounded down (`num ≤ den`, so it fits).
    pub fn mul_ratio_floor(&self, num: u128, den: u128) -> Self {
        self.map(|a| {
            Some(Dec::from_atomics(
                mul_div_floor(a.atomics(), num, den).unwrap_or(0),
            ))
        })
        .unwrap_or_default()
    }

    /// Each amount ÷ `n`, rounded down: a per-token ratio.
    pub fn div_int_floor(&self, n: u128) -> Self {
        self.map(|a| Some(Dec::from_atomics(a.atomics().checked_div(n).unwrap_or(0))))
            .unwrap_or_default()
    }

    /// The whole coins, and the fractions left over.
    pub fn truncate(&self) -> (Vec<Coin>, DecCoins) {
        let mut whole = Vec::new();
        let mut rest = BTreeMap::new();
        for (d, a) in &self.0 {
            let (w, f) = (a.atomics() / ONE_ATOMICS, a.atomics() % ONE_ATOMICS);
            if w > 0 {
                whole.push(Coin::new(w, d.clone()));
            }
            if f > 0 {
                rest.insert(d.clone(), Dec::from_atomics(f));
            }
        }
        (whole, DecCoins(rest))
    }

    /// The SDK's protobuf: amounts as atomics text.
    pub fn to_proto(&self) -> Vec<DecCoin> {
        self.0
            .iter()
            .map(|(d, a)| DecCoin {
                denom: d.clone(),
                amount: a.to_proto(),
            })
            .collect()
    }

    /// Reads the protobuf form.
    pub fn from_proto(coins: &[DecCoin]) -> Result<Self, String> {
        let mut out = DecCoins::new();
        for c in coins {
            let a = Dec::from_proto(&c.amount).map_err(|e| e.to_string())?;
            out = out
                .checked_add(&DecCoins::one(&c.denom, a))
                .ok_or("amount overflow")?;
        }
        Ok(out)
    }
}

/// `stake × ratio`, each denom rounded down.
pub fn stake_times(stake: Dec, ratio: &DecCoins) -> DecCoins {
    ratio.mul_dec_floor(stake)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse_human(s).unwrap()
    }

    #[test]
    fn arithmetic_rounds_down_and_truncation_keeps_every_atomic() {
        let a = DecCoins::one("udeai", d("10.5"));
        assert_eq!(a.mul_dec_floor(d("0.1")), DecCoins::one("udeai", d("1.05")));
        assert_eq!(a.div_int_floor(4), DecCoins::one("udeai", d("2.625")));
        assert_eq!(
            a.mul_ratio_floor(1, 3),
            DecCoins::one("udeai", Dec::from_atomics(3_500_000_000_000_000_000))
        );
        let (whole, rest) = a.truncate();
        assert_eq!(whole, vec![Coin::new(10, "udeai")]);
        assert_eq!(rest, DecCoins::one("udeai", d("0.5")));
        assert_eq!(a.checked_sub(&DecCoins::one("udeai", d("11"))), None);
        assert_eq!(
            a.saturating_sub(&DecCoins::one("udeai", d("11"))),
            DecCoins::new()
        );
        assert!(a.checked_sub(&a).unwrap().is_empty());
        let p = a.checked_add(&DecCoins::one("uatom", d("1"))).unwrap();
        assert_eq!(DecCoins::from_proto(&p.to_proto()).unwrap(), p);
        assert_eq!(DecCoins::from_coins(&[Coin::new(u128::MAX, "x")]), None);
    }
}
