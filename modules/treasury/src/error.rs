//! Errors of the treasury module (codespace `treasury`).

use deai_bank::BankError;
use deai_types::{ModuleError, MsgError, StateError};

/// Why a treasury operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreasuryError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A bank operation failed (insufficient funds among them).
    #[error(transparent)]
    Bank(#[from] BankError),
    /// The message's authority is not the governance module account.
    #[error(
        "unauthorized: only the governance module account ({expected}) may do this, not {got}"
    )]
    Unauthorized {
        /// The governance module account.
        expected: String,
        /// Who asked.
        got: String,
    },
    /// An address field is not a valid `deai…` address.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// A malformed message field.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The treasury does not hold enough.
    #[error("the treasury holds {available}{denom}, the spend needs {needed}{denom}")]
    InsufficientFunds {
        /// The denom.
        denom: String,
        /// What the treasury holds.
        available: u128,
        /// What was asked.
        needed: u128,
    },
    /// The spend would pass the epoch's cap.
    #[error("spend cap: {denom} spent this epoch {spent} + {asked} > cap {cap}")]
    CapExceeded {
        /// The denom.
        denom: String,
        /// Already paid out this epoch.
        spent: u128,
        /// This spend.
        asked: u128,
        /// The cap.
        cap: u128,
    },
    /// No stream has that id.
    #[error("stream {0} not found")]
    StreamNotFound(u64),
    /// The stream is no longer active.
    #[error("stream {id} is {status}, not active")]
    StreamNotActive {
        /// The stream.
        id: u64,
        /// Its status.
        status: String,
    },
    /// Too many active streams.
    #[error("already {0} active streams, the most allowed")]
    TooManyStreams(u64),
    /// Parameters out of range.
    #[error("invalid treasury params: {0}")]
    InvalidParams(String),
}

impl ModuleError for TreasuryError {
    fn codespace(&self) -> &'static str {
        match self {
            TreasuryError::State(e) => deai_bank::BankError::State(e.clone()).codespace(),
            TreasuryError::Bank(e) => e.codespace(),
            _ => "treasury",
        }
    }

    fn code(&self) -> u32 {
        match self {
            TreasuryError::State(e) => deai_bank::BankError::State(e.clone()).code(),
            TreasuryError::Bank(e) => e.code(),
            TreasuryError::Unauthorized { .. } => 2,
            TreasuryError::InvalidAddress(_) => 3,
            TreasuryError::Invalid(_) => 4,
            TreasuryError::InsufficientFunds { .. } => 5,
            TreasuryError::CapExceeded { .. } => 6,
            TreasuryError::StreamNotFound(_) => 7,
            TreasuryError::StreamNotActive { .. } => 8,
            TreasuryError::TooManyStreams(_) => 9,
            TreasuryError::InvalidParams(_) => 10,
        }
    }
}

impl From<TreasuryError> for MsgError {
    fn from(e: TreasuryError) -> Self {
        match e {
            TreasuryError::State(s) => s.into(),
            TreasuryError::Bank(b) => b.into(),
            other => MsgError::module(other),
        }
    }
}
