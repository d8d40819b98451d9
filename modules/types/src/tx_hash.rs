//! A transaction's hash, as CometBFT and wallets compute it. It lives here,
//! not in the app, because clients (the CLI, the compute daemon) need it too
//! and must not link the consensus crate.

use sha2::{Digest, Sha256};

/// The hash CometBFT and wallets show for a tx: SHA-256 of its bytes.
pub fn tx_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
