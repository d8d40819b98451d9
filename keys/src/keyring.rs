//! The keyring directory: one JSON file per key, `<name>.json`.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use deai_types::Address;
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::{
    compressed_pub_key,
    crypto::{KdfParams, Sealed},
    derive_from_mnemonic, generate_mnemonic, normalize_mnemonic, Backend, KeyError, KeyInfo,
};

/// The version of the key-file and export formats this crate writes and reads.
const FORMAT_VERSION: u32 = 1;
/// The longest key name.
const MAX_NAME_LEN: usize = 64;
/// The first line of exported key text.
pub const EXPORT_ARMOR_BEGIN: &str = "-----BEGIN DEAI PRIVATE KEY-----";
/// The last line of exported key text.
pub const EXPORT_ARMOR_END: &str = "-----END DEAI PRIVATE KEY-----";
const EXPORT_FORMAT: &str = "deai-key-export";

/// The secret behind a key, as encrypted (file backend) or stored in clear
/// (test backend) and as exported.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Secret {
    /// A BIP-39 mnemonic (canonical form) and the optional BIP-39 passphrase.
    Mnemonic {
        mnemonic: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        bip39_passphrase: String,
    },
    /// A raw secp256k1 secret key, base64 of 32 bytes, when no mnemonic is known.
    SecretKey { secret_key: String },
}

impl Drop for Secret {
    fn drop(&mut self) {
        match self {
            Secret::Mnemonic {
                mnemonic,
                bip39_passphrase,
            } => {
                mnemonic.zeroize();
                bip39_passphrase.zeroize();
            }
            Secret::SecretKey { secret_key } => secret_key.zeroize(),
        }
    }
}

impl Secret {
    fn signing_key(&self) -> Result<SigningKey, String> {
        match self {
            Secret::Mnemonic {
                mnemonic,
                bip39_passphrase,
            } => derive_from_mnemonic(mnemonic, bip39_passphrase).map_err(|e| e.to_string()),
            Secret::SecretKey { secret_key } => {
                let bytes = Zeroizing::new(
                    B64.decode(secret_key)
                        .map_err(|e| format!("secret key is not base64: {e}"))?,
                );
                SigningKey::from_slice(&bytes)
                    .map_err(|_| "secret key is not a valid secp256k1 scalar".to_string())
            }
        }
    }

    fn to_json(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(self).expect("a Secret always serialises"))
    }
}

/// One key file, `<name>.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    name: String,
    backend: Backend,
    address: Address,
    #[serde(with = "crate::pub_key_base64")]
    pub_key: [u8; 33],
    /// File backend: the encrypted [`Secret`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crypto: Option<Sealed>,
    /// Test backend: the [`Secret`] in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<Secret>,
}

/// The JSON inside exported key text's armour.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportBody {
    format: String,
    version: u32,
    address: Address,
    #[serde(with = "crate::pub_key_base64")]
    pub_key: [u8; 33],
    crypto: Sealed,
}

/// Associated data for a key file's ciphertext.
fn file_aad(address: &Address) -> Vec<u8> {
    format!("deai-keys/file/v{FORMAT_VERSION}:{address}").into_bytes()
}

/// Associated data for an export's ciphertext (distinct from [`file_aad`], so
/// an export body cannot be passed off as a key file's or the reverse).
fn export_aad(address: &Address) -> Vec<u8> {
    format!("deai-keys/export/v{FORMAT_VERSION}:{address}").into_bytes()
}

/// Checks a key name: 1 to 64 characters of `[A-Za-z0-9._-]`, not starting
/// with `.` (dot-files are the keyring's temporary files).
pub fn validate_name(name: &str) -> Result<(), KeyError> {
    let invalid = |reason| {
        Err(KeyError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("a name must not be empty");
    }
    if name.len() > MAX_NAME_LEN {
        return invalid("a name must be at most 64 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return invalid("a name may contain only ASCII letters, digits, '.', '_' and '-'");
    }
    if name.starts_with('.') {
        return invalid("a name must not start with '.'");
    }
    Ok(())
}

/// The passphrase that protects a key being written by the file backend.
fn protecting_passphrase(passphrase: Option<&str>) -> Result<&str, KeyError> {
    match passphrase {
        None => Err(KeyError::PassphraseRequired),
        Some("") => Err(KeyError::EmptyPassphrase),
        Some(p) => Ok(p),
    }
}

/// A directory of keys, all stored by one [`Backend`].
#[derive(Debug, Clone)]
pub struct Keyring {
    dir: PathBuf,
    backend: Backend,
    kdf: KdfParams,
}

impl Keyring {
    /// Opens the keyring in `dir`, creating the directory (mode 0700) if needed.
    /// An existing directory's permissions are left as they are.
    pub fn open(dir: &Path, backend: Backend) -> Result<Keyring, KeyError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .map_err(|e| KeyError::io("creating keyring directory", dir, e))?;
        Ok(Keyring {
            dir: dir.to_path_buf(),
            backend,
            kdf: KdfParams::default(),
        })
    }

    /// Uses `params` for keys this keyring encrypts from now on (keys already
    /// written keep the parameters stored with them).
    pub fn with_kdf_params(mut self, params: KdfParams) -> Result<Keyring, KeyError> {
        params.validate()?;
        self.kdf = params;
        Ok(self)
    }

    /// The keyring's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keyring's backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Creates a key from a new random 24-word mnemonic and returns it with the
    /// mnemonic, which the caller must show the user once: it is the backup.
    pub fn add(&self, name: &str, passphrase: Option<&str>) -> Result<(KeyInfo, String), KeyError> {
        self.check_new_name(name, passphrase)?;
        let mnemonic = generate_mnemonic();
        let info = self.recover_with_bip39_passphrase(name, &mnemonic, "", passphrase)?;
        Ok((info, mnemonic.to_string()))
    }

    /// Stores the key a Cosmos wallet derives from `mnemonic`.
    pub fn recover(
        &self,
        name: &str,
        mnemonic: &str,
        passphrase: Option<&str>,
    ) -> Result<KeyInfo, KeyError> {
        self.recover_with_bip39_passphrase(name, mnemonic, "", passphrase)
    }

    /// Stores the key derived from `mnemonic` with a BIP-39 passphrase (the
    /// "25th word", distinct from the keyring `passphrase`).
    pub fn recover_with_bip39_passphrase(
        &self,
        name: &str,
        mnemonic: &str,
        bip39_passphrase: &str,
        passphrase: Option<&str>,
    ) -> Result<KeyInfo, KeyError> {
        self.check_new_name(name, passphrase)?;
        let canonical = normalize_mnemonic(mnemonic)?;
        let key = derive_from_mnemonic(&canonical, bip39_passphrase)?;
        let secret = Secret::Mnemonic {
            mnemonic: canonical.to_string(),
            bip39_passphrase: bip39_passphrase.to_string(),
        };
        self.store(name, &key, &secret, passphrase)
    }

    /// Stores a raw secret key (no mnemonic will be known for it).
    pub fn import_secret_key(
        &self,
        name: &str,
        key: &SigningKey,
        passphrase: Option<&str>,
    ) -> Result<KeyInfo, KeyError> {
        self.check_new_name(name, passphrase)?;
        let secret = Secret::SecretKey {
            secret_key: B64.encode(key.to_bytes()),
        };
        self.store(name, key, &secret, passphrase)
    }

    /// All keys, sorted by name. Files whose names are not `<valid name>.json`
    /// are ignored; a key file that cannot be read is an error.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let entries = fs::read_dir(&self.dir)
            .map_err(|e| KeyError::io("reading keyring directory", &self.dir, e))?;
        let mut keys = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| KeyError::io("reading keyring directory", &self.dir, e))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if validate_name(name).is_err() {
                continue;
            }
            keys.push(self.show(name)?);
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    /// The public information of key `name`; needs no passphrase.
    pub fn show(&self, name: &str) -> Result<KeyInfo, KeyError> {
        let file = self.read(name)?;
        Ok(KeyInfo {
            name: file.name.clone(),
            address: file.address,
            pub_key: file.pub_key,
        })
    }

    /// The signing key of `name`, decrypted with `passphrase` (file backend).
    pub fn signing_key(
        &self,
        name: &str,
        passphrase: Option<&str>,
    ) -> Result<SigningKey, KeyError> {
        let (_, _, key) = self.unlock(name, passphrase)?;
        Ok(key)
    }

    /// The key `name` as armoured text, its secret encrypted under
    /// `export_passphrase` (scrypt with this keyring's [`KdfParams`], then
    /// ChaCha20-Poly1305), to be read back by [`Keyring::import`].
    pub fn export(
        &self,
        name: &str,
        passphrase: Option<&str>,
        export_passphrase: &str,
    ) -> Result<String, KeyError> {
        if export_passphrase.is_empty() {
            return Err(KeyError::EmptyPassphrase);
        }
        let (file, secret, _) = self.unlock(name, passphrase)?;
        let body = ExportBody {
            format: EXPORT_FORMAT.to_string(),
            version: FORMAT_VERSION,
            address: file.address,
            pub_key: file.pub_key,
            crypto: Sealed::seal(
                &secret.to_json(),
                export_passphrase,
                &export_aad(&file.address),
                &self.kdf,
            )?,
        };
        let json = serde_json::to_vec(&body).expect("an export body always serialises");
        let encoded = B64.encode(json);
        let mut out = format!(
            "{EXPORT_ARMOR_BEGIN}\naddress: {}\nkdf: scrypt\ncipher: chacha20-poly1305\n\n",
            file.address
        );
        for line in encoded.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str(EXPORT_ARMOR_END);
        out.push('\n');
        Ok(out)
    }

    /// Stores as `name` a key exported by [`Keyring::export`], decrypting it
    /// with `export_passphrase` and protecting it with `passphrase` (file backend).
    pub fn import(
        &self,
        name: &str,
        armored: &str,
        export_passphrase: &str,
        passphrase: Option<&str>,
    ) -> Result<KeyInfo, KeyError> {
        self.check_new_name(name, passphrase)?;
        let body = parse_armor(armored)?;
        if body.format != EXPORT_FORMAT || body.version != FORMAT_VERSION {
            return Err(KeyError::InvalidExport(format!(
                "unsupported format {:?} version {}",
                body.format, body.version
            )));
        }
        let plaintext = body.crypto.open(
            export_passphrase,
            &export_aad(&body.address),
            KeyError::InvalidExport,
        )?;
        let secret: Secret = serde_json::from_slice(&plaintext)
            .map_err(|e| KeyError::InvalidExport(format!("secret: {e}")))?;
        let key = secret.signing_key().map_err(KeyError::InvalidExport)?;
        let info = KeyInfo::from_signing_key(name, &key);
        if info.pub_key != body.pub_key || info.address != body.address {
            return Err(KeyError::InvalidExport(
                "the secret does not match the exported address".to_string(),
            ));
        }
        self.store(name, &key, &secret, passphrase)
    }

    /// Removes key `name`. Irreversible unless the mnemonic was kept.
    pub fn delete(&self, name: &str) -> Result<(), KeyError> {
        validate_name(name)?;
        let path = self.path_of(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(KeyError::NotFound(name.to_string()))
            }
            Err(e) => return Err(KeyError::io("deleting key file", path, e)),
        }
        self.sync_dir()
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The checks a new key must pass before any slow work (derivation, KDF)
    /// is done: a valid, unused name and, for the file backend, a passphrase.
    fn check_new_name(&self, name: &str, passphrase: Option<&str>) -> Result<(), KeyError> {
        validate_name(name)?;
        if self.backend == Backend::File {
            protecting_passphrase(passphrase)?;
        }
        match fs::symlink_metadata(self.path_of(name)) {
            Ok(_) => Err(KeyError::AlreadyExists(name.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(KeyError::io("checking key file", self.path_of(name), e)),
        }
    }

    fn store(
        &self,
        name: &str,
        key: &SigningKey,
        secret: &Secret,
        passphrase: Option<&str>,
    ) -> Result<KeyInfo, KeyError> {
        let info = KeyInfo::from_signing_key(name, key);
        let (crypto, clear) = match self.backend {
            Backend::File => {
                let sealed = Sealed::seal(
                    &secret.to_json(),
                    protecting_passphrase(passphrase)?,
                    &file_aad(&info.address),
                    &self.kdf,
                )?;
                (Some(sealed), None)
            }
            Backend::Test => (None, Some(secret.clone())),
        };
        let file = KeyFile {
            version: FORMAT_VERSION,
            name: name.to_string(),
            backend: self.backend,
            address: info.address,
            pub_key: info.pub_key,
            crypto,
            secret: clear,
        };
        self.write_new(name, &file)?;
        Ok(info)
    }

    /// Writes `<name>.json` atomically (temporary file, fsync, then a rename
    /// that fails rather than replace an existing key), mode 0600.
    fn write_new(&self, name: &str, file: &KeyFile) -> Result<(), KeyError> {
        let mut json =
            Zeroizing::new(serde_json::to_vec_pretty(file).expect("a key file always serialises"));
        json.push(b'\n');
        let path = self.path_of(name);
        let io_err = |op, e| KeyError::io(op, &self.dir, e);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".json.partial")
            .tempfile_in(&self.dir)
            .map_err(|e| io_err("creating temporary key file in", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o600))
                .map_err(|e| io_err("setting permissions in", e))?;
        }
        tmp.write_all(&json)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| io_err("writing temporary key file in", e))?;
        tmp.persist_noclobber(&path).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                KeyError::AlreadyExists(name.to_string())
            } else {
                KeyError::io("saving key file", &path, e.error)
            }
        })?;
        self.sync_dir()
    }

    /// Makes a rename or removal in the directory durable.
    fn sync_dir(&self) -> Result<(), KeyError> {
        #[cfg(unix)]
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| KeyError::io("syncing keyring directory", &self.dir, e))?;
        Ok(())
    }

    /// Reads and checks `<name>.json` (everything but the secret).
    fn read(&self, name: &str) -> Result<KeyFile, KeyError> {
        validate_name(name)?;
        let path = self.path_of(name);
        let text = match fs::read(&path) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(KeyError::NotFound(name.to_string()))
            }
            Err(e) => return Err(KeyError::io("reading key file", path, e)),
        };
        let corrupt = |reason: String| KeyError::Corrupt {
            path: path.clone(),
            reason,
        };
        let file: KeyFile = serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
        if file.version != FORMAT_VERSION {
            return Err(corrupt(format!("unsupported version {}", file.version)));
        }
        if file.name != name {
            return Err(corrupt(format!("it holds the key named {:?}", file.name)));
        }
        k256::PublicKey::from_sec1_bytes(&file.pub_key)
            .map_err(|_| corrupt("pub_key is not a secp256k1 point".to_string()))?;
        if Address::from_secp256k1_pubkey(&file.pub_key) != file.address {
            return Err(corrupt("address does not match pub_key".to_string()));
        }
        let shape_ok = match file.backend {
            Backend::File => file.crypto.is_some() && file.secret.is_none(),
            Backend::Test => file.crypto.is_none() && file.secret.is_some(),
        };
        if !shape_ok {
            return Err(corrupt(format!(
                "a {} backend key must have exactly the `{}` field",
                file.backend,
                match file.backend {
                    Backend::File => "crypto",
                    Backend::Test => "secret",
                }
            )));
        }
        Ok(file)
    }

    /// Reads key `name` with its secret and signing key, checking the secret
    /// still matches the stored public key.
    fn unlock(
        &self,
        name: &str,
        passphrase: Option<&str>,
    ) -> Result<(KeyFile, Secret, SigningKey), KeyError> {
        let mut file = self.read(name)?;
        if file.backend != self.backend {
            return Err(KeyError::BackendMismatch {
                name: name.to_string(),
                stored: file.backend,
                opened: self.backend,
            });
        }
        let path = self.path_of(name);
        let corrupt = |reason: String| KeyError::Corrupt {
            path: path.clone(),
            reason,
        };
        let secret = match (&file.crypto, file.secret.take()) {
            (Some(sealed), _) => {
                let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
                let plaintext = sealed.open(passphrase, &file_aad(&file.address), corrupt)?;
                serde_json::from_slice(&plaintext).map_err(|e| corrupt(format!("secret: {e}")))?
            }
            (None, Some(secret)) => secret,
            (None, None) => return Err(corrupt("no secret".to_string())),
        };
        let key = secret.signing_key().map_err(corrupt)?;
        if compressed_pub_key(&key) != file.pub_key {
            return Err(corrupt("the secret does not match pub_key".to_string()));
        }
        Ok((file, secret, key))
    }
}

/// Parses exported key text: the armour lines, `key: value` headers (for
/// people; ignored), then base64 of the JSON [`ExportBody`].
fn parse_armor(armored: &str) -> Result<ExportBody, KeyError> {
    let invalid = |why: &str| KeyError::InvalidExport(why.to_string());
    let mut lines = armored.lines().map(str::trim);
    lines
        .by_ref()
        .find(|l| !l.is_empty())
        .filter(|l| *l == EXPORT_ARMOR_BEGIN)
        .ok_or_else(|| invalid("it does not start with the BEGIN DEAI PRIVATE KEY line"))?;
    let mut body = String::new();
    let mut ended = false;
    for line in lines.by_ref() {
        if line == EXPORT_ARMOR_END {
            ended = true;
            break;
        }
        if line.is_empty() || line.contains(':') {
            continue;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(invalid("the END DEAI PRIVATE KEY line is missing"));
    }
    if lines.any(|l| !l.is_empty()) {
        return Err(invalid("there is text after the END line"));
    }
    let json = B64
        .decode(body)
        .map_err(|e| KeyError::InvalidExport(format!("body is not base64: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| KeyError::InvalidExport(format!("body: {e}")))
}
