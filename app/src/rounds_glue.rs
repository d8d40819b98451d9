//! The rounds module's view of the compute module, wired here so that
//! neither module depends on the other: a round's contributors must be
//! bonded, unjailed compute providers, its base model must be in compute's
//! registry, and a round with an evaluation set of texts evaluates its
//! heads with `classify` jobs in the compute market.

use deai_compute_module::{
    input::classify_input, msg::SubmitJob, record::sha3, BlockCtx, ComputeError, ComputeRead,
    JobStatus, Kind,
};
use deai_rounds::{ClassifyJob, JobOutcome, Providers, RoundsError};
use deai_types::{Address, Event, StateError, StateRead, StateWrite};

/// Reads compute's provider records and model registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComputeProviders;

fn compute_error(e: deai_compute_module::ComputeError) -> RoundsError {
    match e {
        deai_compute_module::ComputeError::State(s) => RoundsError::State(s),
        other => RoundsError::State(StateError::Storage(format!("compute records: {other}"))),
    }
}

impl Providers for ComputeProviders {
    fn eligible_bond(
        &self,
        state: &dyn StateRead,
        addr: &Address,
        height: u64,
    ) -> Result<Option<u128>, RoundsError> {
        Ok(state
            .provider(addr)
            .map_err(compute_error)?
            .filter(|p| !p.is_jailed(height))
            .map(|p| p.bond))
    }

    fn model_registered(&self, state: &dyn StateRead, model_id: &str) -> Result<bool, RoundsError> {
        Ok(state.model(model_id).map_err(compute_error)?.is_some())
    }

    fn classify_input(
        &self,
        classes: u32,
        head: &[i32],
        texts: &[u8],
    ) -> Result<(Vec<u8>, u32), String> {
        let (input, count) = classify_input(classes, &deai_rounds::mask::encode_head(head), texts)
            .map_err(|e| e.to_string())?;
        // At most 256 texts (an embed input).
        Ok((input, u32::try_from(count).unwrap_or(u32::MAX)))
    }

    fn submit_classify(
        &self,
        state: &mut dyn StateWrite,
        job: ClassifyJob<'_>,
    ) -> Result<Result<(u64, Vec<Event>), String>, RoundsError> {
        let submit = SubmitJob {
            requester: *job.requester,
            kind: Kind::Classify,
            model_id: Some(job.model_id.to_string()),
            input: job.input.to_vec(),
            input_hash: sha3(&[job.input]),
            replication: job.replication,
            price_per_replica: job.price_per_replica,
            deadline: None,
        };
        let ctx = BlockCtx {
            height: job.height,
            prev_app_hash: job.prev_app_hash.to_vec(),
        };
        let id = state.next_job_id().map_err(compute_error)?;
        match submit.execute(&mut &mut *state, &ctx) {
            Ok(events) => Ok(Ok((id, events))),
            Err(ComputeError::State(e)) => Err(RoundsError::State(e)),
            Err(other) => Ok(Err(other.to_string())),
        }
    }

    fn job_outcome(&self, state: &dyn StateRead, job_id: u64) -> Result<JobOutcome, RoundsError> {
        let job = state
            .job(job_id)
            .map_err(compute_error)?
            .ok_or_else(|| RoundsError::Corrupt(format!("evaluation job {job_id} is missing")))?;
        match job.status {
            JobStatus::Pending => return Ok(JobOutcome::Running { settles_at: 0 }),
            JobStatus::Assigned => {
                return Ok(JobOutcome::Running {
                    settles_at: job.reveal_deadline,
                })
            }
            JobStatus::Finalized | JobStatus::Disputed | JobStatus::Expired => {}
            JobStatus::Unspecified => {
                return Err(RoundsError::Corrupt(format!(
                    "evaluation job {job_id} has no status"
                )))
            }
        }
        let output = job.agreed_output().map(<[u8]>::to_vec);
        let paid = job
            .assignments
            .iter()
            .filter(|a| a.result_hash.is_some() && a.result_hash == job.result_hash)
            .count();
        let spent = if job.status == JobStatus::Finalized {
            job.price_per_replica
                .saturating_mul(u128::try_from(paid).unwrap_or(u128::MAX))
        } else {
            0
        };
        Ok(JobOutcome::Settled { output, spent })
    }
}
