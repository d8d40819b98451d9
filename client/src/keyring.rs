//! The keyring as the CLI and the compute daemon use it: keys live in
//! `<home>/keyring-<backend>/` (the Cosmos SDK's layout). Secrets are never
//! taken as command-line arguments, where they would land in shell history:
//! passphrases come from `DEAI_KEYRING_PASSPHRASE` or standard input,
//! mnemonics from standard input. At a terminal, secrets are read without
//! echo; from a pipe, one line each, so scripts and tests can feed them.

use std::{
    io::{BufRead, IsTerminal},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context};
use deai_keys::{Backend, KeyInfo, Keyring};

use crate::tx::Key;

/// The default home: `$DEAI_HOME`, else `~/.deaid`.
pub fn default_home() -> PathBuf {
    if let Some(h) = std::env::var_os("DEAI_HOME") {
        return PathBuf::from(h);
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".deaid")
}

/// Environment variable holding the keyring passphrase for scripts.
pub const PASSPHRASE_ENV: &str = "DEAI_KEYRING_PASSPHRASE";

/// Opens the keyring of `backend` under `home` (or in `dir` if given).
pub fn open(home: &Path, backend: Backend, dir: Option<&Path>) -> anyhow::Result<Keyring> {
    let default = home.join(format!("keyring-{backend}"));
    let dir = dir.unwrap_or(&default);
    Keyring::open(dir, backend).with_context(|| format!("opening keyring {}", dir.display()))
}

/// Reads one trimmed line from standard input, naming what is expected.
pub fn read_line(what: &str) -> anyhow::Result<String> {
    eprintln!("enter {what}:");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading {what} from standard input"))?;
    non_empty(line, what)
}

/// Reads a secret (a passphrase, a mnemonic): without echo when standard
/// input is a terminal, else one line of it, as [`read_line`].
pub fn read_secret(what: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        return read_line(what);
    }
    eprintln!("enter {what}:");
    let line = rpassword::read_password().with_context(|| format!("reading {what}"))?;
    non_empty(line, what)
}

fn non_empty(line: String, what: &str) -> anyhow::Result<String> {
    let line = line.trim().to_string();
    if line.is_empty() {
        bail!("no {what} given on standard input");
    }
    Ok(line)
}

/// The keyring passphrase: none for the test backend, else the environment
/// variable or standard input (without echo at a terminal).
pub fn passphrase(kr: &Keyring) -> anyhow::Result<Option<String>> {
    if kr.backend() == Backend::Test {
        return Ok(None);
    }
    match std::env::var(PASSPHRASE_ENV) {
        Ok(p) if !p.is_empty() => Ok(Some(p)),
        _ => read_secret(&format!("the keyring passphrase (or set {PASSPHRASE_ENV})")).map(Some),
    }
}

/// One line per key, or JSON.
pub fn render(keys: &[KeyInfo], json: bool) -> anyhow::Result<String> {
    if json {
        return Ok(serde_json::to_string_pretty(keys)?);
    }
    Ok(keys
        .iter()
        .map(|k| format!("{}\t{}", k.name, k.address))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The signing key `name`, unlocked.
pub fn signer(kr: &Keyring, name: &str) -> anyhow::Result<Key> {
    let pass = passphrase(kr)?;
    let sk = kr
        .signing_key(name, pass.as_deref())
        .with_context(|| format!("unlocking key {name:?}"))?;
    Ok(Key::from_signing_key(sk))
}
