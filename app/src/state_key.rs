//! The state keys the application itself owns. All start with `app/`.

/// Facts fixed at genesis (chain id, initial height, validators).
pub fn chain_info() -> Vec<u8> {
    b"app/chain_info".to_vec()
}
