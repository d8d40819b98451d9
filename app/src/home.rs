//! The node's home directory: `config/genesis.json` and `data/` (RocksDB).

use std::path::{Path, PathBuf};

/// Paths inside a home directory.
#[derive(Debug, Clone)]
pub struct Home(pub PathBuf);

impl Home {
    /// The default home: `$DEAI_HOME`, else `~/.deaid`.
    pub fn default_dir() -> PathBuf {
        if let Some(h) = std::env::var_os("DEAI_HOME") {
            return PathBuf::from(h);
        }
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".deaid")
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
