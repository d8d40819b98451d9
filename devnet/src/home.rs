//! The devnet's home directory and its first-start setup: a validator key in
//! CometBFT's `priv_validator_key.json` format, three prefunded accounts in
//! the `test` keyring and a genesis file naming them.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use deai_genesis::{GenesisDoc, GenesisValidator};
use deai_keys::{Backend, Keyring};
use deai_types::Coin;
use serde::{Deserialize, Serialize};
use tendermint::{account, PrivateKey, PublicKey};

/// Names of the prefunded accounts.
pub const DEV_ACCOUNTS: [&str; 3] = ["dev0", "dev1", "dev2"];

/// What each prefunded account holds at genesis.
pub const DEV_BALANCE: u128 = 1_000_000_000_000;

/// The fee and staking denomination.
pub const DENOM: &str = "udeai";

/// The validator's voting power.
pub const VALIDATOR_POWER: u64 = 10;

/// Paths inside a devnet home.
#[derive(Debug, Clone)]
pub struct DevnetHome(pub PathBuf);

impl DevnetHome {
    /// `config/genesis.json`.
    pub fn genesis(&self) -> PathBuf {
        self.0.join("config").join("genesis.json")
    }

    /// `config/priv_validator_key.json`.
    pub fn validator_key(&self) -> PathBuf {
        self.0.join("config").join("priv_validator_key.json")
    }

    /// `keyring-test/`: the same directory `deaid keys --keyring-backend test` uses.
    pub fn keyring(&self) -> PathBuf {
        self.0.join("keyring-test")
    }

    /// `data/state`: the application's RocksDB (as `deaid start` uses).
    pub fn state_dir(&self) -> PathBuf {
        self.0.join("data").join("state")
    }

    /// `data/blocks`: the block store.
    pub fn blocks_dir(&self) -> PathBuf {
        self.0.join("data").join("blocks")
    }
}

/// CometBFT's `priv_validator_key.json`.
#[derive(Serialize, Deserialize)]
pub struct PrivValidatorKey {
    /// The validator address (hex).
    pub address: account::Id,
    /// The public key.
    pub pub_key: PublicKey,
    /// The private key.
    pub priv_key: PrivateKey,
}

impl PrivValidatorKey {
    /// Wraps an ed25519 signing key.
    pub fn new(key: ed25519_consensus::SigningKey) -> Self {
        let priv_key = PrivateKey::from_ed25519_consensus(key);
        let pub_key = priv_key.public_key();
        PrivValidatorKey {
            address: account::Id::from(pub_key),
            pub_key,
            priv_key,
        }
    }

    /// Reads the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes the file (mode 0600 on unix).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        write_private(path, json.as_bytes())
    }

    /// The signing key.
    pub fn signing_key(&self) -> anyhow::Result<ed25519_consensus::SigningKey> {
        let key = self
            .priv_key
            .ed25519_signing_key()
            .ok_or_else(|| anyhow!("the validator key is not ed25519"))?;
        ed25519_consensus::SigningKey::try_from(key.clone())
            .map_err(|e| anyhow!("bad validator key: {e}"))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// A prefunded account created at first start.
#[derive(Debug, Clone)]
pub struct DevAccount {
    /// Its name in the test keyring.
    pub name: String,
    /// Its address.
    pub address: deai_types::Address,
    /// Its mnemonic: shown once.
    pub mnemonic: String,
}

/// Creates the validator key, the dev accounts and the genesis file when
/// `config/genesis.json` is absent. Returns the new accounts (empty when
/// the home already had a genesis).
pub fn ensure_genesis(
    home: &DevnetHome,
    chain_id: &str,
    genesis_time: &str,
) -> anyhow::Result<Vec<DevAccount>> {
    if home.genesis().exists() {
        return Ok(Vec::new());
    }
    let config = home.0.join("config");
    std::fs::create_dir_all(&config).with_context(|| format!("creating {}", config.display()))?;
    if home.validator_key().exists() {
        bail!(
            "{} exists but {} does not; remove the key or restore the genesis",
            home.validator_key().display(),
            home.genesis().display()
        );
    }
    let seed: [u8; 32] = rand::random();
    let validator = PrivValidatorKey::new(ed25519_consensus::SigningKey::from(seed));
    validator.save(&home.validator_key())?;

    let mut doc = GenesisDoc::new(chain_id, genesis_time)?;
    doc.app_state = deai_app::modules::default_app_state();
    let keyring = Keyring::open(&home.keyring(), Backend::Test)?;
    let mut accounts = Vec::new();
    for name in DEV_ACCOUNTS {
        let (info, mnemonic) = keyring
            .add(name, None)
            .with_context(|| format!("creating key {name} in {}", home.keyring().display()))?;
        doc.app_state
            .add_account(info.address, &[Coin::new(DEV_BALANCE, DENOM)])?;
        accounts.push(DevAccount {
            name: name.to_string(),
            address: info.address,
            mnemonic,
        });
    }
    doc.app_state.validators.push(GenesisValidator {
        name: "devnet".to_string(),
        pub_key: base64_pub_key(&validator.pub_key),
        power: VALIDATOR_POWER,
    });
    doc.save(&home.genesis())?;
    Ok(accounts)
}

fn base64_pub_key(key: &PublicKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(key.to_bytes())
}
