//! Errors of the mint module (codespace `mint`; the SDK's x/mint registers
//! no codes of its own, so these are ours).

use deai_bank::BankError;
use deai_types::{ModuleError, MsgError, QueryError, StateError};

/// Why a mint operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A bank operation failed.
    #[error(transparent)]
    Bank(#[from] BankError),
    /// A stored record does not decode: the node's state is damaged.
    #[error("corrupt mint record: {0}")]
    Corrupt(String),
    /// Parameters (or the genesis minter) out of range.
    #[error("invalid mint params: {0}")]
    InvalidParams(String),
}

impl ModuleError for MintError {
    fn codespace(&self) -> &'static str {
        match self {
            MintError::State(e) => BankError::State(e.clone()).codespace(),
            MintError::Bank(e) => e.codespace(),
            _ => crate::MODULE_NAME,
        }
    }

    fn code(&self) -> u32 {
        match self {
            MintError::State(e) => BankError::State(e.clone()).code(),
            MintError::Bank(e) => e.code(),
            MintError::Corrupt(_) => 1,
            MintError::InvalidParams(_) => 2,
        }
    }
}

impl From<MintError> for MsgError {
    fn from(e: MintError) -> Self {
        match e {
            MintError::State(s) => s.into(),
            MintError::Bank(b) => b.into(),
            MintError::Corrupt(c) => MsgError::Internal(c),
            other => MsgError::module(other),
        }
    }
}

impl From<MintError> for QueryError {
    fn from(e: MintError) -> Self {
        QueryError::from_module(&e)
    }
}
