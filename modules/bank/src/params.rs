//! Bank parameters and their validation.

use deai_proto::bank::v1::Params;
use serde::{Deserialize, Serialize};

use crate::BankError;

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
        if self.max_multi_send_outputs == 0 {
            return Err(BankError::InvalidParams(
                "max_multi_send_outputs must be at least 1".into(),
            ));
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
