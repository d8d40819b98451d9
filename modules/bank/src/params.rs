//! Bank parameters and their validation.

use deai_proto::bank::v1::Params;
use serde::{Deserialize, Serialize};

use crate::BankError;

/// Most outputs governance may allow in one `MsgMultiSend`: each output is
/// a balance write, and a tx must stay small enough for one block.
pub const MAX_MULTI_SEND_OUTPUTS: u64 = 10_000;

/// The bank parameters, as they appear in genesis JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankParams {
    /// Whether transfers are enabled.
    pub send_enabled: bool,
    /// Most outputs in one `MsgMultiSend`.
    pub max_multi_send_outputs: u64,
}

impl Default for BankParams {
    fn default() -> Self {
        BankParams {
            send_enabled: true,
            max_multi_send_outputs: 100,
        }
    }
}

impl BankParams {
    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), BankError> {
        if self.max_multi_send_outputs == 0 || self.max_multi_send_outputs > MAX_MULTI_SEND_OUTPUTS
        {
            return Err(BankError::InvalidParams(format!(
                "max_multi_send_outputs must be between 1 and {MAX_MULTI_SEND_OUTPUTS}"
            )));
        }
        Ok(())
    }

    /// As stored on chain.
    pub fn to_proto(&self) -> Params {
        Params {
            send_enabled: self.send_enabled,
            max_multi_send_outputs: self.max_multi_send_outputs,
        }
    }

    /// From the stored form.
    pub fn from_proto(p: Params) -> Self {
        BankParams {
            send_enabled: p.send_enabled,
            max_multi_send_outputs: p.max_multi_send_outputs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_multi_send_outputs_has_an_upper_and_a_lower_bound() {
        BankParams::default().validate().unwrap();
        for bad in [0, MAX_MULTI_SEND_OUTPUTS + 1, u64::MAX] {
            let p = BankParams {
                max_multi_send_outputs: bad,
                ..BankParams::default()
            };
            assert!(p.validate().is_err(), "{bad} must be refused");
        }
        let most = BankParams {
            max_multi_send_outputs: MAX_MULTI_SEND_OUTPUTS,
            ..BankParams::default()
        };
        most.validate().unwrap();
    }
}
