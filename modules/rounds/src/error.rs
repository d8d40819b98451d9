//! Errors of the rounds module (codespace `rounds`).

use deai_types::{ModuleError, MsgError, StateError};

/// Why a rounds operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoundsError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A field is malformed or out of its bounds.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The signer may not do this (not governance, not a bonded provider, not joined).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// No such round or model version.
    #[error("not found: {0}")]
    NotFound(String),
    /// The message came outside the window the round accepts it in.
    #[error("wrong phase: {0}")]
    WrongPhase(String),
    /// The contributor already joined or submitted.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// A revealed seed does not match the commitment posted with the update.
    #[error("seed does not match its commitment: {0}")]
    BadSeed(String),
    /// A money operation failed (bank refusal, overflow).
    #[error("funds: {0}")]
    Funds(String),
    /// The module's own records are inconsistent: the node must stop.
    #[error("corrupt rounds state: {0}")]
    Corrupt(String),
}

impl ModuleError for RoundsError {
    fn codespace(&self) -> &'static str {
        "rounds"
    }

    fn code(&self) -> u32 {
        match self {
            RoundsError::State(_) => 1,
            RoundsError::Invalid(_) => 2,
            RoundsError::Unauthorized(_) => 3,
            RoundsError::NotFound(_) => 4,
            RoundsError::WrongPhase(_) => 5,
            RoundsError::Duplicate(_) => 6,
            RoundsError::BadSeed(_) => 7,
            RoundsError::Funds(_) => 8,
            RoundsError::Corrupt(_) => 9,
        }
    }
}

impl From<RoundsError> for MsgError {
    fn from(e: RoundsError) -> Self {
        match e {
            RoundsError::State(s) => s.into(),
            RoundsError::Corrupt(s) => MsgError::Internal(s),
            other => MsgError::module(other),
        }
    }
}
