//! Typed reads and writes of the module's records over the key-value store.

use deai_proto::rounds::v1 as pb;
use deai_types::{Address, StateRead, StateReadExt, StateWrite, StateWriteExt};

use crate::{mask, state_key, RoundsError};

fn read_u64<S: StateRead + ?Sized>(s: &S, key: &[u8]) -> Result<u64, RoundsError> {
    match s.get_raw(key)? {
        None => Ok(0),
        Some(b) => <[u8; 8]>::try_from(b.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| RoundsError::Corrupt("a counter is not 8 bytes".into())),
    }
}

/// Typed reads.
pub trait RoundsRead: StateRead {
    /// A round.
    fn round(&self, id: u64) -> Result<Option<pb::Round>, RoundsError> {
        Ok(self.get_proto(&state_key::round(id))?)
    }

    /// A round's evaluation set.
    fn eval_set(&self, id: u64) -> Result<Option<pb::EvalSet>, RoundsError> {
        Ok(self.get_proto(&state_key::eval_set(id))?)
    }

    /// A round's contributor by join index.
    fn contributor(&self, id: u64, index: u32) -> Result<Option<pb::Contributor>, RoundsError> {
        Ok(self.get_proto(&state_key::contributor(id, index))?)
    }

    /// A round's contributors in join order (at most `MAX_CONTRIBUTORS`).
    fn contributors(&self, id: u64) -> Result<Vec<pb::Contributor>, RoundsError> {
        let limit = usize::try_from(crate::params::MAX_CONTRIBUTORS).unwrap_or(usize::MAX);
        self.prefix_raw(&state_key::contributors_prefix(id), None, limit)?
            .into_iter()
            .map(|(_, v)| {
                prost::Message::decode(v.as_slice())
                    .map_err(|e| RoundsError::Corrupt(format!("contributor of round {id}: {e}")))
            })
            .collect()
    }

    /// A contributor's join index in a round.
    fn member_index(&self, id: u64, addr: &Address) -> Result<Option<u32>, RoundsError> {
        match self.get_raw(&state_key::member(id, addr))? {
            None => Ok(None),
            Some(b) => <[u8; 4]>::try_from(b.as_slice())
                .map(|a| Some(u32::from_be_bytes(a)))
                .map_err(|_| RoundsError::Corrupt("a member index is not 4 bytes".into())),
        }
    }

    /// A contributor's masked update.
    fn update(&self, id: u64, index: u32) -> Result<Option<Vec<u32>>, RoundsError> {
        match self.get_raw(&state_key::update(id, index))? {
            None => Ok(None),
            Some(b) => mask::decode_words(&b)
                .map(Some)
                .ok_or_else(|| RoundsError::Corrupt("an update is not whole words".into())),
        }
    }

    /// The seed contributor `index` revealed for `peer`.
    fn revealed(&self, id: u64, index: u32, peer: u32) -> Result<Option<[u8; 32]>, RoundsError> {
        match self.get_raw(&state_key::reveal(id, index, peer))? {
            None => Ok(None),
            Some(b) => <[u8; 32]>::try_from(b.as_slice())
                .map(Some)
                .map_err(|_| RoundsError::Corrupt("a revealed seed is not 32 bytes".into())),
        }
    }

    /// A model version.
    fn version(&self, id: u64) -> Result<Option<pb::ModelVersion>, RoundsError> {
        Ok(self.get_proto(&state_key::version(id))?)
    }

    /// A version's head; version 0 is the zero head of `classes` rows.
    fn head(&self, id: u64, classes: u32) -> Result<Option<Vec<i32>>, RoundsError> {
        if id == 0 {
            return Ok(Some(vec![0; crate::params::words(classes)]));
        }
        match self.get_raw(&state_key::head(id))? {
            None => Ok(None),
            Some(b) => mask::decode_head(&b)
                .map(Some)
                .ok_or_else(|| RoundsError::Corrupt(format!("head of version {id}"))),
        }
    }

    /// How many rounds are open.
    fn open_count(&self) -> Result<u64, RoundsError> {
        read_u64(self, &state_key::open_count())
    }

    /// The round ids whose phase ends at `height` (at most `MAX_OPEN_ROUNDS`).
    fn due_at(&self, height: u64) -> Result<Vec<u64>, RoundsError> {
        let limit = usize::try_from(crate::params::MAX_OPEN_ROUNDS).unwrap_or(usize::MAX);
        let prefix = state_key::due_prefix(height);
        self.prefix_raw(&prefix, None, limit)?
            .into_iter()
            .map(|(k, _)| {
                k.get(prefix.len()..)
                    .and_then(|r| <[u8; 8]>::try_from(r).ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| RoundsError::Corrupt("a due key".into()))
            })
            .collect()
    }
}

impl<T: StateRead + ?Sized> RoundsRead for T {}

/// Typed writes.
pub trait RoundsWrite: StateWrite {
    /// Takes the next id from the counter under `key` (ids start at 1).
    fn take_id(&mut self, key: Vec<u8>) -> Result<u64, RoundsError> {
        let next = read_u64(self, &key)?.max(1);
        let after = next
            .checked_add(1)
            .ok_or_else(|| RoundsError::Corrupt("id counter overflow".into()))?;
        self.put_raw(key, after.to_be_bytes().to_vec())?;
        Ok(next)
    }

    /// Writes a round.
    fn put_round(&mut self, r: &pb::Round) -> Result<(), RoundsError> {
        Ok(self.put_proto(state_key::round(r.id), r)?)
    }

    /// Writes a contributor and its address index.
    fn put_contributor(&mut self, id: u64, c: &pb::Contributor) -> Result<(), RoundsError> {
        Ok(self.put_proto(state_key::contributor(id, c.index), c)?)
    }

    /// Sets the open-round count.
    fn put_open_count(&mut self, n: u64) -> Result<(), RoundsError> {
        Ok(self.put_raw(state_key::open_count(), n.to_be_bytes().to_vec())?)
    }
}

impl<T: StateWrite + ?Sized> RoundsWrite for T {}
