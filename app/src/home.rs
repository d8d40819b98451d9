//! The node's home directory: `config/genesis.json` and `data/` (RocksDB).

use std::path::{Path, PathBuf};

/// Paths inside a home directory.
#[derive(Debug, Clone)]
pub struct Home(pub PathBuf);

impl Home {
    /// The default home: `$DEAI_HOME`, else `~/.deaid` (as the client's keyring finds it).
    pub fn default_dir() -> PathBuf {
        deai_client::keyring::default_home()
    }

    /// The home at `dir`.
    pub fn new(dir: &Path) -> Self {
        Home(dir.to_path_buf())
    }

    /// `config/`.
    pub fn config_dir(&self) -> PathBuf {
        self.0.join("config")
    }

    /// `config/genesis.json`.
    pub fn genesis(&self) -> PathBuf {
        self.config_dir().join("genesis.json")
    }

    /// `data/state`: the application's RocksDB.
    pub fn state_dir(&self) -> PathBuf {
        self.0.join("data").join("state")
    }

    /// `data/snapshots`: state-sync snapshots, one directory per height.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.0.join("data").join("snapshots")
    }
}
