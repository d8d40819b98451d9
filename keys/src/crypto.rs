//! Passphrase encryption of key secrets: scrypt to stretch the passphrase into
//! a key, ChaCha20-Poly1305 to encrypt and authenticate.
//!
//! The AEAD's associated data binds each ciphertext to its purpose and to the
//! key's address, so a ciphertext moved into another key file fails to open
//! instead of yielding someone else's secret.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    ChaCha20Poly1305, Key, Nonce,
};
use rand::{rngs::OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::KeyError;

/// The largest scrypt working memory (128 · r · 2^log_n bytes) this crate
/// will use, so a hostile key file cannot make us allocate without bound.
const MAX_KDF_MEMORY: u64 = 1 << 30;
/// The most scrypt lanes this crate will run.
const MAX_KDF_P: u32 = 16;

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "chacha20-poly1305";

/// Scrypt cost parameters for the `file` backend and for exports.
///
/// The default, `log_n = 15, r = 8, p = 1`, uses 32 MiB and about a tenth of
/// a second per encryption or decryption on a current CPU: a brute-force
/// guesser pays the same for every guess. Tests use
/// [`KdfParams::insecure_fast`] to stay quick. The parameters are stored
/// beside each ciphertext, so keys written with one setting open under any
/// other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// log2 of the CPU/memory cost N.
    pub log_n: u8,
    /// Block size r.
    pub r: u32,
    /// Parallelism p.
    pub p: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            log_n: 15,
            r: 8,
            p: 1,
        }
    }
}

impl KdfParams {
    /// Very cheap parameters (256 KiB, well under a millisecond): for tests only.
    pub fn insecure_fast() -> Self {
        KdfParams {
            log_n: 8,
            r: 8,
            p: 1,
        }
    }

    /// Checks the parameters are valid for scrypt and within this crate's limits.
    pub fn validate(&self) -> Result<scrypt::Params, KeyError> {
        let invalid = |why: String| KeyError::InvalidKdfParams(why);
        if self.log_n == 0 || self.log_n >= 64 {
            return Err(invalid(format!("log_n {} is out of range", self.log_n)));
        }
        if self.p == 0 || self.p > MAX_KDF_P {
            return Err(invalid(format!("p {} is not in 1..={MAX_KDF_P}", self.p)));
        }
        let memory = 128u64
            .checked_mul(u64::from(self.r))
            .and_then(|m| m.checked_mul(1u64.checked_shl(u32::from(self.log_n))?));
        match memory {
            Some(m) if m <= MAX_KDF_MEMORY => {}
            _ => {
                return Err(invalid(format!(
                    "128 * r * 2^log_n exceeds {MAX_KDF_MEMORY} bytes (log_n {}, r {})",
                    self.log_n, self.r
                )))
            }
        }
        scrypt::Params::new(self.log_n, self.r, self.p, 32).map_err(|e| invalid(e.to_string()))
    }
}

/// A secret encrypted under a passphrase, with everything needed to decrypt
/// it except the passphrase.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sealed {
    kdf: String,
    kdf_params: KdfParams,
    /// Base64, 32 random bytes.
    salt: String,
    cipher: String,
    /// Base64, 12 random bytes.
    nonce: String,
    /// Base64, ciphertext followed by the 16-byte tag.
    ciphertext: String,
}

fn stretch(
    passphrase: &str,
    salt: &[u8],
    params: &KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let scrypt_params = params.validate()?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase.as_bytes(), salt, &scrypt_params, key.as_mut())
        .map_err(|e| KeyError::InvalidKdfParams(e.to_string()))?;
    Ok(key)
}

impl Sealed {
    /// Encrypts `plaintext` under `passphrase`, authenticating `aad` with it.
    pub(crate) fn seal(
        plaintext: &[u8],
        passphrase: &str,
        aad: &[u8],
        params: &KdfParams,
    ) -> Result<Sealed, KeyError> {
        let mut salt = [0u8; 32];
        OsRng.fill_bytes(&mut salt);
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let key = stretch(passphrase, &salt, params)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("ChaCha20-Poly1305 encrypts any message under 256 GiB");
        Ok(Sealed {
            kdf: KDF_NAME.to_string(),
            kdf_params: *params,
            salt: B64.encode(salt),
            cipher: CIPHER_NAME.to_string(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(ciphertext),
        })
    }

    /// Decrypts with `passphrase`; `Err(WrongPassphrase)` if the passphrase
    /// or `aad` differ from sealing time or anything was altered.
    /// Malformed fields are reported through `malformed`.
    pub(crate) fn open(
        &self,
        passphrase: &str,
        aad: &[u8],
        malformed: impl Fn(String) -> KeyError,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if self.kdf != KDF_NAME {
            return Err(malformed(format!("unsupported kdf {:?}", self.kdf)));
        }
        if self.cipher != CIPHER_NAME {
            return Err(malformed(format!("unsupported cipher {:?}", self.cipher)));
        }
        let salt = B64
            .decode(&self.salt)
            .map_err(|e| malformed(format!("salt: {e}")))?;
        let nonce: [u8; 12] = B64
            .decode(&self.nonce)
            .map_err(|e| malformed(format!("nonce: {e}")))?
            .try_into()
            .map_err(|_| malformed("nonce is not 12 bytes".to_string()))?;
        let ciphertext = B64
            .decode(&self.ciphertext)
            .map_err(|e| malformed(format!("ciphertext: {e}")))?;
        let key = stretch(passphrase, &salt, &self.kdf_params)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyError::WrongPassphrase)
    }
}
