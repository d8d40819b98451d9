//! Slashing state: parameters, one signing record per validator consensus
//! address (the SDK's `ValidatorSigningInfo`), and a missed-block mark per
//! missed index of its window. All keys start with `slashing/`.

use cosmos_sdk_proto::cosmos::slashing::v1beta1 as sdk;
use deai_types::{module::BlockTime, StateRead, StateReadExt, StateWrite, StateWriteExt};

use crate::{SlashingError, SlashingParams};

/// The parameters' key.
pub fn params_key() -> Vec<u8> {
    b"slashing/params".to_vec()
}

/// Prefix of the signing records.
pub const INFOS: &[u8] = b"slashing/info/";

/// The signing record of consensus address `cons`.
pub fn info_key(cons: &[u8; 20]) -> Vec<u8> {
    let mut k = INFOS.to_vec();
    k.extend_from_slice(cons);
    k
}

/// Prefix of `cons`'s missed-block marks.
pub fn missed_prefix(cons: &[u8; 20]) -> Vec<u8> {
    let mut k = b"slashing/missed/".to_vec();
    k.extend_from_slice(cons);
    k
}

/// The mark for index `i` of `cons`'s window (present: missed).
pub fn missed_key(cons: &[u8; 20], i: u64) -> Vec<u8> {
    let mut k = missed_prefix(cons);
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// A validator's signing record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningInfo {
    /// The height it was first seen signing (or re-counted from).
    pub start_height: u64,
    /// Blocks counted so far; the window index is this modulo the window.
    pub index_offset: u64,
    /// When it may unjail.
    pub jailed_until: BlockTime,
    /// Whether it double-signed (it can never unjail).
    pub tombstoned: bool,
    /// Blocks missed in the current window.
    pub missed: u64,
}

impl SigningInfo {
    /// The SDK's record, named by `address` (`deaivalcons…`).
    pub fn to_proto(&self, address: String) -> sdk::ValidatorSigningInfo {
        sdk::ValidatorSigningInfo {
            address,
            start_height: i64::try_from(self.start_height).unwrap_or(i64::MAX),
            index_offset: i64::try_from(self.index_offset).unwrap_or(i64::MAX),
            jailed_until: Some(deai_staking::types::timestamp(self.jailed_until)),
            tombstoned: self.tombstoned,
            missed_blocks_counter: i64::try_from(self.missed).unwrap_or(i64::MAX),
        }
    }

    fn from_proto(p: &sdk::ValidatorSigningInfo) -> Self {
        SigningInfo {
            start_height: u64::try_from(p.start_height).unwrap_or(0),
            index_offset: u64::try_from(p.index_offset).unwrap_or(0),
            jailed_until: deai_staking::types::block_time(p.jailed_until.as_ref()),
            tombstoned: p.tombstoned,
            missed: u64::try_from(p.missed_blocks_counter).unwrap_or(0),
        }
    }
}

/// Reads of slashing state.
pub trait SlashingRead: StateRead {
    /// The parameters (the defaults before genesis has set them).
    fn slashing_params(&self) -> Result<SlashingParams, SlashingError> {
        match self.get_proto::<sdk::Params>(&params_key())? {
            Some(p) => SlashingParams::from_proto(&p),
            None => Ok(SlashingParams::default()),
        }
    }

    /// The signing record of `cons`.
    fn signing_info(&self, cons: &[u8; 20]) -> Result<Option<SigningInfo>, SlashingError> {
        Ok(self
            .get_proto::<sdk::ValidatorSigningInfo>(&info_key(cons))?
            .map(|p| SigningInfo::from_proto(&p)))
    }

    /// Whether `cons` missed the block at index `i` of its window.
    fn missed_at(&self, cons: &[u8; 20], i: u64) -> Result<bool, SlashingError> {
        Ok(self.get_raw(&missed_key(cons, i))?.is_some())
    }
}

impl<T: StateRead + ?Sized> SlashingRead for T {}

/// Writes of slashing state.
pub trait SlashingWrite: StateWrite {
    /// Stores validated parameters.
    fn put_slashing_params(&mut self, params: &SlashingParams) -> Result<(), SlashingError> {
        params.validate()?;
        self.put_proto(params_key(), &params.to_proto())?;
        Ok(())
    }

    /// Stores `cons`'s signing record.
    fn put_signing_info(
        &mut self,
        cons: &[u8; 20],
        info: &SigningInfo,
    ) -> Result<(), SlashingError> {
        self.put_proto(info_key(cons), &info.to_proto(String::new()))?;
        Ok(())
    }

    /// Marks (or clears) a miss at index `i` of `cons`'s window.
    fn set_missed(&mut self, cons: &[u8; 20], i: u64, missed: bool) -> Result<(), SlashingError> {
        if missed {
            self.put_raw(missed_key(cons, i), Vec::new())?;
        } else {
            self.delete_raw(missed_key(cons, i))?;
        }
        Ok(())
    }

    /// Clears every miss of `cons` (at most a window's worth).
    fn clear_missed(&mut self, cons: &[u8; 20]) -> Result<(), SlashingError> {
        let prefix = missed_prefix(cons);
        loop {
            let page = self.prefix_raw(&prefix, None, 256)?;
            if page.is_empty() {
                return Ok(());
            }
            for (k, _) in page {
                self.delete_raw(k)?;
            }
        }
    }
}

impl<T: StateWrite + ?Sized> SlashingWrite for T {}
