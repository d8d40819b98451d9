//! Errors of the IBC module (codespace `ibc`).

use deai_types::ModuleError;

/// Why an IBC operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IbcError {
    /// ibc-rs's handler refused the message (its reason).
    #[error("{0}")]
    Handler(String),
}

impl ModuleError for IbcError {
    fn codespace(&self) -> &'static str {
        crate::MODULE_NAME
    }

    fn code(&self) -> u32 {
        match self {
            IbcError::Handler(_) => 1,
        }
    }
}
