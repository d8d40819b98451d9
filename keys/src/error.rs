//! The one error type of this crate.

use std::{io, path::PathBuf};

use crate::Backend;

/// Everything that can go wrong with keys and keyrings.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key name that is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    #[error("invalid key name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key of this name is already in the keyring; keys are never overwritten.
    #[error("a key named {0:?} already exists (delete it first to replace it)")]
    AlreadyExists(String),
    /// No key of this name is in the keyring.
    #[error("no key named {0:?} in the keyring")]
    NotFound(String),
    /// A backend name other than `file` or `test`.
    #[error("unknown keyring backend {0:?} (expected \"file\" or \"test\")")]
    UnknownBackend(String),
    /// A mnemonic that is not valid English BIP-39.
    #[error("invalid mnemonic: {0}")]
    InvalidMnemonic(String),
    /// HD derivation failed (astronomically unlikely for a valid seed).
    #[error("key derivation along {path} failed: {reason}")]
    Derivation {
        /// The derivation path.
        path: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The `file` backend was used without a passphrase.
    #[error("the file keyring backend needs a passphrase")]
    PassphraseRequired,
    /// An empty passphrase was given to protect a key.
    #[error("the passphrase must not be empty")]
    EmptyPassphrase,
    /// Decryption failed: the passphrase is wrong, or the ciphertext was altered.
    #[error("wrong passphrase (or the encrypted key was tampered with)")]
    WrongPassphrase,
    /// A key was stored by one backend and read through the other.
    #[error("key {name:?} was stored by the {stored} backend but the keyring was opened with the {opened} backend")]
    BackendMismatch {
        /// The key name.
        name: String,
        /// The backend whose format the file is in.
        stored: Backend,
        /// The backend the keyring was opened with.
        opened: Backend,
    },
    /// Scrypt parameters that are invalid or beyond the limits this crate accepts.
    #[error("invalid scrypt parameters: {0}")]
    InvalidKdfParams(String),
    /// A key file that cannot be parsed or is inconsistent with itself.
    #[error("key file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Exported key text that cannot be parsed or is inconsistent with itself.
    #[error("invalid exported key: {0}")]
    InvalidExport(String),
    /// A filesystem operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl KeyError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        KeyError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
