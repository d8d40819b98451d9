//! The gateway's configuration file: which API keys exist, which keyring key pays for
//! each, and how much each may spend a day. API keys are stored as their SHA-256 only, so
//! the file does not hand out working keys, and are compared in constant time.

use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Shortest API key accepted: 128 bits of entropy as hex (the gateway only sees its
/// hash, so it cannot check the entropy; it checks the length of keys presented).
pub const MIN_API_KEY_LEN: usize = 32;

/// The gateway's configuration file (JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Providers per job (the chain's `R`); 3 by default, so at least two independent
    /// providers must agree.
    #[serde(default = "default_replication")]
    pub replication: u32,
    /// udeai paid per work unit per provider; raised to the chain's
    /// `min_price_per_work_unit` when below it.
    #[serde(default)]
    pub price_per_work_unit: String,
    /// Blocks from submission to the job's deadline (0: no deadline, the chain's default
    /// windows). Raised to the least the chain accepts.
    #[serde(default)]
    pub deadline_blocks: u64,
    /// Longest a request waits for its job to settle, seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// The API keys.
    pub keys: Vec<ApiKey>,
}

fn default_replication() -> u32 {
    3
}

fn default_timeout_secs() -> u64 {
    300
}

/// One API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// A name for logs and the spend ledger.
    pub name: String,
    /// SHA-256 of the API key (the `Authorization: Bearer` value), 64 hex digits:
    /// `printf %s "$KEY" | sha256sum`.
    pub api_key_sha256: String,
    /// The keyring key whose account pays for this API key's jobs.
    pub from: String,
    /// Most udeai (escrow and fees) this API key may spend per UTC day.
    pub daily_limit_udeai: String,
}

/// A configured API key, parsed.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    /// Its name.
    pub name: String,
    /// SHA-256 of the API key.
    pub hash: [u8; 32],
    /// The keyring key that pays.
    pub from: String,
    /// udeai per UTC day.
    pub daily_limit: u128,
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if meta.len() > MAX_CONFIG_BYTES {
            bail!("{} is larger than {MAX_CONFIG_BYTES} bytes", path.display());
        }
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let config: Config = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        config.entries()?;
        if config.replication == 0 {
            bail!("replication must be at least 1");
        }
        Ok(config)
    }

    /// The keys, parsed; names must be distinct, hashes 32 bytes and distinct.
    pub fn entries(&self) -> anyhow::Result<Vec<KeyEntry>> {
        let mut out: Vec<KeyEntry> = Vec::new();
        for k in &self.keys {
            let hash: [u8; 32] = hex::decode(&k.api_key_sha256)
                .ok()
                .and_then(|b| b.try_into().ok())
                .with_context(|| {
                    format!("key {:?}: api_key_sha256 is not 64 hex digits", k.name)
                })?;
            let daily_limit = k
                .daily_limit_udeai
                .trim_end_matches(deai_types::BASE_DENOM)
                .parse()
                .with_context(|| format!("key {:?}: daily_limit_udeai", k.name))?;
            if out.iter().any(|e| e.name == k.name || e.hash == hash) {
                bail!("key {:?}: the name or the hash is used twice", k.name);
            }
            out.push(KeyEntry {
                name: k.name.clone(),
                hash,
                from: k.from.clone(),
                daily_limit,
            });
        }
        Ok(out)
    }

    /// The price per work unit configured (0 when empty: the chain's minimum).
    pub fn price_per_work_unit(&self) -> anyhow::Result<u128> {
        if self.price_per_work_unit.is_empty() {
            return Ok(0);
        }
        self.price_per_work_unit
            .trim_end_matches(deai_types::BASE_DENOM)
            .parse()
            .context("price_per_work_unit")
    }
}

/// The index in `keys` of the entry whose hash is the SHA-256 of `presented`, comparing
/// against every entry in constant time, so the time taken tells nothing about which
/// entry, or how much of one, matched.
pub fn find_key(keys: &[KeyEntry], presented: &str) -> Option<usize> {
    let hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    let mut found = None;
    for (i, k) in keys.iter().enumerate() {
        if bool::from(k.hash.ct_eq(&hash)) {
            found = Some(i);
        }
    }
    // Short keys are refused after the scan, so their time is the same too.
    found.filter(|_| presented.len() >= MIN_API_KEY_LEN)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(keys: &[(&str, &str)]) -> Config {
        Config {
            replication: 3,
            price_per_work_unit: String::new(),
            deadline_blocks: 0,
            timeout_secs: 10,
            keys: keys
                .iter()
                .map(|(name, key)| ApiKey {
                    name: (*name).into(),
                    api_key_sha256: hex::encode(Sha256::digest(key.as_bytes())),
                    from: "alice".into(),
                    daily_limit_udeai: "1000udeai".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_presented_key_finds_its_entry_by_hash_and_nothing_else_does() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let keys = config(&[("a", &a), ("b", &b)]).entries().unwrap();
        assert_eq!(find_key(&keys, &a), Some(0));
        assert_eq!(find_key(&keys, &b), Some(1));
        assert_eq!(find_key(&keys, &"c".repeat(40)), None);
        assert_eq!(find_key(&keys, ""), None);
        // The hash itself is not a key.
        assert_eq!(find_key(&keys, &hex::encode(keys[0].hash)), None);
        assert_eq!(keys[0].daily_limit, 1000);
    }

    #[test]
    fn a_short_key_is_refused_even_when_configured() {
        let keys = config(&[("short", "abc")]).entries().unwrap();
        assert_eq!(find_key(&keys, "abc"), None);
    }

    #[test]
    fn duplicate_names_or_hashes_and_bad_hashes_are_refused() {
        let k = "k".repeat(40);
        assert!(config(&[("a", &k), ("b", &k)]).entries().is_err());
        assert!(config(&[("a", &k), ("a", &"j".repeat(40))])
            .entries()
            .is_err());
        let mut c = config(&[("a", &k)]);
        c.keys[0].api_key_sha256 = "zz".into();
        assert!(c.entries().is_err());
    }
}
