//! Typed access to the compute module's state: parameters, models,
//! providers, jobs and the three height-ordered queues (pending jobs,
//! settlements, unbondings) plus the jail-expiry queue.

use deai_proto::compute::v1 as pb;
use deai_types::{Address, Coin, StateError, StateRead, StateReadExt, StateWrite, StateWriteExt};

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
    /// The parameters (defaults before genesis has set them).
    fn compute_params(&self) -> Result<ComputeParams, ComputeError> {
        match self.get_proto::<pb::Params>(&state_key::params())? {
            None => Ok(ComputeParams::default()),
            Some(p) => ComputeParams::from_proto(&p),
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

    /// Ids of jobs waiting for assignment, lowest first, at most `limit`.
    fn pending_jobs(&self, limit: usize) -> Result<Vec<u64>, ComputeError> {
        let prefix = state_key::pending_prefix();
        self.prefix_raw(&prefix, None, limit)?
            .into_iter()
            .map(|(k, _)| {
                let rest = k
                    .get(prefix.len()..)
                    .ok_or_else(|| corrupt("pending key"))?;
                Ok(u64::from_be_bytes(
                    rest.try_into().map_err(|_| corrupt("pending key"))?,
                ))
            })
            .collect()
    }

    /// Settlements due at or before `height`, as (deadline, job id), earliest first, at most `limit`.
    fn due_settlements(&self, height: u64, limit: usize) -> Result<Vec<(u64, u64)>, ComputeError> {
        let mut out = Vec::new();
        for (k, _) in self.prefix_raw(&state_key::settlement_prefix(), None, limit)? {
            let (deadline, id) =
                state_key::parse_settlement(&k).ok_or_else(|| corrupt("settlement key"))?;
            if deadline > height {
                break;
            }
            out.push((deadline, id));
        }
        Ok(out)
    }

    /// Unbondings due at or before `height`, earliest first, at most `limit`.
    fn due_unbondings(
        &self,
        height: u64,
        limit: usize,
    ) -> Result<Vec<UnbondingEntry>, ComputeError> {
        let mut out = Vec::new();
        for (k, v) in self.prefix_raw(&state_key::unbonding_prefix(), None, limit)? {
            let h =
                state_key::parse_unbonding_height(&k).ok_or_else(|| corrupt("unbonding key"))?;
            if h > height {
                break;
            }
            let u = <pb::Unbonding as prost::Message>::decode(v.as_slice())
                .map_err(|_| corrupt("unbonding"))?;
            out.push(UnbondingEntry {
                provider: u.provider.parse().map_err(|_| corrupt("unbonding"))?,
                amount: Coin::parse_amount(&u.amount).map_err(|_| corrupt("unbonding"))?,
                completion_height: u.completion_height,
            });
        }
        Ok(out)
    }

    /// The unbonding of `provider` completing at `height`, if any.
    fn unbonding_at(&self, height: u64, provider: &Address) -> Result<u128, ComputeError> {
        match self.get_proto::<pb::Unbonding>(&state_key::unbonding(height, provider))? {
            None => Ok(0),
            Some(u) => Coin::parse_amount(&u.amount).map_err(|_| corrupt("unbonding")),
        }
    }

    /// Jail releases due at or before `height`, earliest first, at most `limit`.
    fn due_jail_releases(
        &self,
        height: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Address)>, ComputeError> {
        let mut out = Vec::new();
        for (k, _) in self.prefix_raw(&state_key::jail_prefix(), None, limit)? {
            let (h, a) = state_key::parse_jail(&k).ok_or_else(|| corrupt("jail key"))?;
            if h > height {
                break;
            }
            out.push((h, a));
        }
        Ok(out)
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

    /// Stores a provider.
    fn put_provider(&mut self, provider: &Provider) -> Result<(), ComputeError> {
        self.put_proto(state_key::provider(&provider.address), &provider.to_proto())?;
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

    /// Queues job `id` for assignment.
    fn push_pending(&mut self, id: u64) -> Result<(), ComputeError> {
        self.put_raw(state_key::pending(id), Vec::new())?;
        Ok(())
    }

    /// Takes job `id` off the assignment queue.
    fn remove_pending(&mut self, id: u64) -> Result<(), ComputeError> {
        self.delete_raw(state_key::pending(id))?;
        Ok(())
    }

    /// Queues job `id` for settlement at `deadline`.
    fn push_settlement(&mut self, deadline: u64, id: u64) -> Result<(), ComputeError> {
        self.put_raw(state_key::settlement(deadline, id), Vec::new())?;
        Ok(())
    }

    /// Takes job `id` off the settlement queue.
    fn remove_settlement(&mut self, deadline: u64, id: u64) -> Result<(), ComputeError> {
        self.delete_raw(state_key::settlement(deadline, id))?;
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

    /// Removes the withdrawal of `provider` completing at `height`.
    fn remove_unbonding(&mut self, height: u64, provider: &Address) -> Result<(), ComputeError> {
        self.delete_raw(state_key::unbonding(height, provider))?;
        Ok(())
    }

    /// Queues the release of `provider` from jail at `height`.
    fn push_jail_release(&mut self, height: u64, provider: &Address) -> Result<(), ComputeError> {
        self.put_raw(state_key::jail(height, provider), Vec::new())?;
        Ok(())
    }

    /// Removes a queued jail release.
    fn remove_jail_release(&mut self, height: u64, provider: &Address) -> Result<(), ComputeError> {
        self.delete_raw(state_key::jail(height, provider))?;
        Ok(())
    }
}

impl<T: StateWrite + ?Sized> ComputeWrite for T {}
