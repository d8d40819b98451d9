//! Wallet-compatible keys for DeAI: this crate owns BIP-39 mnemonics, the
//! Cosmos HD derivation (`m/44'/118'/0'/0/0`, so a Cosmos wallet such as
//! Keplr derives the same secp256k1 key and the same `deai1…` address from
//! the same words), and the on-disk keyring behind `deaid keys`.
//!
//! A [`Keyring`] is a directory (mode 0700) holding one JSON file per key
//! (mode 0600), written atomically and never overwritten. Two backends:
//! - [`Backend::File`]: the secret (the mnemonic when known, else the raw
//!   32-byte secret key) is encrypted with a passphrase — scrypt
//!   ([`KdfParams`]) then ChaCha20-Poly1305.
//! - [`Backend::Test`]: the secret is stored **in clear**. It exists for
//!   scripts and CI only; anyone who can read the directory can spend.
//!
//! The address and public key are stored in clear in both, so listing and
//! showing keys needs no passphrase.

mod crypto;
mod error;
mod keyring;
mod mnemonic;

use std::{fmt, str::FromStr};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use deai_types::Address;
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

pub use crate::{
    crypto::KdfParams,
    error::KeyError,
    keyring::{validate_name, Keyring, EXPORT_ARMOR_BEGIN, EXPORT_ARMOR_END},
    mnemonic::{derive_from_mnemonic, generate_mnemonic, normalize_mnemonic, NEW_MNEMONIC_WORDS},
};

/// The Cosmos HD path (coin type 118) every key in this crate is derived along.
pub const HD_PATH: &str = "m/44'/118'/0'/0/0";

/// Where a keyring keeps its secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Secrets encrypted under a passphrase (scrypt + ChaCha20-Poly1305).
    File,
    /// Secrets in clear, for scripts and CI only: insecure by design.
    Test,
}

impl FromStr for Backend {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "file" => Ok(Backend::File),
            "test" => Ok(Backend::Test),
            other => Err(KeyError::UnknownBackend(other.to_string())),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::File => "file",
            Backend::Test => "test",
        })
    }
}

/// The public face of a key: what `keys show` and `keys list` print.
///
/// Serialises as `{"name": …, "address": "deai1…", "pub_key": "<base64 of
/// the 33-byte compressed key>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// The key's name in its keyring.
    pub name: String,
    /// The account address derived from the public key.
    pub address: Address,
    /// The compressed secp256k1 public key.
    #[serde(with = "pub_key_base64")]
    pub pub_key: [u8; 33],
}

impl KeyInfo {
    /// The public information of `key`, under `name`.
    pub fn from_signing_key(name: &str, key: &SigningKey) -> Self {
        let pub_key = compressed_pub_key(key);
        KeyInfo {
            name: name.to_string(),
            address: Address::from_secp256k1_pubkey(&pub_key),
            pub_key,
        }
    }
}

/// The 33-byte compressed public key of `key`.
pub fn compressed_pub_key(key: &SigningKey) -> [u8; 33] {
    let point = key.verifying_key().to_encoded_point(true);
    point
        .as_bytes()
        .try_into()
        .expect("a compressed secp256k1 point is 33 bytes")
}

pub(crate) mod pub_key_base64 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(key: &[u8; 33], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(key))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 33], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = B64.decode(&text).map_err(serde::de::Error::custom)?;
        let len = bytes.len();
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom(format!("pub_key must be 33 bytes, got {len}")))
    }
}
