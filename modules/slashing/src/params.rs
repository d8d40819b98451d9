//! Slashing parameters: the Cosmos SDK's, with its defaults, and bounds the
//! module can run with whatever governance sets.

use cosmos_sdk_proto::cosmos::slashing::v1beta1 as sdk;
use deai_staking::dec::Dec;
use serde::{Deserialize, Serialize};
use tendermint_proto::google::protobuf::Duration;

use crate::SlashingError;

/// Longest signing window: each validator keeps at most this many
/// missed-block marks.
pub const MAX_WINDOW: u64 = 100_000;
/// Longest downtime jail: a year.
pub const MAX_JAIL_SECONDS: u64 = 365 * 24 * 3600;

/// The slashing parameters, as genesis JSON writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlashingParams {
    /// The blocks over which liveness is counted.
    pub signed_blocks_window: u64,
    /// The share of the window a validator must sign, e.g. `"0.5"`.
    pub min_signed_per_window: String,
    /// How long a validator that missed too many blocks stays jailed, in seconds.
    pub downtime_jail_duration_seconds: u64,
    /// The share of stake taken for signing two blocks at one height, e.g. `"0.05"`.
    pub slash_fraction_double_sign: String,
    /// The share of stake taken for missing too many blocks, e.g. `"0.01"`.
    pub slash_fraction_downtime: String,
}

impl Default for SlashingParams {
    /// The Cosmos SDK's defaults.
    fn default() -> Self {
        SlashingParams {
            signed_blocks_window: 100,
            min_signed_per_window: "0.5".into(),
            downtime_jail_duration_seconds: 600,
            slash_fraction_double_sign: "0.05".into(),
            slash_fraction_downtime: "0.01".into(),
        }
    }
}

fn dec(field: &str, s: &str) -> Result<Dec, SlashingError> {
    let d =
        Dec::parse_human(s).map_err(|e| SlashingError::InvalidParams(format!("{field}: {e}")))?;
    if d > Dec::ONE {
        return Err(SlashingError::InvalidParams(format!(
            "{field} must be at most 1"
        )));
    }
    Ok(d)
}

/// `d` in its shortest human form (`0.05`, `1`, `0`).
fn human(d: Dec) -> String {
    let s = d.to_string();
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl SlashingParams {
    /// The minimum signed share.
    pub fn min_signed(&self) -> Result<Dec, SlashingError> {
        dec("min_signed_per_window", &self.min_signed_per_window)
    }

    /// The double-sign fraction.
    pub fn double_sign_fraction(&self) -> Result<Dec, SlashingError> {
        dec(
            "slash_fraction_double_sign",
            &self.slash_fraction_double_sign,
        )
    }

    /// The downtime fraction.
    pub fn downtime_fraction(&self) -> Result<Dec, SlashingError> {
        dec("slash_fraction_downtime", &self.slash_fraction_downtime)
    }

    /// The most blocks a validator may miss in a window: the window less
    /// the share it must sign (rounded down, as the SDK does).
    pub fn max_missed(&self) -> Result<u64, SlashingError> {
        let must_sign = self
            .min_signed()?
            .mul_int_floor(u128::from(self.signed_blocks_window))
            .unwrap_or(0);
        Ok(self
            .signed_blocks_window
            .saturating_sub(u64::try_from(must_sign).unwrap_or(u64::MAX)))
    }

    /// Checks every bound.
    pub fn validate(&self) -> Result<(), SlashingError> {
        if self.signed_blocks_window == 0 || self.signed_blocks_window > MAX_WINDOW {
            return Err(SlashingError::InvalidParams(format!(
                "signed_blocks_window must be 1 to {MAX_WINDOW}"
            )));
        }
        if self.downtime_jail_duration_seconds > MAX_JAIL_SECONDS {
            return Err(SlashingError::InvalidParams(format!(
                "downtime_jail_duration_seconds must be at most {MAX_JAIL_SECONDS}"
            )));
        }
        self.min_signed()?;
        self.double_sign_fraction()?;
        self.downtime_fraction()?;
        Ok(())
    }

    /// The SDK's message: decimals are their atomics as text, in bytes, as
    /// the SDK's gogoproto encoding writes a `LegacyDec` in a `bytes` field.
    pub fn to_proto(&self) -> sdk::Params {
        let b = |d: Result<Dec, SlashingError>| {
            d.map(|d| d.to_proto().into_bytes()).unwrap_or_default()
        };
        sdk::Params {
            signed_blocks_window: i64::try_from(self.signed_blocks_window).unwrap_or(i64::MAX),
            min_signed_per_window: b(self.min_signed()),
            downtime_jail_duration: Some(Duration {
                seconds: i64::try_from(self.downtime_jail_duration_seconds).unwrap_or(i64::MAX),
                nanos: 0,
            }),
            slash_fraction_double_sign: b(self.double_sign_fraction()),
            slash_fraction_downtime: b(self.downtime_fraction()),
        }
    }

    /// Reads the SDK's message (unchecked: call [`SlashingParams::validate`]).
    pub fn from_proto(p: &sdk::Params) -> Result<Self, SlashingError> {
        let d = |field: &str, b: &[u8]| -> Result<String, SlashingError> {
            let s = std::str::from_utf8(b)
                .map_err(|_| SlashingError::InvalidParams(format!("{field} is not text")))?;
            Ok(human(Dec::from_proto(s).map_err(|e| {
                SlashingError::InvalidParams(format!("{field}: {e}"))
            })?))
        };
        let jail = p
            .downtime_jail_duration
            .as_ref()
            .ok_or_else(|| SlashingError::InvalidParams("downtime_jail_duration missing".into()))?;
        if jail.nanos != 0 {
            return Err(SlashingError::InvalidParams(
                "downtime_jail_duration must be whole seconds".into(),
            ));
        }
        Ok(SlashingParams {
            signed_blocks_window: u64::try_from(p.signed_blocks_window).map_err(|_| {
                SlashingError::InvalidParams("signed_blocks_window must be positive".into())
            })?,
            min_signed_per_window: d("min_signed_per_window", &p.min_signed_per_window)?,
            downtime_jail_duration_seconds: u64::try_from(jail.seconds).map_err(|_| {
                SlashingError::InvalidParams("downtime_jail_duration must be positive".into())
            })?,
            slash_fraction_double_sign: d(
                "slash_fraction_double_sign",
                &p.slash_fraction_double_sign,
            )?,
            slash_fraction_downtime: d("slash_fraction_downtime", &p.slash_fraction_downtime)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_sdks_and_round_trip() {
        let p = SlashingParams::default();
        p.validate().unwrap();
        assert_eq!(p.max_missed().unwrap(), 50);
        let proto = p.to_proto();
        assert_eq!(proto.min_signed_per_window, b"500000000000000000");
        assert_eq!(SlashingParams::from_proto(&proto).unwrap(), p);
    }

    #[test]
    fn out_of_bounds_params_are_refused() {
        type Edit = fn(&mut SlashingParams);
        let cases: [(&str, Edit); 5] = [
            ("signed_blocks_window", |p| p.signed_blocks_window = 0),
            ("signed_blocks_window", |p| {
                p.signed_blocks_window = MAX_WINDOW + 1
            }),
            ("min_signed_per_window", |p| {
                p.min_signed_per_window = "1.1".into()
            }),
            ("slash_fraction_downtime", |p| {
                p.slash_fraction_downtime = "-1".into()
            }),
            ("downtime_jail_duration", |p| {
                p.downtime_jail_duration_seconds = MAX_JAIL_SECONDS + 1
            }),
        ];
        for (field, edit) in cases {
            let mut p = SlashingParams::default();
            edit(&mut p);
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}
