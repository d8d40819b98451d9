//! Account addresses: 20 bytes, shown as bech32 with the `deai` prefix, made
//! from a secp256k1 public key exactly as the Cosmos SDK makes them
//! (RIPEMD-160 of SHA-256 of the compressed key), so a Cosmos wallet derives
//! the same address from the same mnemonic.

use std::{fmt, str::FromStr};

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
    ///
    /// This is BIP-173's encoding written out for a 20-byte payload and this
    /// chain's prefix: events name addresses about a dozen times per
    /// transfer, and the `bech32` crate's general encoder was a sixth of a
    /// transfer's execution time in profiles. Tests check it against the
    /// crate; parsing still goes through the crate.
    pub fn to_bech32(&self) -> String {
        const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        // The payload as 32 five-bit groups (160 bits, no padding).
        let mut groups = [0u8; 32];
        let (mut acc, mut bits, mut n) = (0u32, 0u32, 0usize);
        for &b in &self.0 {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                groups[n] = ((acc >> bits) & 31) as u8;
                n += 1;
            }
            acc &= (1 << bits) - 1;
        }
        let mut chk = PREFIX_CHECKSUM;
        for &g in &groups {
            chk = polymod_step(chk, g);
        }
        for _ in 0..6 {
            chk = polymod_step(chk, 0);
        }
        chk ^= 1; // Bech32's constant (not Bech32m's).
        let mut out = String::with_capacity(BECH32_PREFIX.len() + 1 + 32 + 6);
        out.push_str(BECH32_PREFIX);
        out.push('1');
        out.extend(groups.iter().map(|&g| char::from(CHARSET[usize::from(g)])));
        out.extend((0..6).map(|i| char::from(CHARSET[((chk >> (5 * (5 - i))) & 31) as usize])));
        out
    }
}

/// BIP-173's checksum state after the expanded prefix, computed once at build time.
const PREFIX_CHECKSUM: u32 = {
    let hrp = BECH32_PREFIX.as_bytes();
    let mut chk = 1u32;
    let mut i = 0;
    while i < hrp.len() {
        chk = polymod_step(chk, hrp[i] >> 5);
        i += 1;
    }
    chk = polymod_step(chk, 0);
    let mut i = 0;
    while i < hrp.len() {
        chk = polymod_step(chk, hrp[i] & 31);
        i += 1;
    }
    chk
};

/// One step of BIP-173's checksum over a five-bit value.
const fn polymod_step(chk: u32, value: u8) -> u32 {
    const GENERATOR: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let top = chk >> 25;
    let mut chk = ((chk & 0x01ff_ffff) << 5) ^ value as u32;
    let mut i = 0;
    while i < 5 {
        // Branch-free: all ones when bit i of `top` is set.
        chk ^= GENERATOR[i] & 0u32.wrapping_sub((top >> i) & 1);
        i += 1;
    }
    chk
}

/// Decodes `s` if it is a well-formed lowercase `deai1...` address with a
/// valid checksum; `None` for anything else, which the crate then parses (and
/// names the fault of). The same BIP-173 rules as [`Address::to_bech32`].
fn decode_fast(s: &str) -> Option<Address> {
    const LEN: usize = BECH32_PREFIX.len() + 1 + 32 + 6;
    let data = s.as_bytes().strip_prefix(BECH32_PREFIX.as_bytes())?;
    let data = data.strip_prefix(b"1")?;
    if s.len() != LEN {
        return None;
    }
    let mut chk = PREFIX_CHECKSUM;
    let mut groups = [0u8; 38];
    for (g, &c) in groups.iter_mut().zip(data) {
        *g = value_of(c)?;
        chk = polymod_step(chk, *g);
    }
    if chk != 1 {
        return None;
    }
    let mut out = [0u8; 20];
    let (mut acc, mut bits, mut n) = (0u32, 0u32, 0usize);
    for &g in &groups[..32] {
        acc = (acc << 5) | u32::from(g);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out[n] = ((acc >> bits) & 0xff) as u8;
            n += 1;
        }
        acc &= (1 << bits) - 1;
    }
    Some(Address(out))
}

/// The five-bit value of a lowercase bech32 character.
fn value_of(c: u8) -> Option<u8> {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    CHARSET.iter().position(|&x| x == c).map(|i| i as u8)
}

impl Address {
    /// The 20 bytes of a bech32 address of any chain (`cosmos1…`,
    /// `osmo1…`, `deai1…`): on Cosmos chains, the same secp256k1 key's
    /// account everywhere. Refuses addresses of another length (contracts,
    /// 32-byte module accounts).
    pub fn from_any_bech32(s: &str) -> Result<Self, AddressError> {
        let (_, data) =
            bech32::decode(s).map_err(|e| AddressError::Bech32(s.to_string(), e.to_string()))?;
        Address::from_slice(&data)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(addr) = decode_fast(s) {
            return Ok(addr);
        }
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
    use bech32::{Bech32, Hrp};

    use super::*;

    #[test]
    fn an_address_round_trips_through_bech32() {
        let a = Address([7u8; 20]);
        let s = a.to_bech32();
        assert!(s.starts_with("deai1"));
        assert_eq!(s.parse::<Address>().unwrap(), a);
    }

    #[test]
    fn bech32_strings_match_the_bech32_crate() {
        let hrp = Hrp::parse_unchecked(BECH32_PREFIX);
        let mut bytes = [0u8; 20];
        for i in 0..2000u32 {
            // A cheap deterministic spread of byte patterns, edges included.
            for (j, b) in bytes.iter_mut().enumerate() {
                *b = (i.wrapping_mul(2_654_435_761).rotate_left(j as u32) >> 7) as u8;
            }
            if i == 0 {
                bytes = [0; 20];
            }
            if i == 1 {
                bytes = [0xff; 20];
            }
            let a = Address(bytes);
            let want = bech32::encode::<Bech32>(hrp, &a.0).unwrap();
            assert_eq!(a.to_bech32(), want);
            assert_eq!(decode_fast(&want), Some(a));
            assert_eq!(want.parse::<Address>().unwrap(), a);
            // Any one character changed: the fast path and the crate agree.
            let pos = 5 + (i as usize % 38);
            let mut bad = want.clone().into_bytes();
            bad[pos] = if bad[pos] == b'q' { b'p' } else { b'q' };
            let bad = String::from_utf8(bad).unwrap();
            assert_eq!(decode_fast(&bad), None);
            assert!(bad.parse::<Address>().is_err());
        }
        // Anything else is left to the crate, which decides as before.
        let a = Address([3; 20]);
        let upper = a.to_bech32().to_uppercase();
        assert_eq!(decode_fast(&upper), None);
        assert!(matches!(
            upper.parse::<Address>(),
            Err(AddressError::WrongPrefix(_, _))
        ));
        assert_eq!(decode_fast(&a.to_bech32()[..42]), None);
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
