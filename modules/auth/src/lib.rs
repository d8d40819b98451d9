//! Accounts: account numbers, sequences and public keys.
