//! Errors of the bank module. Codes follow the Cosmos SDK (`sdk` codespace
//! for the generic ones, `bank` for its own) so wallets show familiar errors.

use deai_types::{CoinError, ModuleError, MsgError, StateError};

/// Why a bank operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// An address field is not a valid `deai…` address.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// A coin list is malformed: empty, zero, unsorted, duplicated or bad denom.
    #[error("invalid coins: {0}")]
    InvalidCoins(String),
    /// The sender does not hold enough.
    #[error("insufficient funds: {address} has {available}{denom}, needs {needed}{denom}")]
    InsufficientFunds {
        /// Who is short.
        address: String,
        /// The denom.
        denom: String,
        /// What they hold.
        available: u128,
        /// What the operation needs.
        needed: u128,
    },
    /// An amount would exceed 2^128.
    #[error("amount overflow in {0}")]
    Overflow(String),
    /// Transfers are disabled by governance.
    #[error("transfers are disabled")]
    SendDisabled,
    /// A multi-send's inputs and outputs do not balance or are malformed.
    #[error("invalid multi-send: {0}")]
    InvalidMultiSend(String),
    /// Parameters out of range.
    #[error("invalid bank params: {0}")]
    InvalidParams(String),
}

impl From<CoinError> for BankError {
    fn from(e: CoinError) -> Self {
        BankError::InvalidCoins(e.to_string())
    }
}

impl ModuleError for BankError {
    fn codespace(&self) -> &'static str {
        match self {
            BankError::SendDisabled | BankError::InvalidMultiSend(_) => "bank",
            _ => "sdk",
        }
    }

    fn code(&self) -> u32 {
        match self {
            BankError::State(StateError::OutOfGas { .. }) => 11,
            BankError::State(StateError::Storage(_)) => 1,
            BankError::InvalidAddress(_) => 7,
            BankError::InvalidCoins(_) => 10,
            BankError::InsufficientFunds { .. } => 5,
            BankError::Overflow(_) => 10,
            BankError::SendDisabled => 5,
            BankError::InvalidMultiSend(_) => 4,
            BankError::InvalidParams(_) => 18,
        }
    }
}

impl From<BankError> for MsgError {
    fn from(e: BankError) -> Self {
        match e {
            BankError::State(s) => s.into(),
            other => MsgError::module(other),
        }
    }
}
