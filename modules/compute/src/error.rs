//! Errors of the compute module. Its own failures use the `compute`
//! codespace with stable codes; state and bank failures keep the codes of
//! the layer that raised them, so wallets show familiar errors.

use deai_bank::BankError;
use deai_types::{ModuleError, MsgError, StateError};

/// Why a compute message, block hook or genesis step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComputeError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A bank transfer, mint or balance read failed.
    #[error(transparent)]
    Bank(#[from] BankError),
    /// A message does not decode, or its type URL is not the compute module's.
    #[error("cannot decode compute message: {0}")]
    Decode(String),
    /// An address field is not a valid `deai…` address.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// An amount field is malformed or zero where it must be positive.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// A governance-only message was not signed by the gov module account.
    #[error("unauthorized: expected authority {expected}, got {got}")]
    Unauthorized {
        /// The gov module account.
        expected: String,
        /// The authority the message named.
        got: String,
    },
    /// Parameters out of range.
    #[error("invalid compute params: {0}")]
    InvalidParams(String),
    /// A model record is malformed.
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// A model with this id is already registered.
    #[error("model {0} is already registered")]
    ModelExists(String),
    /// No model with this id is registered.
    #[error("model {0} is not registered")]
    ModelNotFound(String),
    /// The job kind is not one the chain knows, or its model use is wrong.
    #[error("invalid job kind: {0}")]
    InvalidKind(String),
    /// A job submission is malformed (sizes, replication, price).
    #[error("invalid job: {0}")]
    InvalidJob(String),
    /// The input's SHA3-256 is not the hash the submission claims.
    #[error("input hash mismatch: the input hashes to {actual}, the message claims {claimed}")]
    InputHashMismatch {
        /// Hex SHA3-256 of the input bytes.
        actual: String,
        /// Hex hash carried by the message.
        claimed: String,
    },
    /// The address is already a registered provider.
    #[error("{0} is already a registered provider")]
    ProviderExists(String),
    /// The address is not a registered provider.
    #[error("{0} is not a registered provider")]
    ProviderNotFound(String),
    /// A registration bond is below the minimum.
    #[error("bond {got}udeai is below the minimum provider bond {min}udeai")]
    BondTooSmall {
        /// The minimum bond.
        min: u128,
        /// The bond offered.
        got: u128,
    },
    /// An unbonding asks for more than the provider has bonded.
    #[error("cannot unbond {requested}udeai: {provider} has {bonded}udeai bonded")]
    InsufficientBond {
        /// The provider.
        provider: String,
        /// Its bond.
        bonded: u128,
        /// The amount asked for.
        requested: u128,
    },
    /// A provider with unsettled jobs may not unbond (its bond backs them).
    #[error("{provider} has {open_jobs} unsettled jobs; unbond after they settle")]
    OpenJobs {
        /// The provider.
        provider: String,
        /// Jobs assigned to it and not yet settled.
        open_jobs: u64,
    },
    /// No job has this id.
    #[error("job {0} does not exist")]
    JobNotFound(u64),
    /// The signer is not among the job's assigned providers.
    #[error("{provider} is not assigned to job {job_id}")]
    NotAssigned {
        /// The job.
        job_id: u64,
        /// The signer.
        provider: String,
    },
    /// The message came at the wrong point in the job's lifecycle.
    #[error("job {job_id}: {reason}")]
    WrongPhase {
        /// The job.
        job_id: u64,
        /// What was wrong, such as "the commit deadline has passed".
        reason: String,
    },
    /// The provider already committed to this job.
    #[error("{provider} already committed to job {job_id}")]
    AlreadyCommitted {
        /// The job.
        job_id: u64,
        /// The provider.
        provider: String,
    },
    /// The provider reveals without having committed.
    #[error("{provider} has no commitment for job {job_id}")]
    NotCommitted {
        /// The job.
        job_id: u64,
        /// The provider.
        provider: String,
    },
    /// The provider already revealed for this job.
    #[error("{provider} already revealed for job {job_id}")]
    AlreadyRevealed {
        /// The job.
        job_id: u64,
        /// The provider.
        provider: String,
    },
    /// SHA3-256(result_hash || provider || salt) is not the stored commitment.
    #[error("reveal for job {job_id} does not match the commitment of {provider}")]
    CommitmentMismatch {
        /// The job.
        job_id: u64,
        /// The provider.
        provider: String,
    },
    /// A reveal field is malformed (hash length, salt, output size or hash).
    #[error("invalid reveal: {0}")]
    InvalidReveal(String),
    /// An amount would exceed 2^128.
    #[error("amount overflow in {0}")]
    Overflow(String),
    /// A job's deadline has passed, leaves too little time for its phases,
    /// or lies beyond what the params' windows allow.
    #[error("invalid deadline {deadline} at height {height}: {reason}")]
    InvalidDeadline {
        /// The deadline asked for.
        deadline: u64,
        /// The height of the submitting block.
        height: u64,
        /// What is wrong and which deadlines would do.
        reason: String,
    },
    /// The job's input is not one the network can run (see [`crate::input`]).
    #[error("input the network cannot run: {0}")]
    InvalidInput(#[from] crate::input::InputError),
}

impl ModuleError for ComputeError {
    fn codespace(&self) -> &'static str {
        match self {
            ComputeError::State(_) => "sdk",
            ComputeError::Bank(e) => e.codespace(),
            _ => "compute",
        }
    }

    fn code(&self) -> u32 {
        match self {
            ComputeError::State(StateError::OutOfGas { .. }) => 11,
            ComputeError::State(StateError::Storage(_)) => 1,
            ComputeError::Bank(e) => e.code(),
            ComputeError::Decode(_) => 2,
            ComputeError::InvalidAddress(_) => 3,
            ComputeError::InvalidAmount(_) => 4,
            ComputeError::Unauthorized { .. } => 5,
            ComputeError::InvalidParams(_) => 6,
            ComputeError::InvalidModel(_) => 7,
            ComputeError::ModelExists(_) => 8,
            ComputeError::ModelNotFound(_) => 9,
            ComputeError::InvalidKind(_) => 10,
            ComputeError::InvalidJob(_) => 11,
            ComputeError::InputHashMismatch { .. } => 12,
            ComputeError::ProviderExists(_) => 13,
            ComputeError::ProviderNotFound(_) => 14,
            ComputeError::BondTooSmall { .. } => 15,
            ComputeError::InsufficientBond { .. } => 16,
            ComputeError::OpenJobs { .. } => 17,
            ComputeError::JobNotFound(_) => 18,
            ComputeError::NotAssigned { .. } => 19,
            ComputeError::WrongPhase { .. } => 20,
            ComputeError::AlreadyCommitted { .. } => 21,
            ComputeError::NotCommitted { .. } => 22,
            ComputeError::AlreadyRevealed { .. } => 23,
            ComputeError::CommitmentMismatch { .. } => 24,
            ComputeError::InvalidReveal(_) => 25,
            ComputeError::Overflow(_) => 26,
            ComputeError::InvalidDeadline { .. } => 27,
            ComputeError::InvalidInput(_) => 28,
        }
    }
}

impl From<ComputeError> for MsgError {
    fn from(e: ComputeError) -> Self {
        match e {
            ComputeError::State(s) => s.into(),
            ComputeError::Bank(b) => b.into(),
            other => MsgError::module(other),
        }
    }
}
