//! Every state key the auth module owns. All start with `auth/`.

use deai_types::Address;

/// Prefix of all account records.
pub fn accounts_prefix() -> Vec<u8> {
    ACCOUNTS.to_vec()
}

const ACCOUNTS: &[u8] = b"auth/account/";

/// The account record of `addr` (raw 20 address bytes after the prefix).
pub fn account(addr: &Address) -> Vec<u8> {
    let mut k = Vec::with_capacity(ACCOUNTS.len() + 20);
    k.extend_from_slice(ACCOUNTS);
    k.extend_from_slice(addr.as_bytes());
    k
}

/// The next account number to assign (u64 big-endian).
pub fn next_account_number() -> Vec<u8> {
    b"auth/next_account_number".to_vec()
}

/// The module parameters.
pub fn params() -> Vec<u8> {
    b"auth/params".to_vec()
}
