//! Typed access to the compute module's state: parameters, models,
//! providers, jobs and the four height-ordered queues (pending jobs,
//! settlements, unbondings, jail releases), each drained from a stored
//! cursor so that its cost does not grow with the entries it once held.

use deai_proto::compute::v1 as pb;
use deai_types::{
    Address, Coin, Entries, StateError, StateRead, StateReadExt, StateWrite, StateWriteExt,
};

use crate::{
    record::{Job, Model, Provider},
    state_key, ComputeError, ComputeParams,
};

fn corrupt(what: &str) -> ComputeError {
    ComputeError::State(StateError::Storage(format!("malformed {what}")))
}

/// One withdrawal in the unbonding queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbondingEntry {
    /// The provider.
    pub provider: Address,
    /// udeai to pay out.
    pub amount: u128,
    /// Height in whose end_block it is paid.
    pub completion_height: u64,
}

/// Reads of compute state.
pub trait ComputeRead: StateRead {
    /// The parameters (defaults before genesis has set them), held within
    /// the ranges `validate` accepts ([`ComputeParams::clamped`]): stored
    /// params were validated, and clamping on read makes sure no stored
    /// value can make a block hook overflow or run unbounded anyway.
    fn compute_params(&self) -> Result<ComputeParams, ComputeError> {
        match self.get_proto::<pb::Params>(&state_key::params())? {
            None => Ok(ComputeParams::default()),
            Some(p) => Ok(ComputeParams::from_proto(&p)?.clamped()),
        }
    }

    /// The model with lowercase hex id `id`.
    fn model(&self, id: &str) -> Result<Option<Model>, ComputeError> {
        Ok(self
            .get_proto::<pb::Model>(&state_key::model(id))?
            .map(|m| Model::from_proto(&m)))
    }

    /// Models in id order, after the key `after`, at most `limit`, with their keys.
    fn models(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Model)>, ComputeError> {
        self.prefix_raw(&state_key::models_prefix(), after, limit)?
            .into_iter()
            .map(|(k, v)| {
                let m = <pb::Model as prost::Message>::decode(v.as_slice())
                    .map_err(|_| corrupt("model"))?;
                Ok((k, Model::from_proto(&m)))
            })
            .collect()
    }

    /// The provider at `addr`.
    fn provider(&self, addr: &Address) -> Result<Option<Provider>, ComputeError> {
        self.get_proto::<pb::Provider>(&state_key::provider(addr))?
            .map(|p| Provider::from_proto(&p))
            .transpose()
    }

    /// Providers in address-byte order, after the key `after`, at most `limit`, with their keys.
    fn providers(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Provider)>, ComputeError> {
        self.prefix_raw(&state_key::providers_prefix(), after, limit)?
            .into_iter()
            .map(|(k, v)| {
                let p = <pb::Provider as prost::Message>::decode(v.as_slice())
                    .map_err(|_| corrupt("provider"))?;
                Ok((k, Provider::from_proto(&p)?))
            })
            .collect()
    }

    /// The job with id `id`.
    fn job(&self, id: u64) -> Result<Option<Job>, ComputeError> {
        self.get_proto::<pb::Job>(&state_key::job(id))?
            .map(|j| Job::from_proto(&j))
            .transpose()
    }

    /// Jobs in id order, after the key `after`, at most `limit`, with their keys.
    fn jobs(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Job)>, ComputeError> {
        self.prefix_raw(&state_key::jobs_prefix(), after, limit)?
            .into_iter()
            .map(|(k, v)| {
                let j = <pb::Job as prost::Message>::decode(v.as_slice())
                    .map_err(|_| corrupt("job"))?;
                Ok((k, Job::from_proto(&j)?))
            })
            .collect()
    }

    /// The id the next job will get (1 before any job).
    fn next_job_id(&self) -> Result<u64, ComputeError> {
        match self.get_raw(&state_key::next_job_id())? {
            None => Ok(1),
            Some(b) => Ok(u64::from_be_bytes(
                b.as_slice()
                    .try_into()
                    .map_err(|_| corrupt("next job id"))?,
            )),
        }
    }

    /// The unbonding of `provider` completing at `height`, if any.
    fn unbonding_at(&self, height: u64, provider: &Address) -> Result<u128, ComputeError> {
        match self.get_proto::<pb::Unbonding>(&state_key::unbonding(height, provider))? {
            None => Ok(0),
            Some(u) => Coin::parse_amount(&u.amount).map_err(|_| corrupt("unbonding")),
        }
    }

    /// The cursor of the height-ordered queue under `prefix`: every entry
    /// below it has been processed. `None` before the queue was first drained.
    fn queue_cursor(&self, prefix: &[u8]) -> Result<Option<u64>, ComputeError> {
        read_u64(self, &state_key::queue_cursor(prefix))
    }

    /// The reward epoch last minted in and the udeai minted in it (0, 0 before any).
    fn epoch_minted(&self) -> Result<(u64, u128), ComputeError> {
        match self.get_raw(&state_key::epoch_minted())? {
            None => Ok((0, 0)),
            Some(b) => {
                let (e, m) = b
                    .split_at_checked(8)
                    .ok_or_else(|| corrupt("epoch minted"))?;
                Ok((
                    u64::from_be_bytes(e.try_into().map_err(|_| corrupt("epoch minted"))?),
                    u128::from_be_bytes(m.try_into().map_err(|_| corrupt("epoch minted"))?),
                ))
            }
        }
    }
}

/// Reads a big-endian `u64` stored under `key`.
pub(crate) fn read_u64<S: StateRead + ?Sized>(
    state: &S,
    key: &[u8],
) -> Result<Option<u64>, ComputeError> {
    match state.get_raw(key)? {
        None => Ok(None),
        Some(b) => Ok(Some(u64::from_be_bytes(
            b.as_slice().try_into().map_err(|_| corrupt("counter"))?,
        ))),
    }
}

impl<T: StateRead + ?Sized> ComputeRead for T {}

/// Writes of compute state.
pub trait ComputeWrite: StateWrite {
    /// Stores validated parameters.
    fn put_compute_params(&mut self, params: &ComputeParams) -> Result<(), ComputeError> {
        params.validate()?;
        self.put_proto(state_key::params(), &params.to_proto())?;
        Ok(())
    }

    /// Stores a model.
    fn put_model(&mut self, model: &Model) -> Result<(), ComputeError> {
        self.put_proto(state_key::model(&model.id), &model.to_proto())?;
        Ok(())
    }

    /// Removes a model.
    fn delete_model(&mut self, id: &str) -> Result<(), ComputeError> {
        self.delete_raw(state_key::model(id))?;
        Ok(())
    }

    /// Stores a provider and brings its weight in the sampling index up to
    /// date (its bond if it is eligible, else 0), so that every change of
    /// bond or jail term, whatever made it, reaches assignment.
    fn put_provider(&mut self, provider: &Provider) -> Result<(), ComputeError> {
        self.put_proto(state_key::provider(&provider.address), &provider.to_proto())?;
        let params = self.compute_params()?;
        crate::sampler::set_weight(
            self,
            &provider.address,
            crate::sampler::eligible_weight(provider, &params),
        )?;
        Ok(())
    }

    /// Stores a job.
    fn put_job(&mut self, job: &Job) -> Result<(), ComputeError> {
        self.put_proto(state_key::job(job.id), &job.to_proto())?;
        Ok(())
    }

    /// Hands out the next job id.
    fn take_job_id(&mut self) -> Result<u64, ComputeError> {
        let id = self.next_job_id()?;
        let next = id
            .checked_add(1)
            .ok_or_else(|| ComputeError::Overflow("job id".into()))?;
        self.put_raw(state_key::next_job_id(), next.to_be_bytes().to_vec())?;
        Ok(id)
    }

    /// Queues job `id` to be examined for assignment in the begin_block of `due`.
    fn push_pending(&mut self, due: u64, id: u64) -> Result<(), ComputeError> {
        self.lower_queue_cursor(&state_key::pending_prefix(), due)?;
        self.put_raw(state_key::pending(due, id), Vec::new())?;
        Ok(())
    }

    /// Queues job `id` for settlement at `deadline`.
    fn push_settlement(&mut self, deadline: u64, id: u64) -> Result<(), ComputeError> {
        self.lower_queue_cursor(&state_key::settlement_prefix(), deadline)?;
        self.put_raw(state_key::settlement(deadline, id), Vec::new())?;
        Ok(())
    }

    /// Adds `amount` to the withdrawal of `provider` completing at `height`.
    fn add_unbonding(
        &mut self,
        height: u64,
        provider: &Address,
        amount: u128,
    ) -> Result<(), ComputeError> {
        let total = self
            .unbonding_at(height, provider)?
            .checked_add(amount)
            .ok_or_else(|| ComputeError::Overflow("unbonding".into()))?;
        self.lower_queue_cursor(&state_key::unbonding_prefix(), height)?;
        self.put_proto(
            state_key::unbonding(height, provider),
            &pb::Unbonding {
                provider: provider.to_bech32(),
                amount: total.to_string(),
                completion_height: height,
            },
        )?;
        Ok(())
    }

    /// Queues the release of `provider` from jail at `height`. A release
    /// queued earlier for another height is left in place (deleting it would
    /// leave a deletion marker ahead of the queue's cursor, which every scan
    /// would walk); it is skipped when due, since it no longer matches the
    /// provider's `jailed_until`.
    fn push_jail_release(&mut self, height: u64, provider: &Address) -> Result<(), ComputeError> {
        self.lower_queue_cursor(&state_key::jail_prefix(), height)?;
        self.put_raw(state_key::jail(height, provider), Vec::new())?;
        Ok(())
    }

    /// Moves the cursor of the queue under `prefix` down to `height` if an
    /// entry is queued below it (it never is in practice: every queue is
    /// pushed ahead of the block being executed; this keeps a queue correct
    /// regardless).
    fn lower_queue_cursor(&mut self, prefix: &[u8], height: u64) -> Result<(), ComputeError> {
        if let Some(c) = self.queue_cursor(prefix)? {
            if height < c {
                self.put_raw(
                    state_key::queue_cursor(prefix),
                    height.to_be_bytes().to_vec(),
                )?;
            }
        }
        Ok(())
    }

    /// Takes (returns and deletes) the entries of the height-ordered queue
    /// under `prefix` that are due at or before `height`, earliest first, at
    /// most `limit`.
    ///
    /// The store keeps a deletion marker for every deleted key and a prefix
    /// scan walks them, so the queue is never scanned from its first key:
    /// each step seeks straight past the cursor (the lowest height that may
    /// hold an entry) to the first live entry, then reads that height's
    /// entries only. The cursor is stored whenever entries are taken, so
    /// the markers they leave lie below it and are never walked again; an
    /// empty block costs one seek per queue however many entries the queue
    /// has ever held.
    fn take_due(
        &mut self,
        prefix: &[u8],
        height: u64,
        limit: usize,
    ) -> Result<Entries, ComputeError> {
        let stored = self.queue_cursor(prefix)?;
        let mut cursor = stored.unwrap_or(0);
        let mut out: Entries = Vec::new();
        while cursor <= height {
            let remaining = limit.saturating_sub(out.len());
            if remaining == 0 {
                break;
            }
            let seek = state_key::queue_seek(prefix, cursor);
            let first = self.prefix_raw(prefix, Some(&seek), 1)?;
            let Some((k, _)) = first.first() else {
                cursor = height.saturating_add(1);
                break;
            };
            let due =
                state_key::parse_queue_height(prefix, k).ok_or_else(|| corrupt("queue key"))?;
            if due > height {
                cursor = height.saturating_add(1);
                break;
            }
            // One entry more than wanted tells whether the height is done:
            // the cursor stays on it only while a live entry is left there,
            // which the next block takes (and so stores the cursor again).
            let mut batch = self.prefix_raw(
                &state_key::queue_seek(prefix, due),
                None,
                remaining.saturating_add(1),
            )?;
            let more = batch.len() > remaining;
            batch.truncate(remaining);
            for (k, _) in &batch {
                self.delete_raw(k.clone())?;
            }
            out.extend(batch);
            if more || due == u64::MAX {
                cursor = due;
                break;
            }
            cursor = due.saturating_add(1);
        }
        if stored != Some(cursor) && (!out.is_empty() || stored.is_none()) {
            self.put_raw(
                state_key::queue_cursor(prefix),
                cursor.to_be_bytes().to_vec(),
            )?;
        }
        Ok(out)
    }

    /// Takes the jobs due for examination in begin_block at `height`, as
    /// (due height, job id), earliest first, at most `limit`.
    fn take_due_pending(
        &mut self,
        height: u64,
        limit: usize,
    ) -> Result<Vec<(u64, u64)>, ComputeError> {
        self.take_due(&state_key::pending_prefix(), height, limit)?
            .into_iter()
            .map(|(k, _)| state_key::parse_pending(&k).ok_or_else(|| corrupt("pending key")))
            .collect()
    }

    /// Takes the settlements due at or before `height`, as (deadline, job
    /// id), earliest first, at most `limit`.
    fn take_due_settlements(
        &mut self,
        height: u64,
        limit: usize,
    ) -> Result<Vec<(u64, u64)>, ComputeError> {
        self.take_due(&state_key::settlement_prefix(), height, limit)?
            .into_iter()
            .map(|(k, _)| state_key::parse_settlement(&k).ok_or_else(|| corrupt("settlement key")))
            .collect()
    }

    /// Takes the unbondings due at or before `height`, earliest first, at most `limit`.
    fn take_due_unbondings(
        &mut self,
        height: u64,
        limit: usize,
    ) -> Result<Vec<UnbondingEntry>, ComputeError> {
        self.take_due(&state_key::unbonding_prefix(), height, limit)?
            .into_iter()
            .map(|(_, v)| {
                let u = <pb::Unbonding as prost::Message>::decode(v.as_slice())
                    .map_err(|_| corrupt("unbonding"))?;
                Ok(UnbondingEntry {
                    provider: u.provider.parse().map_err(|_| corrupt("unbonding"))?,
                    amount: Coin::parse_amount(&u.amount).map_err(|_| corrupt("unbonding"))?,
                    completion_height: u.completion_height,
                })
            })
            .collect()
    }

    /// Takes the jail releases due at or before `height`, earliest first, at most `limit`.
    fn take_due_jail_releases(
        &mut self,
        height: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Address)>, ComputeError> {
        self.take_due(&state_key::jail_prefix(), height, limit)?
            .into_iter()
            .map(|(k, _)| state_key::parse_jail(&k).ok_or_else(|| corrupt("jail key")))
            .collect()
    }

    /// Records the reward epoch and the udeai minted in it so far.
    fn put_epoch_minted(&mut self, epoch: u64, minted: u128) -> Result<(), ComputeError> {
        let mut v = epoch.to_be_bytes().to_vec();
        v.extend_from_slice(&minted.to_be_bytes());
        self.put_raw(state_key::epoch_minted(), v)?;
        Ok(())
    }
}

impl<T: StateWrite + ?Sized> ComputeWrite for T {}
