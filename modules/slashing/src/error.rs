//! Errors of the slashing module (codespace `slashing`, codes as the Cosmos
//! SDK's x/slashing).

use deai_staking::StakingError;
use deai_types::{ModuleError, MsgError, QueryError, StateError};

/// Why a slashing operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlashingError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A staking operation failed.
    #[error(transparent)]
    Staking(#[from] StakingError),
    /// A stored record does not decode: the node's state is damaged.
    #[error("corrupt slashing record: {0}")]
    Corrupt(String),
    /// A malformed message or query field.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// No validator has that address.
    #[error("validator {0} does not exist")]
    NoValidator(String),
    /// The validator is not jailed.
    #[error("validator {0} is not jailed")]
    NotJailed(String),
    /// The jail time has not passed.
    #[error("validator {validator} is jailed until {until}")]
    StillJailed {
        /// The validator.
        validator: String,
        /// When it may unjail.
        until: String,
    },
    /// The validator double-signed: it can never unjail.
    #[error("validator {0} is tombstoned for double-signing and can never unjail")]
    Tombstoned(String),
    /// Parameters out of range.
    #[error("invalid slashing params: {0}")]
    InvalidParams(String),
}

impl ModuleError for SlashingError {
    fn codespace(&self) -> &'static str {
        match self {
            SlashingError::State(e) => StakingError::State(e.clone()).codespace(),
            SlashingError::Staking(e) => e.codespace(),
            _ => crate::MODULE_NAME,
        }
    }

    fn code(&self) -> u32 {
        match self {
            SlashingError::State(e) => StakingError::State(e.clone()).code(),
            SlashingError::Staking(e) => e.code(),
            SlashingError::Corrupt(_) => 1,
            SlashingError::Invalid(_) => 2,
            SlashingError::NoValidator(_) => 3,
            SlashingError::NotJailed(_) => 5,
            SlashingError::StillJailed { .. } => 6,
            SlashingError::Tombstoned(_) => 8,
            SlashingError::InvalidParams(_) => 9,
        }
    }
}

impl From<SlashingError> for MsgError {
    fn from(e: SlashingError) -> Self {
        match e {
            SlashingError::State(s) => s.into(),
            SlashingError::Staking(s) => s.into(),
            SlashingError::Corrupt(c) => MsgError::Internal(c),
            other => MsgError::module(other),
        }
    }
}

impl From<SlashingError> for QueryError {
    fn from(e: SlashingError) -> Self {
        match e {
            SlashingError::Invalid(m) => QueryError::invalid(m),
            other => QueryError::from_module(&other),
        }
    }
}
