//! Errors of the auth module. Codes follow the Cosmos SDK's `sdk` codespace
//! where one exists, so wallets show familiar messages.

use deai_types::{ModuleError, MsgError, StateError};

/// Why an auth operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A public key is not a valid compressed secp256k1 key.
    #[error("invalid public key: {0}")]
    InvalidPubKey(String),
    /// The public key does not hash to the account's address.
    #[error("public key does not belong to address {0}")]
    PubKeyMismatch(String),
    /// The account number counter would overflow.
    #[error("account number overflow")]
    AccountNumberOverflow,
    /// The sequence would overflow.
    #[error("sequence overflow for {0}")]
    SequenceOverflow(String),
    /// Parameters out of range.
    #[error("invalid auth params: {0}")]
    InvalidParams(String),
}

impl ModuleError for AuthError {
    fn codespace(&self) -> &'static str {
        "sdk"
    }

    fn code(&self) -> u32 {
        match self {
            AuthError::State(StateError::OutOfGas { .. }) => 11,
            AuthError::State(StateError::Storage(_)) => 1,
            AuthError::InvalidPubKey(_) | AuthError::PubKeyMismatch(_) => 8,
            AuthError::AccountNumberOverflow | AuthError::SequenceOverflow(_) => 1,
            AuthError::InvalidParams(_) => 18,
        }
    }
}

impl From<AuthError> for MsgError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::State(s) => s.into(),
            other => MsgError::module(other),
        }
    }
}
