//! The state keys the application itself owns. All start with `app/`.

/// Facts fixed at genesis (chain id, initial height, validators).
pub fn chain_info() -> Vec<u8> {
    b"app/chain_info".to_vec()
}

/// Marks height `height` (before the chain's initial height) as imported
/// from an export, with the prefixes held (`ImportedHistory`).
pub fn imported_history(height: u64) -> Vec<u8> {
    let mut k = b"app/history/".to_vec();
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// Where the entries of imported height `height` live: `key` of that
/// height is kept at this prefix followed by `key`.
pub fn imported_history_entries(height: u64) -> Vec<u8> {
    let mut k = imported_history(height);
    k.push(b'/');
    k
}
