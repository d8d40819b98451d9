//! Errors of the staking module (codespace `staking`; codes as the Cosmos
//! SDK's x/staking where one matches).

use deai_bank::BankError;
use deai_types::{ModuleError, MsgError, QueryError, StateError};

/// Why a staking operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StakingError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A bank operation failed (insufficient funds among them).
    #[error(transparent)]
    Bank(#[from] BankError),
    /// A stored record does not decode: the node's state is damaged.
    #[error("corrupt staking record: {0}")]
    Corrupt(String),
    /// A malformed message or query field.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// No validator has that operator address.
    #[error("validator {0} does not exist")]
    NoValidator(String),
    /// The operator already runs a validator.
    #[error("validator {0} already exists")]
    ValidatorExists(String),
    /// The consensus key belongs to another validator.
    #[error("the consensus key is already used by validator {0}")]
    PubKeyTaken(String),
    /// No delegation of that delegator to that validator.
    #[error("no delegation of {delegator} to {validator}")]
    NoDelegation {
        /// The delegator.
        delegator: String,
        /// The validator.
        validator: String,
    },
    /// More shares or tokens asked than held.
    #[error("{0}")]
    Insufficient(String),
    /// The pair (or trio) already has `max_entries` unbonding or redelegation entries.
    #[error("too many unbonding or redelegation entries for this pair, at most {0}; wait for one to complete")]
    TooManyEntries(u32),
    /// The delegator already holds delegations to
    /// [`crate::MAX_DELEGATIONS_PER_DELEGATOR`] validators.
    #[error("a delegator may hold delegations to at most {0} validators; undelegate (or redelegate) all of one of them first")]
    TooManyDelegations(usize),
    /// The delegator is already unbonding from
    /// [`crate::MAX_DELEGATIONS_PER_DELEGATOR`] validators.
    #[error("a delegator may be unbonding from at most {0} validators at once; wait for one of those unbondings to complete (or cancel it)")]
    TooManyUnbondings(usize),
    /// A redelegation would chain another one still maturing.
    #[error("the tokens at {0} were redelegated there and are still maturing: they cannot move again until then")]
    TransitiveRedelegation(String),
    /// A commission change breaks its rules.
    #[error("commission: {0}")]
    Commission(String),
    /// The validator's tokens were all slashed away while it still has shares.
    #[error("validator {0} holds no tokens for its shares; it cannot take delegations")]
    InvalidExchangeRate(String),
    /// No unbonding entry at that creation height.
    #[error("no unbonding entry of {delegator} at {validator} created at height {height}")]
    NoUnbondingEntry {
        /// The delegator.
        delegator: String,
        /// The validator.
        validator: String,
        /// The creation height asked for.
        height: u64,
    },
    /// Parameters out of range.
    #[error("invalid staking params: {0}")]
    InvalidParams(String),
}

impl ModuleError for StakingError {
    fn codespace(&self) -> &'static str {
        match self {
            StakingError::State(e) => BankError::State(e.clone()).codespace(),
            StakingError::Bank(e) => e.codespace(),
            _ => crate::MODULE_NAME,
        }
    }

    fn code(&self) -> u32 {
        match self {
            StakingError::State(e) => BankError::State(e.clone()).code(),
            StakingError::Bank(e) => e.code(),
            StakingError::Corrupt(_) => 1,
            StakingError::Invalid(_) => 2,
            StakingError::NoValidator(_) => 3,
            StakingError::ValidatorExists(_) => 4,
            StakingError::PubKeyTaken(_) => 5,
            StakingError::NoDelegation { .. } => 19,
            StakingError::Insufficient(_) => 20,
            StakingError::TooManyEntries(_) => 36,
            // Ours: the SDK has no bound per delegator.
            StakingError::TooManyDelegations(_) => 100,
            StakingError::TooManyUnbondings(_) => 101,
            StakingError::TransitiveRedelegation(_) => 34,
            StakingError::Commission(_) => 11,
            StakingError::InvalidExchangeRate(_) => 29,
            StakingError::NoUnbondingEntry { .. } => 35,
            StakingError::InvalidParams(_) => 41,
        }
    }
}

impl From<StakingError> for MsgError {
    fn from(e: StakingError) -> Self {
        match e {
            StakingError::State(s) => s.into(),
            StakingError::Bank(b) => b.into(),
            StakingError::Corrupt(c) => MsgError::Internal(c),
            other => MsgError::module(other),
        }
    }
}

impl From<StakingError> for QueryError {
    fn from(e: StakingError) -> Self {
        match e {
            StakingError::NoValidator(v) => QueryError::not_found(format!("validator {v}")),
            StakingError::NoDelegation {
                delegator,
                validator,
            } => QueryError::not_found(format!("delegation of {delegator} to {validator}")),
            StakingError::Invalid(m) => QueryError::invalid(m),
            other => QueryError::from_module(&other),
        }
    }
}
