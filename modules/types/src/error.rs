//! The contract between a module's errors and ABCI results.

/// An error a module returns for a rejected message. Each becomes a non-zero
/// ABCI result code within the module's codespace, plus its log text.
pub trait ModuleError: std::error::Error {
    /// The module's codespace, such as `bank`.
    fn codespace(&self) -> &'static str;
    /// A stable non-zero code for this kind of error within the codespace.
    fn code(&self) -> u32;
}

/// Why a module refused to decode or execute a message. Each variant's
/// text and code are those of the app's transaction error of the same name
/// (the Cosmos SDK's `sdk` codespace), so a message's failure reads the same
/// whichever module reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsgError {
    /// A message's bytes do not decode (SDK code 2).
    #[error("tx parse error: {0}")]
    Decode(String),
    /// A message type no module handles (SDK code 6).
    #[error("unknown message type {0}")]
    UnknownMessage(String),
    /// The signer may not send this message (SDK code 4).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Other malformed content (SDK code 18).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The transaction ran out of gas (SDK code 11).
    #[error("out of gas: gas wanted {limit}, needed at least {needed}")]
    OutOfGas {
        /// Gas limit.
        limit: u64,
        /// Gas the failed operation would have brought the total to.
        needed: u64,
    },
    /// A module refused the message with one of its own errors.
    #[error("{log}")]
    Module {
        /// The module's codespace.
        codespace: &'static str,
        /// The module's code.
        code: u32,
        /// The module's message.
        log: String,
    },
    /// The node's storage failed; the node cannot go on safely.
    #[error("internal storage error: {0}")]
    Internal(String),
}

impl MsgError {
    /// Wraps a module error as its codespace, code and text. Errors that
    /// carry a [`StateError`] should convert that through `From` instead,
    /// so out-of-gas and storage failures stay distinct.
    pub fn module<E: ModuleError>(e: E) -> Self {
        MsgError::Module {
            codespace: e.codespace(),
            code: e.code(),
            log: e.to_string(),
        }
    }
}

impl From<crate::StateError> for MsgError {
    fn from(e: crate::StateError) -> Self {
        match e {
            crate::StateError::OutOfGas { limit, needed } => MsgError::OutOfGas { limit, needed },
            crate::StateError::Storage(s) => MsgError::Internal(s),
        }
    }
}
