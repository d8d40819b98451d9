//! Transaction errors and their ABCI codes. Codes follow the Cosmos SDK's
//! `sdk` codespace, so wallets and CosmJS report them as they would for any
//! Cosmos chain; module errors keep their own codespace and code.

use deai_types::{ModuleError, MsgError, StateError};

/// Why a transaction was rejected or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes are not a valid `TxRaw`, or a part of it does not decode.
    #[error("tx parse error: {0}")]
    Decode(String),
    /// A message type this chain does not know.
    #[error("unknown message type {0}")]
    UnknownMessage(String),
    /// The transaction is bigger than `max_tx_bytes`.
    #[error("tx too large: {size} bytes, max {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: u64,
    },
    /// Malformed signer information, a bad signature, or a message its signer may not send.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The public key is not a compressed secp256k1 key.
    #[error("invalid pubkey: {0}")]
    InvalidPubKey(String),
    /// The signer's sequence does not match the account's.
    #[error(
        "account sequence mismatch, expected {expected}, got {got}: incorrect account sequence"
    )]
    WrongSequence {
        /// What the account is at.
        expected: u64,
        /// What the tx carried.
        got: u64,
    },
    /// The signer has no account yet (it never received tokens).
    #[error("account {0} not found: it must receive tokens before it can sign")]
    UnknownAddress(String),
    /// The fee is below the minimum for the gas limit, or in the wrong denom.
    #[error("insufficient fee: {0}")]
    InsufficientFee(String),
    /// The fee payer cannot pay the fee.
    #[error("insufficient funds to pay the fee: {0}")]
    InsufficientFunds(String),
    /// The memo is too long.
    #[error("memo too large: {len} characters, max {max}")]
    MemoTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: u64,
    },
    /// The gas limit is zero or above the maximum.
    #[error("invalid gas limit: {0}")]
    InvalidGasLimit(String),
    /// The transaction's timeout height has passed.
    #[error("tx timeout height {timeout} is below the block height {height}")]
    TimedOut {
        /// The tx's timeout height.
        timeout: u64,
        /// The current height.
        height: u64,
    },
    /// The transaction ran out of gas.
    #[error("out of gas: gas wanted {limit}, needed at least {needed}")]
    OutOfGas {
        /// Gas limit.
        limit: u64,
        /// Gas the failed operation would have brought the total to.
        needed: u64,
    },
    /// Other malformed content (SDK code 18).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A module refused a message.
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

impl TxError {
    /// Wraps a module error, keeping out-of-gas and storage failures distinct.
    pub fn module<E: ModuleError>(e: E) -> Self {
        TxError::Module {
            codespace: e.codespace(),
            code: e.code(),
            log: e.to_string(),
        }
    }

    /// The ABCI codespace.
    pub fn codespace(&self) -> &'static str {
        match self {
            TxError::Module { codespace, .. } => codespace,
            _ => "sdk",
        }
    }

    /// The non-zero ABCI code.
    pub fn code(&self) -> u32 {
        match self {
            TxError::Decode(_) => 2,
            TxError::UnknownMessage(_) => 6,
            TxError::TooLarge { .. } => 21,
            TxError::Unauthorized(_) => 4,
            TxError::InvalidPubKey(_) => 8,
            TxError::WrongSequence { .. } => 32,
            TxError::UnknownAddress(_) => 9,
            TxError::InsufficientFee(_) => 13,
            TxError::InsufficientFunds(_) => 5,
            TxError::MemoTooLarge { .. } => 12,
            TxError::InvalidGasLimit(_) => 41,
            TxError::TimedOut { .. } => 30,
            TxError::OutOfGas { .. } => 11,
            TxError::InvalidRequest(_) => 18,
            TxError::Module { code, .. } => *code,
            TxError::Internal(_) => 1,
        }
    }
}

impl From<StateError> for TxError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::OutOfGas { limit, needed } => TxError::OutOfGas { limit, needed },
            StateError::Storage(s) => TxError::Internal(s),
        }
    }
}

impl From<MsgError> for TxError {
    fn from(e: MsgError) -> Self {
        match e {
            MsgError::Decode(s) => TxError::Decode(s),
            MsgError::UnknownMessage(s) => TxError::UnknownMessage(s),
            MsgError::Unauthorized(s) => TxError::Unauthorized(s),
            MsgError::InvalidRequest(s) => TxError::InvalidRequest(s),
            MsgError::OutOfGas { limit, needed } => TxError::OutOfGas { limit, needed },
            MsgError::Module {
                codespace,
                code,
                log,
            } => TxError::Module {
                codespace,
                code,
                log,
            },
            MsgError::Internal(s) => TxError::Internal(s),
        }
    }
}

impl From<deai_bank::BankError> for TxError {
    fn from(e: deai_bank::BankError) -> Self {
        MsgError::from(e).into()
    }
}

impl From<deai_auth::AuthError> for TxError {
    fn from(e: deai_auth::AuthError) -> Self {
        MsgError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_error_reads_and_codes_as_the_tx_error_it_becomes() {
        let module = MsgError::module(deai_bank::BankError::SendDisabled);
        for e in [
            MsgError::Decode("x: bad".into()),
            MsgError::UnknownMessage("/x.Y".into()),
            MsgError::Unauthorized("no".into()),
            MsgError::InvalidRequest("bad".into()),
            MsgError::OutOfGas {
                limit: 1,
                needed: 2,
            },
            module,
            MsgError::Internal("disk".into()),
        ] {
            let text = e.to_string();
            assert_eq!(TxError::from(e).to_string(), text);
        }
        let codes: Vec<(u32, &str)> = [
            MsgError::Decode(String::new()),
            MsgError::UnknownMessage(String::new()),
            MsgError::Unauthorized(String::new()),
            MsgError::InvalidRequest(String::new()),
            MsgError::OutOfGas {
                limit: 0,
                needed: 0,
            },
            MsgError::module(deai_bank::BankError::SendDisabled),
            MsgError::Internal(String::new()),
        ]
        .into_iter()
        .map(TxError::from)
        .map(|e| (e.code(), e.codespace()))
        .collect();
        assert_eq!(
            codes,
            [
                (2, "sdk"),
                (6, "sdk"),
                (4, "sdk"),
                (18, "sdk"),
                (11, "sdk"),
                (5, "bank"),
                (1, "sdk")
            ]
        );
    }
}
