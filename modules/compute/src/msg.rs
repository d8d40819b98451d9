//! Compute messages: decoded from protobuf with stateless checks
//! (`from_proto`), then executed against state (`execute`), which makes its
//! stateful checks before it writes anything of its own.

use cosmos_sdk_proto::Any;
use deai_bank::BankWrite;
use deai_proto::compute::v1 as pb;
use deai_types::{Address, Coin, Event, ModuleMsg, MsgCtx, MsgError, StateWrite, BASE_DENOM};
use prost::Message;

use crate::{
    block, event,
    record::{commitment, sha3, validate_model_id, Hash, Job, JobStatus, Kind, Model, Provider},
    BlockCtx, ComputeError, ComputeParams, ComputeRead, ComputeWrite,
};

/// Longest salt a reveal may carry, in bytes.
pub const MAX_SALT_BYTES: usize = 64;
/// Longest device description, in bytes.
pub const MAX_DEVICE_BYTES: usize = 256;

pub(crate) fn parse_address(field: &str, s: &str) -> Result<Address, ComputeError> {
    s.parse()
        .map_err(|e| ComputeError::InvalidAddress(format!("{field}: {e}")))
}

/// Parses an account that moves money in or out of the compute module
/// account: it may not be that account itself, whose balance must equal
/// exactly the bonds, unbondings and escrows it holds for others.
fn parse_party(field: &str, s: &str) -> Result<Address, ComputeError> {
    let a = parse_address(field, s)?;
    check_party(field, &a)?;
    Ok(a)
}

/// The check of [`parse_party`], repeated on execution for messages the app
/// builds directly (a governance proposal's job, say).
fn check_party(field: &str, a: &Address) -> Result<(), ComputeError> {
    if a == &crate::module_address() {
        return Err(ComputeError::InvalidAddress(format!(
            "{field}: the compute module account cannot be a provider or requester"
        )));
    }
    Ok(())
}

fn parse_positive(field: &str, s: &str) -> Result<u128, ComputeError> {
    let v =
        Coin::parse_amount(s).map_err(|e| ComputeError::InvalidAmount(format!("{field}: {e}")))?;
    if v == 0 {
        return Err(ComputeError::InvalidAmount(format!(
            "{field} must be positive"
        )));
    }
    Ok(v)
}

fn parse_hash(field: &str, b: &[u8]) -> Result<Hash, ComputeError> {
    Hash::try_from(b).map_err(|_| {
        ComputeError::InvalidAmount(format!("{field} must be 32 bytes, got {}", b.len()))
    })
}

fn udeai(amount: u128) -> Vec<Coin> {
    vec![Coin::new(amount, BASE_DENOM)]
}

pub(crate) fn check_gov(authority: &Address) -> Result<(), ComputeError> {
    let gov = crate::gov_address();
    if authority != &gov {
        return Err(ComputeError::Unauthorized {
            expected: gov.to_bech32(),
            got: authority.to_bech32(),
        });
    }
    Ok(())
}

fn load_provider<S: ComputeRead>(state: &S, addr: &Address) -> Result<Provider, ComputeError> {
    state
        .provider(addr)?
        .ok_or_else(|| ComputeError::ProviderNotFound(addr.to_bech32()))
}

fn load_job<S: ComputeRead>(state: &S, id: u64) -> Result<Job, ComputeError> {
    state.job(id)?.ok_or(ComputeError::JobNotFound(id))
}

/// A checked `MsgRegisterProvider`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterProvider {
    /// The provider and signer.
    pub provider: Address,
    /// The opening bond, udeai.
    pub bond: u128,
    /// Device description.
    pub device: String,
}

impl RegisterProvider {
    /// Stateless checks.
    pub fn from_proto(m: &pb::MsgRegisterProvider) -> Result<Self, ComputeError> {
        if m.device.len() > MAX_DEVICE_BYTES {
            return Err(ComputeError::InvalidAmount(format!(
                "device description is {} bytes, at most {MAX_DEVICE_BYTES}",
                m.device.len()
            )));
        }
        Ok(RegisterProvider {
            provider: parse_party("provider", &m.provider)?,
            bond: parse_positive("bond", &m.bond)?,
            device: m.device.clone(),
        })
    }

    /// Bonds the provider's stake into the module account and records it.
    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &BlockCtx,
    ) -> Result<Vec<Event>, ComputeError> {
        check_party("provider", &self.provider)?;
        let params = state.compute_params()?;
        if self.bond < params.min_provider_bond {
            return Err(ComputeError::BondTooSmall {
                min: params.min_provider_bond,
                got: self.bond,
            });
        }
        if state.provider(&self.provider)?.is_some() {
            return Err(ComputeError::ProviderExists(self.provider.to_bech32()));
        }
        let mut events = state.send(&self.provider, &crate::module_address(), &udeai(self.bond))?;
        state.put_provider(&Provider {
            address: self.provider,
            bond: self.bond,
            device: self.device.clone(),
            jailed_until: 0,
            open_jobs: 0,
            registered_height: ctx.height,
            unbonding: 0,
        })?;
        events.push(event::provider_registered(
            &self.provider,
            self.bond,
            &self.device,
        ));
        Ok(events)
    }
}

/// A checked `MsgBond`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bond {
    /// The provider and signer.
    pub provider: Address,
    /// udeai to add.
    pub amount: u128,
}

impl Bond {
    /// Stateless checks.
    pub fn from_proto(m: &pb::MsgBond) -> Result<Self, ComputeError> {
        Ok(Bond {
            provider: parse_party("provider", &m.provider)?,
            amount: parse_positive("amount", &m.amount)?,
        })
    }

    /// Adds to the bond.
    pub fn execute<S: StateWrite>(&self, state: &mut S) -> Result<Vec<Event>, ComputeError> {
        check_party("provider", &self.provider)?;
        let mut p = load_provider(state, &self.provider)?;
        p.bond = p
            .bond
            .checked_add(self.amount)
            .ok_or_else(|| ComputeError::Overflow("bond".into()))?;
        let mut events = state.send(
            &self.provider,
            &crate::module_address(),
            &udeai(self.amount),
        )?;
        state.put_provider(&p)?;
        events.push(event::provider_bonded(&self.provider, self.amount, p.bond));
        Ok(events)
    }
}

/// A checked `MsgUnbond`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbond {
    /// The provider and signer.
    pub provider: Address,
    /// udeai to withdraw.
    pub amount: u128,
}

impl Unbond {
    /// Stateless checks.
    pub fn from_proto(m: &pb::MsgUnbond) -> Result<Self, ComputeError> {
        Ok(Unbond {
            provider: parse_address("provider", &m.provider)?,
            amount: parse_positive("amount", &m.amount)?,
        })
    }

    /// Moves `amount` from the bond into the unbonding queue; it is paid out
    /// in the end_block of `height + unbonding_period`. Refused while the
    /// provider has unsettled jobs, whose slashes its bond must cover.
    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &BlockCtx,
    ) -> Result<Vec<Event>, ComputeError> {
        let params = state.compute_params()?;
        let mut p = load_provider(state, &self.provider)?;
        if p.open_jobs > 0 {
            return Err(ComputeError::OpenJobs {
                provider: self.provider.to_bech32(),
                open_jobs: p.open_jobs,
            });
        }
        p.bond = p
            .bond
            .checked_sub(self.amount)
            .ok_or_else(|| ComputeError::InsufficientBond {
                provider: self.provider.to_bech32(),
                bonded: p.bond,
                requested: self.amount,
            })?;
        p.unbonding = p
            .unbonding
            .checked_add(self.amount)
            .ok_or_else(|| ComputeError::Overflow("unbonding".into()))?;
        let completion = ctx
            .height
            .checked_add(params.unbonding_period)
            .ok_or_else(|| ComputeError::Overflow("unbonding height".into()))?;
        state.add_unbonding(completion, &self.provider, self.amount)?;
        state.put_provider(&p)?;
        Ok(vec![event::provider_unbonding(
            &self.provider,
            self.amount,
            completion,
        )])
    }
}

/// A checked `MsgSubmitJob`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitJob {
    /// Who pays, and signer.
    pub requester: Address,
    /// Workload kind.
    pub kind: Kind,
    /// Model id for kinds that need one.
    pub model_id: Option<String>,
    /// Input bytes.
    pub input: Vec<u8>,
    /// SHA3-256 of the input (checked against it).
    pub input_hash: Hash,
    /// Replication factor.
    pub replication: u32,
    /// udeai per replica.
    pub price_per_replica: u128,
    /// The height by which the job must settle, if the requester set one
    /// (checked on execution against the height; see [`crate::deadline`]).
    pub deadline: Option<u64>,
}

impl SubmitJob {
    /// Stateless checks: the kind is known and runnable, a model is named
    /// exactly when the kind needs one, the input is one the network can run
    /// ([`crate::input`]) and hashes to `input_hash`, `R ≥ 1`, the price is
    /// positive. A `deadline` of 0 means none.
    pub fn from_proto(m: &pb::MsgSubmitJob) -> Result<Self, ComputeError> {
        let kind = Kind::parse(&m.kind)?;
        let model_id = if m.model_id.is_empty() {
            None
        } else {
            validate_model_id(&m.model_id)?;
            Some(m.model_id.clone())
        };
        let job = SubmitJob {
            requester: parse_address("requester", &m.requester)?,
            kind,
            model_id,
            input: m.input.clone(),
            input_hash: parse_hash("input_hash", &m.input_hash)?,
            replication: m.replication,
            price_per_replica: Coin::parse_amount(&m.price_per_replica)
                .map_err(|e| ComputeError::InvalidAmount(format!("price_per_replica: {e}")))?,
            deadline: (m.deadline != 0).then_some(m.deadline),
        };
        job.check()?;
        Ok(job)
    }

    /// The stateless checks of [`SubmitJob::from_proto`] on the typed form;
    /// `execute` repeats them, for jobs the app builds directly (a governance
    /// proposal's treasury-funded job).
    pub fn check(&self) -> Result<(), ComputeError> {
        check_party("requester", &self.requester)?;
        if self.kind == Kind::Infer {
            return Err(ComputeError::InvalidKind(
                "infer jobs are not accepted: no compute node implements the infer kind yet, \
                 so nobody could answer the job; use embed or gemm-i8"
                    .into(),
            ));
        }
        match (self.kind.needs_model(), &self.model_id) {
            (true, None) => {
                return Err(ComputeError::InvalidKind(format!(
                    "{} jobs must name a registered model",
                    self.kind.as_str()
                )))
            }
            (false, Some(_)) => {
                return Err(ComputeError::InvalidKind(format!(
                    "{} is a built-in kernel and takes no model",
                    self.kind.as_str()
                )))
            }
            (true, Some(id)) => validate_model_id(id)?,
            (false, None) => {}
        }
        let actual = sha3(&[&self.input]);
        if actual != self.input_hash {
            return Err(ComputeError::InputHashMismatch {
                actual: hex::encode(actual),
                claimed: hex::encode(self.input_hash),
            });
        }
        if self.replication == 0 {
            return Err(ComputeError::InvalidJob(
                "replication must be at least 1".into(),
            ));
        }
        if self.price_per_replica == 0 {
            return Err(ComputeError::InvalidAmount(
                "price_per_replica must be positive".into(),
            ));
        }
        self.work_units()?;
        Ok(())
    }

    /// The work units of the job, from the work its input asks for: a
    /// `gemm-i8` product's multiply-adds, each `embed` (or `classify`) text's
    /// bytes up to what the tokenizer reads, summed over a batch. Fails on an input no provider can run.
    pub fn work_units(&self) -> Result<u64, ComputeError> {
        match self.kind {
            Kind::GemmI8 => Ok(crate::input::GemmI8Shape::parse(&self.input)?.work_units()),
            Kind::Embed => Ok(crate::input::embed_input_work_units(&self.input)?),
            Kind::Classify => Ok(crate::input::classify_work_units(&self.input)?),
            Kind::Infer => Err(ComputeError::InvalidKind(
                "infer jobs are not accepted: no compute node implements the infer kind yet".into(),
            )),
        }
    }

    /// Checks the deadline against the height, escrows `price × R` in the
    /// module account and queues the job for assignment in the next block's
    /// begin_block. A job naming a model that has not passed a suite
    /// governance requires is refused ([`crate::suite::check_usable`]).
    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &BlockCtx,
    ) -> Result<Vec<Event>, ComputeError> {
        if let Some(id) = &self.model_id {
            crate::suite::check_usable(state, id)?;
        }
        self.execute_as(state, ctx, 0)
    }

    /// [`Self::execute`] without the suites' gate, for the job that runs
    /// suite `suite_id` (0: an ordinary job).
    pub(crate) fn execute_as<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &BlockCtx,
        suite_id: u64,
    ) -> Result<Vec<Event>, ComputeError> {
        self.check()?;
        let params = state.compute_params()?;
        if let Some(d) = self.deadline {
            crate::deadline::check(d, ctx.height, &params)?;
        }
        let input_len = u64::try_from(self.input.len()).unwrap_or(u64::MAX);
        if input_len > params.max_input_bytes {
            return Err(ComputeError::InvalidJob(format!(
                "input is {input_len} bytes, at most {} allowed",
                params.max_input_bytes
            )));
        }
        if self.replication > params.max_replication {
            return Err(ComputeError::InvalidJob(format!(
                "replication {} exceeds the maximum {}",
                self.replication, params.max_replication
            )));
        }
        let work_units = self.work_units()?;
        let min_price = params
            .min_price_per_work_unit
            .saturating_mul(u128::from(work_units));
        if self.price_per_replica < min_price {
            return Err(ComputeError::InvalidAmount(format!(
                "price_per_replica {} is below {min_price}: the job is {work_units} work units \
                 at a minimum of {} udeai each",
                self.price_per_replica, params.min_price_per_work_unit
            )));
        }
        // A running count, not a scan: the requester is never drawn for its
        // own job, so it does not count when it is itself eligible.
        let mut eligible = crate::sampler::eligible_count(state)?;
        if crate::sampler::weight_of(state, &self.requester)? > 0 {
            eligible = eligible.saturating_sub(1);
        }
        if u64::from(self.replication) > eligible {
            return Err(ComputeError::InvalidJob(format!(
                "replication {} exceeds the {eligible} providers eligible to run it now \
                 (bonded, not jailed, not the requester)",
                self.replication
            )));
        }
        if let Some(id) = &self.model_id {
            if state.model(id)?.is_none() {
                return Err(ComputeError::ModelNotFound(id.clone()));
            }
        }
        let escrow = self
            .price_per_replica
            .checked_mul(u128::from(self.replication))
            .ok_or_else(|| ComputeError::Overflow("escrow".into()))?;
        let mut events = state.send(&self.requester, &crate::module_address(), &udeai(escrow))?;
        let id = state.take_job_id()?;
        let job = Job {
            id,
            requester: self.requester,
            kind: self.kind,
            model_id: self.model_id.clone(),
            input: self.input.clone(),
            input_hash: self.input_hash,
            replication: self.replication,
            price_per_replica: self.price_per_replica,
            escrow,
            status: JobStatus::Pending,
            submitted_height: ctx.height,
            assigned_height: 0,
            commit_deadline: 0,
            reveal_deadline: 0,
            assignments: Vec::new(),
            result_hash: None,
            output: Vec::new(),
            work_units,
            settled_height: 0,
            deadline: self.deadline,
            eval_suite_id: suite_id,
        };
        state.put_job(&job)?;
        state.push_pending(ctx.height.saturating_add(1), id)?;
        events.push(event::job_submitted(&job));
        Ok(events)
    }
}

/// A checked `MsgCommitResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitResult {
    /// The assigned provider and signer.
    pub provider: Address,
    /// The job.
    pub job_id: u64,
    /// SHA3-256(result_hash || provider address bytes || salt).
    pub commitment: Hash,
}

impl CommitResult {
    /// Stateless checks.
    pub fn from_proto(m: &pb::MsgCommitResult) -> Result<Self, ComputeError> {
        Ok(CommitResult {
            provider: parse_address("provider", &m.provider)?,
            job_id: m.job_id,
            commitment: parse_hash("commitment", &m.commitment)?,
        })
    }

    /// Records the commitment, if the provider is assigned, has not committed
    /// and the commit deadline has not passed.
    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &BlockCtx,
    ) -> Result<Vec<Event>, ComputeError> {
        let mut job = load_job(state, self.job_id)?;
        if job.status != JobStatus::Assigned {
            return Err(ComputeError::WrongPhase {
                job_id: job.id,
                reason: format!("it is {}, not assigned", job.status.as_str_name()),
            });
        }
        if ctx.height > job.commit_deadline {
            return Err(ComputeError::WrongPhase {
                job_id: job.id,
                reason: format!("the commit deadline {} has passed", job.commit_deadline),
            });
        }
        let job_id = job.id;
        let a = job
            .assignment_mut(&self.provider)
            .ok_or_else(|| ComputeError::NotAssigned {
                job_id,
                provider: self.provider.to_bech32(),
            })?;
        if a.commitment.is_some() {
            return Err(ComputeError::AlreadyCommitted {
                job_id,
                provider: self.provider.to_bech32(),
            });
        }
        a.commitment = Some(self.commitment);
        state.put_job(&job)?;
        Ok(vec![event::result_committed(job_id, &self.provider)])
    }
}

/// A checked `MsgRevealResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealResult {
    /// The assigned provider and signer.
    pub provider: Address,
    /// The job.
    pub job_id: u64,
    /// The result hash.
    pub result_hash: Hash,
    /// The commitment's salt.
    pub salt: Vec<u8>,
    /// Optional output bytes, hashing to `result_hash`.
    pub output: Vec<u8>,
}

impl RevealResult {
    /// Stateless checks: 32-byte hash, a salt of 1 to 64 bytes, and output
    /// bytes (when given) whose SHA3-256 is the result hash.
    pub fn from_proto(m: &pb::MsgRevealResult) -> Result<Self, ComputeError> {
        let result_hash = parse_hash("result_hash", &m.result_hash)
            .map_err(|e| ComputeError::InvalidReveal(e.to_string()))?;
        if m.salt.is_empty() || m.salt.len() > MAX_SALT_BYTES {
            return Err(ComputeError::InvalidReveal(format!(
                "salt must be 1 to {MAX_SALT_BYTES} bytes, got {}",
                m.salt.len()
            )));
        }
        if !m.output.is_empty() && sha3(&[&m.output]) != result_hash {
            return Err(ComputeError::InvalidReveal(
                "the output does not hash to the result hash".into(),
            ));
        }
        Ok(RevealResult {
            provider: parse_address("provider", &m.provider)?,
            job_id: m.job_id,
            result_hash,
            salt: m.salt.clone(),
            output: m.output.clone(),
        })
    }

    /// Records the reveal if it opens the provider's commitment. The reveal
    /// phase opens when every assigned provider has committed or the commit
    /// deadline has passed, and closes after the reveal deadline. A job with
    /// `R = 1` settles (and pays) right here.
    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &BlockCtx,
    ) -> Result<Vec<Event>, ComputeError> {
        let params = state.compute_params()?;
        let mut job = load_job(state, self.job_id)?;
        let job_id = job.id;
        let phase = |reason: String| ComputeError::WrongPhase { job_id, reason };
        if job.status != JobStatus::Assigned {
            return Err(phase(format!(
                "it is {}, not assigned",
                job.status.as_str_name()
            )));
        }
        let output_len = u64::try_from(self.output.len()).unwrap_or(u64::MAX);
        if output_len > params.max_output_bytes {
            return Err(ComputeError::InvalidReveal(format!(
                "output is {output_len} bytes, at most {} allowed",
                params.max_output_bytes
            )));
        }
        if ctx.height <= job.commit_deadline && !job.all_committed() {
            return Err(phase(format!(
                "reveals open when every provider has committed or after height {}",
                job.commit_deadline
            )));
        }
        if ctx.height > job.reveal_deadline {
            return Err(phase(format!(
                "the reveal deadline {} has passed",
                job.reveal_deadline
            )));
        }
        let provider = self.provider.to_bech32();
        let a = job
            .assignment_mut(&self.provider)
            .ok_or_else(|| ComputeError::NotAssigned {
                job_id,
                provider: provider.clone(),
            })?;
        let Some(committed) = a.commitment else {
            return Err(ComputeError::NotCommitted { job_id, provider });
        };
        if a.result_hash.is_some() {
            return Err(ComputeError::AlreadyRevealed { job_id, provider });
        }
        if commitment(&self.result_hash, &self.provider, &self.salt) != committed {
            return Err(ComputeError::CommitmentMismatch { job_id, provider });
        }
        a.result_hash = Some(self.result_hash);
        a.output = self.output.clone();
        let mut events = vec![event::result_revealed(
            job_id,
            &self.provider,
            &self.result_hash,
        )];
        if job.replication == 1 {
            // Its settlement entry stays queued and is skipped when due:
            // deleting it ahead of the queue's cursor would leave a marker
            // every end_block scan walks until then.
            events.extend(block::settle(state, &mut job, &params, ctx.height)?);
        }
        state.put_job(&job)?;
        Ok(events)
    }
}

/// A checked `MsgRegisterModel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterModel {
    /// Must be the gov module account.
    pub authority: Address,
    /// The model.
    pub model: Model,
}

impl RegisterModel {
    /// Stateless checks (the authority is checked on execution, as the SDK does).
    pub fn from_proto(m: &pb::MsgRegisterModel) -> Result<Self, ComputeError> {
        let model = Model::from_proto(
            m.model
                .as_ref()
                .ok_or_else(|| ComputeError::InvalidModel("no model given".into()))?,
        );
        model.validate()?;
        Ok(RegisterModel {
            authority: parse_address("authority", &m.authority)?,
            model,
        })
    }

    /// Registers the model; only governance may.
    pub fn execute<S: StateWrite>(&self, state: &mut S) -> Result<Vec<Event>, ComputeError> {
        check_gov(&self.authority)?;
        if state.model(&self.model.id)?.is_some() {
            return Err(ComputeError::ModelExists(self.model.id.clone()));
        }
        state.put_model(&self.model)?;
        Ok(vec![event::model_registered(
            &self.model.id,
            &self.model.name,
        )])
    }
}

/// A checked `MsgRemoveModel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveModel {
    /// Must be the gov module account.
    pub authority: Address,
    /// The model id.
    pub model_id: String,
}

impl RemoveModel {
    /// Stateless checks.
    pub fn from_proto(m: &pb::MsgRemoveModel) -> Result<Self, ComputeError> {
        validate_model_id(&m.model_id)?;
        Ok(RemoveModel {
            authority: parse_address("authority", &m.authority)?,
            model_id: m.model_id.clone(),
        })
    }

    /// Removes the model; only governance may. Jobs already submitted for it still run.
    pub fn execute<S: StateWrite>(&self, state: &mut S) -> Result<Vec<Event>, ComputeError> {
        check_gov(&self.authority)?;
        if state.model(&self.model_id)?.is_none() {
            return Err(ComputeError::ModelNotFound(self.model_id.clone()));
        }
        state.delete_model(&self.model_id)?;
        Ok(vec![event::model_removed(&self.model_id)])
    }
}

/// A checked `MsgUpdateParams`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateParams {
    /// Must be the gov module account.
    pub authority: Address,
    /// The new parameters, validated.
    pub params: ComputeParams,
}

impl UpdateParams {
    /// Stateless checks, including the parameters' ranges.
    pub fn from_proto(m: &pb::MsgUpdateParams) -> Result<Self, ComputeError> {
        let params = ComputeParams::from_proto(
            m.params
                .as_ref()
                .ok_or_else(|| ComputeError::InvalidParams("no params given".into()))?,
        )?;
        params.validate()?;
        Ok(UpdateParams {
            authority: parse_address("authority", &m.authority)?,
            params,
        })
    }

    /// Replaces the parameters; only governance may. Jobs already assigned
    /// keep their deadlines. A new `min_provider_bond` re-weighs every
    /// provider in the sampling index once (`O(providers)`).
    pub fn execute<S: StateWrite>(&self, state: &mut S) -> Result<Vec<Event>, ComputeError> {
        check_gov(&self.authority)?;
        let old = state.compute_params()?;
        state.put_compute_params(&self.params)?;
        if old.min_provider_bond != self.params.min_provider_bond {
            crate::sampler::reweigh_all(state, &self.params)?;
        }
        Ok(vec![event::params_updated()])
    }
}

/// A compute message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// `deai.compute.v1.MsgRegisterProvider`.
    RegisterProvider(RegisterProvider),
    /// `deai.compute.v1.MsgBond`.
    Bond(Bond),
    /// `deai.compute.v1.MsgUnbond`.
    Unbond(Unbond),
    /// `deai.compute.v1.MsgSubmitJob`.
    SubmitJob(SubmitJob),
    /// `deai.compute.v1.MsgCommitResult`.
    CommitResult(CommitResult),
    /// `deai.compute.v1.MsgRevealResult`.
    RevealResult(RevealResult),
    /// `deai.compute.v1.MsgRegisterModel`.
    RegisterModel(RegisterModel),
    /// `deai.compute.v1.MsgRemoveModel`.
    RemoveModel(RemoveModel),
    /// `deai.compute.v1.MsgUpdateParams`.
    UpdateParams(UpdateParams),
    /// `deai.compute.v1.MsgRegisterEvalSuite`.
    RegisterEvalSuite(crate::suite::RegisterEvalSuite),
    /// `deai.compute.v1.MsgRunEvalSuite`.
    RunEvalSuite(crate::suite::RunEvalSuite),
    /// `deai.compute.v1.MsgRemoveEvalSuite`.
    RemoveEvalSuite(crate::suite::RemoveEvalSuite),
}

fn decode<M: Message + Default>(any: &Any) -> Result<M, ComputeError> {
    M::decode(any.value.as_slice())
        .map_err(|e| ComputeError::Decode(format!("{}: {e}", any.type_url)))
}

impl Msg {
    /// Whether `type_url` names a compute message.
    pub fn handles(type_url: &str) -> bool {
        type_url.starts_with("/deai.compute.v1.Msg")
    }

    /// Decodes and checks one message packed in an `Any`.
    pub fn from_any(any: &Any) -> Result<Self, ComputeError> {
        use crate::*;
        Ok(match any.type_url.as_str() {
            MSG_REGISTER_PROVIDER_TYPE_URL => {
                Msg::RegisterProvider(RegisterProvider::from_proto(&decode(any)?)?)
            }
            MSG_BOND_TYPE_URL => Msg::Bond(Bond::from_proto(&decode(any)?)?),
            MSG_UNBOND_TYPE_URL => Msg::Unbond(Unbond::from_proto(&decode(any)?)?),
            MSG_SUBMIT_JOB_TYPE_URL => Msg::SubmitJob(SubmitJob::from_proto(&decode(any)?)?),
            MSG_COMMIT_RESULT_TYPE_URL => {
                Msg::CommitResult(CommitResult::from_proto(&decode(any)?)?)
            }
            MSG_REVEAL_RESULT_TYPE_URL => {
                Msg::RevealResult(RevealResult::from_proto(&decode(any)?)?)
            }
            MSG_REGISTER_MODEL_TYPE_URL => {
                Msg::RegisterModel(RegisterModel::from_proto(&decode(any)?)?)
            }
            MSG_REMOVE_MODEL_TYPE_URL => Msg::RemoveModel(RemoveModel::from_proto(&decode(any)?)?),
            MSG_UPDATE_PARAMS_TYPE_URL => {
                Msg::UpdateParams(UpdateParams::from_proto(&decode(any)?)?)
            }
            MSG_REGISTER_EVAL_SUITE_TYPE_URL => {
                Msg::RegisterEvalSuite(crate::suite::RegisterEvalSuite::from_proto(&decode(any)?)?)
            }
            MSG_RUN_EVAL_SUITE_TYPE_URL => {
                Msg::RunEvalSuite(crate::suite::RunEvalSuite::from_proto(&decode(any)?)?)
            }
            MSG_REMOVE_EVAL_SUITE_TYPE_URL => {
                Msg::RemoveEvalSuite(crate::suite::RemoveEvalSuite::from_proto(&decode(any)?)?)
            }
            other => {
                return Err(ComputeError::Decode(format!(
                    "{other} is not a compute message"
                )))
            }
        })
    }

    /// The address that must sign this message (the authority, for governance messages).
    pub fn signer(&self) -> Address {
        match self {
            Msg::RegisterProvider(m) => m.provider,
            Msg::Bond(m) => m.provider,
            Msg::Unbond(m) => m.provider,
            Msg::SubmitJob(m) => m.requester,
            Msg::CommitResult(m) => m.provider,
            Msg::RevealResult(m) => m.provider,
            Msg::RegisterModel(m) => m.authority,
            Msg::RemoveModel(m) => m.authority,
            Msg::UpdateParams(m) => m.authority,
            Msg::RegisterEvalSuite(m) => m.authority,
            Msg::RunEvalSuite(m) => m.requester,
            Msg::RemoveEvalSuite(m) => m.authority,
        }
    }

    /// The type URL, used as the `message.action` event attribute.
    pub fn type_url(&self) -> &'static str {
        use crate::*;
        match self {
            Msg::RegisterProvider(_) => MSG_REGISTER_PROVIDER_TYPE_URL,
            Msg::Bond(_) => MSG_BOND_TYPE_URL,
            Msg::Unbond(_) => MSG_UNBOND_TYPE_URL,
            Msg::SubmitJob(_) => MSG_SUBMIT_JOB_TYPE_URL,
            Msg::CommitResult(_) => MSG_COMMIT_RESULT_TYPE_URL,
            Msg::RevealResult(_) => MSG_REVEAL_RESULT_TYPE_URL,
            Msg::RegisterModel(_) => MSG_REGISTER_MODEL_TYPE_URL,
            Msg::RemoveModel(_) => MSG_REMOVE_MODEL_TYPE_URL,
            Msg::UpdateParams(_) => MSG_UPDATE_PARAMS_TYPE_URL,
            Msg::RegisterEvalSuite(_) => MSG_REGISTER_EVAL_SUITE_TYPE_URL,
            Msg::RunEvalSuite(_) => MSG_RUN_EVAL_SUITE_TYPE_URL,
            Msg::RemoveEvalSuite(_) => MSG_REMOVE_EVAL_SUITE_TYPE_URL,
        }
    }

    /// Executes the message; run it on a scratch layer dropped on failure.
    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &BlockCtx,
    ) -> Result<Vec<Event>, ComputeError> {
        match self {
            Msg::RegisterProvider(m) => m.execute(state, ctx),
            Msg::Bond(m) => m.execute(state),
            Msg::Unbond(m) => m.execute(state, ctx),
            Msg::SubmitJob(m) => m.execute(state, ctx),
            Msg::CommitResult(m) => m.execute(state, ctx),
            Msg::RevealResult(m) => m.execute(state, ctx),
            Msg::RegisterModel(m) => m.execute(state),
            Msg::RemoveModel(m) => m.execute(state),
            Msg::UpdateParams(m) => m.execute(state),
            Msg::RegisterEvalSuite(m) => m.execute(state),
            Msg::RunEvalSuite(m) => m.execute(state, ctx),
            Msg::RemoveEvalSuite(m) => m.execute(state),
        }
    }
}

impl ModuleMsg for Msg {
    fn type_url(&self) -> &'static str {
        Msg::type_url(self)
    }

    fn signer(&self) -> Address {
        Msg::signer(self)
    }

    fn module(&self) -> &'static str {
        "compute"
    }

    /// The model registry, the parameters, and jobs the treasury pays for.
    fn is_governance_action(&self) -> bool {
        matches!(
            self,
            Msg::RegisterModel(_)
                | Msg::RemoveModel(_)
                | Msg::UpdateParams(_)
                | Msg::RegisterEvalSuite(_)
                | Msg::RemoveEvalSuite(_)
        ) || self.paid_by_treasury()
    }

    /// A job (or a suite's run) whose requester is the treasury: only a
    /// passed proposal can submit one.
    fn paid_by_treasury(&self) -> bool {
        match self {
            Msg::SubmitJob(j) => j.requester == crate::treasury_address(),
            Msg::RunEvalSuite(r) => r.requester == crate::treasury_address(),
            _ => false,
        }
    }

    /// Executes the message. A treasury-paid job's escrow leaves the
    /// treasury: it is first counted against the treasury's epoch cap and
    /// recorded in its spend history.
    fn execute(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        let mut events = Vec::new();
        let priced = match self {
            Msg::SubmitJob(j) => Some((j.price_per_replica, j.replication)),
            Msg::RunEvalSuite(r) => Some((r.price_per_replica, r.replication)),
            _ => None,
        };
        if let Some((price, replication)) = priced {
            if self.paid_by_treasury() {
                let total = price
                    .checked_mul(u128::from(replication))
                    .ok_or_else(|| MsgError::InvalidRequest("job price overflows".into()))?;
                events.push(ctx.host.record_treasury_spend(
                    state,
                    ctx.height,
                    &crate::module_address(),
                    &[Coin::new(total, BASE_DENOM)],
                    "job",
                    0,
                )?);
            }
        }
        let block = BlockCtx {
            height: ctx.height,
            prev_app_hash: ctx.prev_app_hash.to_vec(),
        };
        events.extend(Msg::execute(self, &mut state, &block)?);
        Ok(events)
    }
}
