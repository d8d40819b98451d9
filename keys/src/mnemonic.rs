//! BIP-39 mnemonics (English) and Cosmos HD derivation.

use bip32::{DerivationPath, XPrv};
use bip39::{Language, Mnemonic};
use k256::ecdsa::SigningKey;
use rand::{rngs::OsRng, RngCore};
use zeroize::Zeroizing;

use crate::{KeyError, HD_PATH};

/// Words in a freshly generated mnemonic (256 bits of entropy).
pub const NEW_MNEMONIC_WORDS: usize = 24;

/// A new random 24-word English mnemonic, from the operating system's RNG.
pub fn generate_mnemonic() -> Zeroizing<String> {
    let mut entropy = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(entropy.as_mut());
    let mnemonic = Mnemonic::from_entropy_in(Language::English, entropy.as_ref())
        .expect("32 bytes is a valid BIP-39 entropy length");
    Zeroizing::new(mnemonic.to_string())
}

/// Parses a mnemonic, tolerating extra whitespace and capitals, and returns it
/// in canonical form (lowercase words separated by single spaces).
pub fn normalize_mnemonic(mnemonic: &str) -> Result<Zeroizing<String>, KeyError> {
    let words: Vec<Zeroizing<String>> = mnemonic
        .split_whitespace()
        .map(|w| Zeroizing::new(w.to_lowercase()))
        .collect();
    let joined = Zeroizing::new(
        words
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let parsed = Mnemonic::parse_in(Language::English, joined.as_str()).map_err(|e| {
        KeyError::InvalidMnemonic(match e {
            bip39::Error::BadWordCount(n) => {
                format!("it has {n} words; a mnemonic has 12, 15, 18, 21 or 24")
            }
            bip39::Error::UnknownWord(i) => format!(
                "word {} ({:?}) is not in the English BIP-39 word list",
                i.saturating_add(1),
                words.get(i).map(|w| w.as_str()).unwrap_or_default()
            ),
            bip39::Error::InvalidChecksum => {
                "the checksum does not match (a word is mistyped, missing or out of order)"
                    .to_string()
            }
            other => other.to_string(),
        })
    })?;
    Ok(Zeroizing::new(parsed.to_string()))
}

/// The secp256k1 signing key a Cosmos wallet derives from `mnemonic` (and an
/// optional BIP-39 passphrase, the "25th word"; pass `""` for none) along
/// [`HD_PATH`].
pub fn derive_from_mnemonic(
    mnemonic: &str,
    bip39_passphrase: &str,
) -> Result<SigningKey, KeyError> {
    let canonical = normalize_mnemonic(mnemonic)?;
    let parsed = Mnemonic::parse_in(Language::English, canonical.as_str())
        .map_err(|e| KeyError::InvalidMnemonic(e.to_string()))?;
    let seed = Zeroizing::new(parsed.to_seed(bip39_passphrase));
    derive_from_seed(seed.as_ref())
}

fn derive_from_seed(seed: &[u8]) -> Result<SigningKey, KeyError> {
    let derivation_error = |e: bip32::Error| KeyError::Derivation {
        path: HD_PATH,
        reason: e.to_string(),
    };
    let path: DerivationPath = HD_PATH.parse().map_err(derivation_error)?;
    let xprv = XPrv::derive_from_path(seed, &path).map_err(derivation_error)?;
    Ok(xprv.private_key().clone())
}
