//! Auth parameters and their validation.

use deai_proto::auth::v1::Params;
use deai_types::{Coin, BASE_DENOM};
use serde::{Deserialize, Serialize};

use crate::AuthError;

/// Largest `max_tx_bytes` governance may set: 4 MiB, well inside a CometBFT
/// block (whose default `max_bytes` is 21 MiB, 100 MiB at most), so every
/// transaction the limit admits fits a block.
pub const MAX_TX_BYTES: u64 = 4 * 1024 * 1024;
/// Smallest `max_tx_bytes`: room for a signed single-message transaction
/// with its public key, fee and a short memo.
pub const MIN_TX_BYTES: u64 = 1_024;
/// Most signatures a transaction may be allowed: each costs a verification
/// before any gas is charged.
pub const MAX_TX_SIG_LIMIT: u64 = 128;
/// Longest memo governance may allow, in characters (inside `MIN_TX_BYTES`
/// would be too tight; memos above this are data, not notes).
pub const MAX_MEMO_CHARACTERS: u64 = 65_536;
/// Most gas governance may let one transaction ask for. CometBFT carries
/// gas as a signed 64-bit number; this keeps one tx's work to seconds.
pub const MAX_TX_GAS: u64 = 10_000_000_000;
/// Smallest `max_tx_gas`: enough for the ante handler and a transfer.
pub const MIN_TX_GAS: u64 = 100_000;

/// The auth parameters, as they appear in genesis JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthParams {
    /// Longest memo, in characters.
    pub max_memo_characters: u64,
    /// Most signatures per transaction.
    pub tx_sig_limit: u64,
    /// Largest transaction, in bytes.
    pub max_tx_bytes: u64,
    /// Most gas one transaction may ask for.
    pub max_tx_gas: u64,
    /// Minimum gas price numerator (fee per gas = num / den).
    pub min_gas_price_num: u64,
    /// Minimum gas price denominator.
    pub min_gas_price_den: u64,
    /// Denomination of fees.
    pub fee_denom: String,
}

impl Default for AuthParams {
    fn default() -> Self {
        AuthParams {
            max_memo_characters: 256,
            tx_sig_limit: 7,
            max_tx_bytes: 1024 * 1024,
            max_tx_gas: 100_000_000,
            // 0.01 udeai per unit of gas.
            min_gas_price_num: 1,
            min_gas_price_den: 100,
            fee_denom: BASE_DENOM.to_string(),
        }
    }
}

impl AuthParams {
    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), AuthError> {
        let bad = |m: String| Err(AuthError::InvalidParams(m));
        for (name, v, min, max) in [
            ("tx_sig_limit", self.tx_sig_limit, 1, MAX_TX_SIG_LIMIT),
            (
                "max_tx_bytes",
                self.max_tx_bytes,
                MIN_TX_BYTES,
                MAX_TX_BYTES,
            ),
            ("max_tx_gas", self.max_tx_gas, MIN_TX_GAS, MAX_TX_GAS),
            (
                "max_memo_characters",
                self.max_memo_characters,
                0,
                MAX_MEMO_CHARACTERS,
            ),
        ] {
            if v < min || v > max {
                return bad(format!("{name} must be between {min} and {max}"));
            }
        }
        if self.max_memo_characters >= self.max_tx_bytes {
            return bad("max_memo_characters must be below max_tx_bytes".into());
        }
        if self.min_gas_price_den == 0 {
            return bad("min_gas_price_den must be non-zero".into());
        }
        Coin::validate_denom(&self.fee_denom)
            .map_err(|e| AuthError::InvalidParams(format!("fee_denom: {e}")))
    }

    /// The smallest fee (in `fee_denom`) accepted for `gas_limit`, rounded up.
    pub fn min_fee(&self, gas_limit: u64) -> u128 {
        let num = u128::from(gas_limit) * u128::from(self.min_gas_price_num);
        let den = u128::from(self.min_gas_price_den.max(1));
        num.div_ceil(den)
    }

    /// The minimum gas price as the Cosmos SDK writes a `DecCoin` (18
    /// decimals, then the denom), such as `0.010000000000000000udeai`,
    /// rounded down in the last place.
    pub fn min_gas_price_text(&self) -> String {
        const SCALE: u128 = 1_000_000_000_000_000_000;
        let den = u128::from(self.min_gas_price_den.max(1));
        let scaled = u128::from(self.min_gas_price_num) * SCALE / den;
        format!(
            "{}.{:018}{}",
            scaled / SCALE,
            scaled % SCALE,
            self.fee_denom
        )
    }

    /// As stored on chain.
    pub fn to_proto(&self) -> Params {
        Params {
            max_memo_characters: self.max_memo_characters,
            tx_sig_limit: self.tx_sig_limit,
            max_tx_bytes: self.max_tx_bytes,
            max_tx_gas: self.max_tx_gas,
            min_gas_price_num: self.min_gas_price_num,
            min_gas_price_den: self.min_gas_price_den,
            fee_denom: self.fee_denom.clone(),
        }
    }

    /// From the stored form.
    pub fn from_proto(p: Params) -> Self {
        AuthParams {
            max_memo_characters: p.max_memo_characters,
            tx_sig_limit: p.tx_sig_limit,
            max_tx_bytes: p.max_tx_bytes,
            max_tx_gas: p.max_tx_gas,
            min_gas_price_num: p.min_gas_price_num,
            min_gas_price_den: p.min_gas_price_den,
            fee_denom: p.fee_denom,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn min_gas_price_reads_as_a_dec_coin() {
        let mut p = super::AuthParams::default();
        assert_eq!(p.min_gas_price_text(), "0.010000000000000000udeai");
        p.min_gas_price_num = 5;
        p.min_gas_price_den = 3;
        assert_eq!(p.min_gas_price_text(), "1.666666666666666666udeai");
    }

    use super::*;

    /// One way to break a valid parameter set.
    type Change = fn(&mut AuthParams);

    #[test]
    fn the_minimum_fee_rounds_up() {
        let p = AuthParams::default();
        assert_eq!(p.min_fee(0), 0);
        assert_eq!(p.min_fee(1), 1);
        assert_eq!(p.min_fee(200_000), 2_000);
        assert_eq!(p.min_fee(200_001), 2_001);
        let odd = AuthParams {
            min_gas_price_num: 3,
            min_gas_price_den: 7,
            ..AuthParams::default()
        };
        assert_eq!(odd.min_fee(10), 5); // 30/7 = 4.29 -> 5
        assert_eq!(
            odd.min_fee(u64::MAX),
            (u128::from(u64::MAX) * 3).div_ceil(7)
        );
    }

    #[test]
    fn every_size_and_count_limit_has_an_upper_and_a_lower_bound() {
        AuthParams::default().validate().unwrap();
        let cases: Vec<(&str, Change)> = vec![
            ("tx bytes above a block", |p: &mut AuthParams| {
                p.max_tx_bytes = u64::MAX
            }),
            ("tx bytes above 4 MiB", |p: &mut AuthParams| {
                p.max_tx_bytes = MAX_TX_BYTES + 1
            }),
            ("tx bytes too small for a tx", |p: &mut AuthParams| {
                p.max_tx_bytes = 128
            }),
            ("tx gas huge", |p: &mut AuthParams| p.max_tx_gas = u64::MAX),
            ("tx gas too small", |p: &mut AuthParams| p.max_tx_gas = 1),
            ("sig limit zero", |p: &mut AuthParams| p.tx_sig_limit = 0),
            ("sig limit huge", |p: &mut AuthParams| {
                p.tx_sig_limit = u64::MAX
            }),
            ("memo huge", |p: &mut AuthParams| {
                p.max_memo_characters = u64::MAX
            }),
        ];
        for (what, change) in cases {
            let mut p = AuthParams::default();
            change(&mut p);
            assert!(p.validate().is_err(), "{what} must be refused");
        }
        let largest = AuthParams {
            max_tx_bytes: MAX_TX_BYTES,
            max_tx_gas: MAX_TX_GAS,
            tx_sig_limit: MAX_TX_SIG_LIMIT,
            max_memo_characters: MAX_MEMO_CHARACTERS,
            ..AuthParams::default()
        };
        largest.validate().unwrap();
    }

    #[test]
    fn a_zero_denominator_is_rejected() {
        let p = AuthParams {
            min_gas_price_den: 0,
            ..AuthParams::default()
        };
        assert!(p.validate().is_err());
    }
}
