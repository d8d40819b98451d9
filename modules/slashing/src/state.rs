//! Slashing state: parameters, one signing record per validator consensus
//! address (the SDK's `ValidatorSigningInfo`), and a missed-block mark per
//! missed index of its window. All keys start with `slashing/`.
//!
//! Windows have generations. A change of the window's length starts a new
//! one (a counter, one write), and marks are keyed generation first, so the
//! marks of every older generation are garbage that begin block deletes a
//! bounded number at a time, oldest generation first, from the lowest one
//! that may still hold any (`slashing/gc_floor`). Each signing record is
//! stamped with the generation it was counted in, in a key of its own
//! beside it (`slashing/info_gen/{cons}`): the SDK's `ValidatorSigningInfo`
//! has no field for it, and the queries answer with the stored bytes. A
//! record of an older generation reads as the window change left it: its
//! window empty (see [`SigningInfo::reset_window`]).

use cosmos_sdk_proto::cosmos::slashing::v1beta1 as sdk;
use deai_types::{module::BlockTime, StateRead, StateReadExt, StateWrite, StateWriteExt};

use crate::{SlashingError, SlashingParams};

/// The generation of the layout before generations: records without a
/// stamp, and marks under `slashing/missed/{cons 20}{index be8}`. A chain
/// that ran it finds them garbage like any older generation's.
pub const LEGACY_GENERATION: u64 = 0;
/// The generation a chain starts in.
pub const FIRST_GENERATION: u64 = 1;

/// The parameters' key.
pub fn params_key() -> Vec<u8> {
    b"slashing/params".to_vec()
}

/// The current window generation (big-endian; absent: [`FIRST_GENERATION`]).
pub fn generation_key() -> Vec<u8> {
    b"slashing/generation".to_vec()
}

/// The lowest generation that may still hold marks (big-endian; absent:
/// [`LEGACY_GENERATION`]).
pub fn gc_floor_key() -> Vec<u8> {
    b"slashing/gc_floor".to_vec()
}

/// Prefix of the signing records.
pub const INFOS: &[u8] = b"slashing/info/";

/// The signing record of consensus address `cons`.
pub fn info_key(cons: &[u8; 20]) -> Vec<u8> {
    let mut k = INFOS.to_vec();
    k.extend_from_slice(cons);
    k
}

/// Prefix of the signing records' generation stamps.
pub const INFO_GENERATIONS: &[u8] = b"slashing/info_gen/";

/// The generation `cons`'s signing record was counted in (big-endian;
/// absent: [`LEGACY_GENERATION`]).
pub fn info_generation_key(cons: &[u8; 20]) -> Vec<u8> {
    let mut k = INFO_GENERATIONS.to_vec();
    k.extend_from_slice(cons);
    k
}

/// Prefix of every validator's marks in generation `generation`.
pub fn marks_prefix(generation: u64) -> Vec<u8> {
    if generation == LEGACY_GENERATION {
        return b"slashing/missed/".to_vec();
    }
    let mut k = b"slashing/marks/".to_vec();
    k.extend_from_slice(&generation.to_be_bytes());
    k
}

/// Prefix of `cons`'s marks in generation `generation`.
pub fn missed_prefix(generation: u64, cons: &[u8; 20]) -> Vec<u8> {
    let mut k = marks_prefix(generation);
    k.extend_from_slice(cons);
    k
}

/// The mark for index `i` of `cons`'s window in generation `generation`
/// (present: missed).
pub fn missed_key(generation: u64, cons: &[u8; 20], i: u64) -> Vec<u8> {
    let mut k = missed_prefix(generation, cons);
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// The big-endian number under `key`, or `absent`.
fn read_u64<S: StateRead + ?Sized>(
    state: &S,
    key: &[u8],
    absent: u64,
) -> Result<u64, SlashingError> {
    match state.get_raw(key)? {
        None => Ok(absent),
        Some(v) => Ok(u64::from_be_bytes(v.as_slice().try_into().map_err(
            |_| SlashingError::Corrupt(format!("{} is not 8 bytes", String::from_utf8_lossy(key))),
        )?)),
    }
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

    /// Empties the window, as a change of its length does: no block counted
    /// and none missed. The start height stays, so a validator past its
    /// first window is not given a second one.
    pub fn reset_window(&mut self) {
        self.index_offset = 0;
        self.missed = 0;
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

    /// The current window generation.
    fn window_generation(&self) -> Result<u64, SlashingError> {
        read_u64(self, &generation_key(), FIRST_GENERATION)
    }

    /// The lowest generation that may still hold marks: none below it does.
    fn gc_floor(&self) -> Result<u64, SlashingError> {
        read_u64(self, &gc_floor_key(), LEGACY_GENERATION)
    }

    /// Whether `cons`'s record was counted in an older generation than the
    /// current one (its window is then empty, whatever it says).
    fn signing_info_is_stale(&self, cons: &[u8; 20]) -> Result<bool, SlashingError> {
        Ok(
            read_u64(self, &info_generation_key(cons), LEGACY_GENERATION)?
                < self.window_generation()?,
        )
    }

    /// The signing record of `cons` as the current window counts it: one
    /// counted in an older generation is shown reset, as the window change
    /// left it (what an operator sees is the window its next vote counts in).
    fn signing_info(&self, cons: &[u8; 20]) -> Result<Option<SigningInfo>, SlashingError> {
        let Some(p) = self.get_proto::<sdk::ValidatorSigningInfo>(&info_key(cons))? else {
            return Ok(None);
        };
        let mut info = SigningInfo::from_proto(&p);
        if self.signing_info_is_stale(cons)? {
            info.reset_window();
        }
        Ok(Some(info))
    }

    /// Whether `cons` missed the block at index `i` of its current window.
    fn missed_at(&self, cons: &[u8; 20], i: u64) -> Result<bool, SlashingError> {
        let generation = self.window_generation()?;
        Ok(self.get_raw(&missed_key(generation, cons, i))?.is_some())
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

    /// Starts a new window generation: every record counts afresh from its
    /// next vote, and every mark so far is garbage. O(1): nothing is walked.
    fn start_window_generation(&mut self) -> Result<(), SlashingError> {
        let next = self
            .window_generation()?
            .checked_add(1)
            .ok_or_else(|| SlashingError::Corrupt("window generation overflows".into()))?;
        self.put_raw(generation_key(), next.to_be_bytes().to_vec())?;
        Ok(())
    }

    /// Records that no generation below `floor` holds marks.
    fn put_gc_floor(&mut self, floor: u64) -> Result<(), SlashingError> {
        self.put_raw(gc_floor_key(), floor.to_be_bytes().to_vec())?;
        Ok(())
    }

    /// Stores `cons`'s signing record, as counted in the current generation.
    fn put_signing_info(
        &mut self,
        cons: &[u8; 20],
        info: &SigningInfo,
    ) -> Result<(), SlashingError> {
        self.put_proto(info_key(cons), &info.to_proto(String::new()))?;
        if self.signing_info_is_stale(cons)? {
            let generation = self.window_generation()?;
            self.put_raw(info_generation_key(cons), generation.to_be_bytes().to_vec())?;
        }
        Ok(())
    }

    /// Marks (or clears) a miss at index `i` of `cons`'s current window.
    fn set_missed(&mut self, cons: &[u8; 20], i: u64, missed: bool) -> Result<(), SlashingError> {
        let key = missed_key(self.window_generation()?, cons, i);
        if missed {
            self.put_raw(key, Vec::new())?;
        } else {
            self.delete_raw(key)?;
        }
        Ok(())
    }

    /// Clears every miss of `cons` in the current generation (at most a
    /// window's worth); older generations' marks are left to
    /// [`SlashingWrite::delete_old_marks`].
    fn clear_missed(&mut self, cons: &[u8; 20]) -> Result<(), SlashingError> {
        let prefix = missed_prefix(self.window_generation()?, cons);
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

    /// Deletes marks of generations older than the current one, oldest
    /// first, spending at most `budget`: one per mark deleted and one per
    /// generation found empty (so many empty generations cost a bounded
    /// number of scans too). Reads nothing past the two counters when no
    /// old generation is left. Returns the marks deleted.
    fn delete_old_marks(&mut self, budget: usize) -> Result<usize, SlashingError> {
        let current = self.window_generation()?;
        let start = self.gc_floor()?;
        let mut floor = start;
        let mut left = budget;
        let mut deleted = 0usize;
        while floor < current && left > 0 {
            let page = self.prefix_raw(&marks_prefix(floor), None, left)?;
            let found = page.len();
            for (k, _) in page {
                self.delete_raw(k)?;
            }
            deleted = deleted.saturating_add(found);
            if found == left {
                // The budget ran out, perhaps with more of this generation left.
                break;
            }
            // Fewer than asked: this generation is empty now.
            left = left.saturating_sub(found).saturating_sub(1);
            floor = floor.saturating_add(1);
        }
        if floor != start {
            self.put_gc_floor(floor)?;
        }
        Ok(deleted)
    }
}

impl<T: StateWrite + ?Sized> SlashingWrite for T {}
