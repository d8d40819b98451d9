//! Typed access to the auth module's state.

use cosmos_sdk_proto::cosmos::{auth::v1beta1::BaseAccount, crypto::secp256k1::PubKey};
use deai_types::{Address, StateRead, StateReadExt, StateWrite, StateWriteExt};
use prost::Message;

use crate::{state_key, AuthError, AuthParams, SECP256K1_PUBKEY_TYPE_URL};

/// An account as the chain keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account's address.
    pub address: Address,
    /// The compressed secp256k1 public key, known after the first signed tx.
    pub pub_key: Option<Vec<u8>>,
    /// Assigned once, in order of creation.
    pub account_number: u64,
    /// Number of transactions this account has signed.
    pub sequence: u64,
}

impl Account {
    /// The `cosmos.auth.v1beta1.BaseAccount` form, as queries answer it.
    pub fn to_proto(&self) -> BaseAccount {
        let mut p = self.to_stored();
        p.address = self.address.to_bech32();
        p
    }

    /// The stored form: a `BaseAccount` without its address, which the
    /// record's key holds as raw bytes, so no bech32 is encoded on a write
    /// or parsed on a read.
    pub fn to_stored(&self) -> BaseAccount {
        BaseAccount {
            address: String::new(),
            pub_key: self.pub_key.as_ref().map(|k| cosmos_sdk_proto::Any {
                type_url: SECP256K1_PUBKEY_TYPE_URL.to_string(),
                value: PubKey { key: k.clone() }.encode_to_vec(),
            }),
            account_number: self.account_number,
            sequence: self.sequence,
        }
    }

    /// Reads the stored form of the account at `address` (taken from the
    /// key; an address string in the record, as older records have, is not
    /// read); anything malformed is corruption.
    pub fn from_stored(address: Address, p: BaseAccount) -> Result<Self, AuthError> {
        let pub_key = match p.pub_key {
            None => None,
            Some(any) => Some(
                PubKey::decode(any.value.as_slice())
                    .map_err(|e| corrupt(format!("stored account key: {e}")))?
                    .key,
            ),
        };
        Ok(Account {
            address,
            pub_key,
            account_number: p.account_number,
            sequence: p.sequence,
        })
    }

    /// Reads the `BaseAccount` form, address string included.
    pub fn from_proto(p: BaseAccount) -> Result<Self, AuthError> {
        let address = p
            .address
            .parse()
            .map_err(|e| corrupt(format!("account address: {e}")))?;
        Self::from_stored(address, p)
    }
}

fn corrupt(m: String) -> AuthError {
    AuthError::State(deai_types::StateError::Storage(m))
}

/// Reads of auth state.
pub trait AuthRead: StateRead {
    /// The account at `addr`, if it exists.
    fn account(&self, addr: &Address) -> Result<Option<Account>, AuthError> {
        match self.get_proto::<BaseAccount>(&state_key::account(addr))? {
            None => Ok(None),
            Some(p) => Account::from_stored(*addr, p).map(Some),
        }
    }

    /// The auth parameters (defaults before genesis has set them).
    fn auth_params(&self) -> Result<AuthParams, AuthError> {
        Ok(self
            .get_proto::<deai_proto::auth::v1::Params>(&state_key::params())?
            .map(AuthParams::from_proto)
            .unwrap_or_default())
    }

    /// Accounts in address order, starting after `start_after`, at most `limit`.
    fn accounts(
        &self,
        start_after: Option<&Address>,
        limit: usize,
    ) -> Result<Vec<Account>, AuthError> {
        let after = start_after.map(state_key::account);
        let prefix = state_key::accounts_prefix();
        self.prefix_raw(&prefix, after.as_deref(), limit)?
            .into_iter()
            .map(|(k, v)| {
                let address = Address::from_slice(&k[prefix.len()..])
                    .map_err(|e| corrupt(format!("account key: {e}")))?;
                let p = BaseAccount::decode(v.as_slice())
                    .map_err(|e| corrupt(format!("stored account: {e}")))?;
                Account::from_stored(address, p)
            })
            .collect()
    }
}

impl<T: StateRead + ?Sized> AuthRead for T {}

/// Writes of auth state.
pub trait AuthWrite: StateWrite {
    /// Stores `account`.
    fn put_account(&mut self, account: &Account) -> Result<(), AuthError> {
        self.put_proto(state_key::account(&account.address), &account.to_stored())?;
        Ok(())
    }

    /// Stores the parameters after validating them.
    fn put_auth_params(&mut self, params: &AuthParams) -> Result<(), AuthError> {
        params.validate()?;
        self.put_proto(state_key::params(), &params.to_proto())?;
        Ok(())
    }

    /// The account at `addr`, created with the next account number if absent.
    fn ensure_account(&mut self, addr: &Address) -> Result<Account, AuthError> {
        if let Some(acc) = self.account(addr)? {
            return Ok(acc);
        }
        let number = match self.get_raw(&state_key::next_account_number())? {
            None => 0,
            Some(b) => u64::from_be_bytes(b.as_slice().try_into().map_err(|_| {
                AuthError::State(deai_types::StateError::Storage(
                    "next account number is not 8 bytes".into(),
                ))
            })?),
        };
        let next = number
            .checked_add(1)
            .ok_or(AuthError::AccountNumberOverflow)?;
        self.put_raw(
            state_key::next_account_number(),
            next.to_be_bytes().to_vec(),
        )?;
        let acc = Account {
            address: *addr,
            pub_key: None,
            account_number: number,
            sequence: 0,
        };
        self.put_account(&acc)?;
        Ok(acc)
    }

    /// Records that `addr` signed a transaction with `pub_key`: checks the key
    /// belongs to the address, stores it the first time, bumps the sequence.
    fn record_signature(
        &mut self,
        account: &Account,
        pub_key: &[u8],
    ) -> Result<Account, AuthError> {
        // A key already stored was checked against the address when it was.
        let known = account.pub_key.as_deref() == Some(pub_key);
        if !known && Address::from_secp256k1_pubkey(pub_key) != account.address {
            return Err(AuthError::PubKeyMismatch(account.address.to_bech32()));
        }
        let mut next = account.clone();
        next.pub_key = Some(pub_key.to_vec());
        next.sequence = account
            .sequence
            .checked_add(1)
            .ok_or_else(|| AuthError::SequenceOverflow(account.address.to_bech32()))?;
        self.put_account(&next)?;
        Ok(next)
    }
}

impl<T: StateWrite + ?Sized> AuthWrite for T {}

#[cfg(test)]
mod tests {
    use deai_types::MemState;

    use super::*;

    #[test]
    fn accounts_get_numbers_in_order_of_creation() {
        let mut s = MemState::default();
        let a = s.ensure_account(&Address([1; 20])).unwrap();
        let b = s.ensure_account(&Address([2; 20])).unwrap();
        let a_again = s.ensure_account(&Address([1; 20])).unwrap();
        assert_eq!((a.account_number, b.account_number), (0, 1));
        assert_eq!(a_again, a);
    }

    #[test]
    fn a_signature_bumps_the_sequence_and_stores_the_key() {
        let key = [2u8; 33];
        let addr = Address::from_secp256k1_pubkey(&key);
        let mut s = MemState::default();
        let acc = s.ensure_account(&addr).unwrap();
        let acc = s.record_signature(&acc, &key).unwrap();
        assert_eq!(acc.sequence, 1);
        assert_eq!(
            s.account(&addr).unwrap().unwrap().pub_key,
            Some(key.to_vec())
        );
    }

    #[test]
    fn a_key_of_another_address_is_refused() {
        let mut s = MemState::default();
        let acc = s.ensure_account(&Address([9; 20])).unwrap();
        assert!(matches!(
            s.record_signature(&acc, &[2u8; 33]),
            Err(AuthError::PubKeyMismatch(_))
        ));
        assert_eq!(s.account(&Address([9; 20])).unwrap().unwrap().sequence, 0);
    }

    #[test]
    fn an_account_is_stored_without_its_bech32_address_and_read_back_whole() {
        let key = [2u8; 33];
        let addr = Address::from_secp256k1_pubkey(&key);
        let mut s = MemState::default();
        let acc = s.ensure_account(&addr).unwrap();
        let acc = s.record_signature(&acc, &key).unwrap();
        let stored = s.0.get(&state_key::account(&addr)).unwrap();
        let p = BaseAccount::decode(stored.as_slice()).unwrap();
        assert_eq!(p.address, "", "the key holds the address");
        assert_eq!(s.account(&addr).unwrap(), Some(acc.clone()));
        assert_eq!(s.accounts(None, 10).unwrap(), vec![acc.clone()]);
        // A record that still carries its address string reads the same.
        s.put_raw(state_key::account(&addr), acc.to_proto().encode_to_vec())
            .unwrap();
        assert_eq!(s.account(&addr).unwrap(), Some(acc.clone()));
        assert_eq!(acc.to_proto().address, addr.to_bech32());
    }

    #[test]
    fn the_stored_account_round_trips_as_a_base_account() {
        let acc = Account {
            address: Address([5; 20]),
            pub_key: Some(vec![3; 33]),
            account_number: 7,
            sequence: 9,
        };
        assert_eq!(Account::from_proto(acc.to_proto()).unwrap(), acc);
    }
}
