//! Account addresses: 20 bytes, shown as bech32 with the `deai` prefix, made
//! from a secp256k1 public key exactly as the Cosmos SDK makes them
//! (RIPEMD-160 of SHA-256 of the compressed key), so a Cosmos wallet derives
//! the same address from the same mnemonic.

use std::{fmt, str::FromStr};

use bech32::{Bech32, Hrp};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// The human-readable prefix of account addresses.
pub const BECH32_PREFIX: &str = "deai";

/// Errors from parsing an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not valid bech32.
    #[error("invalid bech32 address {0:?}: {1}")]
    Bech32(String, String),
    /// Valid bech32 with another chain's prefix.
    #[error("address {0:?} has prefix {1:?}, expected {BECH32_PREFIX:?}")]
    WrongPrefix(String, String),
    /// Not 20 bytes long.
    #[error("address must be 20 bytes, got {0}")]
    WrongLength(usize),
}

/// A 20-byte account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The address of a compressed (33-byte) secp256k1 public key.
    pub fn from_secp256k1_pubkey(compressed: &[u8]) -> Self {
        let sha = Sha256::digest(compressed);
        let rip = Ripemd160::digest(sha);
        let mut out = [0u8; 20];
        out.copy_from_slice(&rip);
        Address(out)
    }

    /// The address of a module account: the first 20 bytes of SHA-256 of the
    /// module name, as the Cosmos SDK derives `authtypes.NewModuleAddress`.
    pub fn module(name: &str) -> Self {
        let sha = Sha256::digest(name.as_bytes());
        let mut out = [0u8; 20];
        out.copy_from_slice(&sha[..20]);
        Address(out)
    }

    /// The address from raw bytes, which must be 20 long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AddressError> {
        let arr: [u8; 20] = bytes
            .try_into()
            .map_err(|_| AddressError::WrongLength(bytes.len()))?;
        Ok(Address(arr))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The bech32 string.
    pub fn to_bech32(&self) -> String {
        let hrp = Hrp::parse_unchecked(BECH32_PREFIX);
        bech32::encode::<Bech32>(hrp, &self.0).expect("20 bytes always fit in bech32")
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (hrp, data) =
            bech32::decode(s).map_err(|e| AddressError::Bech32(s.to_string(), e.to_string()))?;
        if hrp.as_str() != BECH32_PREFIX {
            return Err(AddressError::WrongPrefix(
                s.to_string(),
                hrp.as_str().to_string(),
            ));
        }
        Address::from_slice(&data)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_bech32())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_bech32())
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_bech32())
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_round_trips_through_bech32() {
        let a = Address([7u8; 20]);
        let s = a.to_bech32();
        assert!(s.starts_with("deai1"));
        assert_eq!(s.parse::<Address>().unwrap(), a);
    }

    #[test]
    fn a_cosmos_address_is_rejected_for_its_prefix() {
        let hrp = Hrp::parse_unchecked("cosmos");
        let s = bech32::encode::<Bech32>(hrp, &[1u8; 20]).unwrap();
        assert!(matches!(
            s.parse::<Address>(),
            Err(AddressError::WrongPrefix(_, _))
        ));
    }

    #[test]
    fn module_addresses_match_the_cosmos_sdk_derivation() {
        // The Cosmos Hub's well-known fee collector module account.
        let (_, bytes) = bech32::decode("cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta").unwrap();
        assert_eq!(Address::module("fee_collector").0.to_vec(), bytes);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert!(matches!(
            "deai1notanaddress".parse::<Address>(),
            Err(AddressError::Bech32(_, _))
        ));
    }
}
