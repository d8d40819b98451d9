//! Errors of the distribution module (codespace `distribution`, codes as
//! the Cosmos SDK's x/distribution).

use deai_bank::BankError;
use deai_staking::StakingError;
use deai_types::{ModuleError, MsgError, QueryError, StateError};

/// Why a distribution operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistributionError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A bank operation failed.
    #[error(transparent)]
    Bank(#[from] BankError),
    /// A staking read failed.
    #[error(transparent)]
    Staking(#[from] StakingError),
    /// A stored record does not decode or contradicts another: the node's
    /// state is damaged.
    #[error("corrupt distribution record: {0}")]
    Corrupt(String),
    /// A malformed message or query field.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// No validator has that operator address.
    #[error("validator {0} does not exist")]
    NoValidator(String),
    /// No delegation of that delegator to that validator.
    #[error("no delegation of {delegator} to {validator}")]
    NoDelegation {
        /// The delegator.
        delegator: String,
        /// The validator.
        validator: String,
    },
    /// The validator has no whole coin of commission to withdraw.
    #[error("validator {0} has no commission to withdraw")]
    NoCommission(String),
    /// Withdraw addresses are switched off by governance.
    #[error("setting a withdraw address is disabled")]
    WithdrawAddressDisabled,
    /// Parameters out of range.
    #[error("invalid distribution params: {0}")]
    InvalidParams(String),
}

impl ModuleError for DistributionError {
    fn codespace(&self) -> &'static str {
        match self {
            DistributionError::State(e) => StakingError::State(e.clone()).codespace(),
            DistributionError::Bank(e) => StakingError::Bank(e.clone()).codespace(),
            DistributionError::Staking(e) => e.codespace(),
            _ => crate::MODULE_NAME,
        }
    }

    fn code(&self) -> u32 {
        match self {
            DistributionError::State(e) => StakingError::State(e.clone()).code(),
            DistributionError::Bank(e) => StakingError::Bank(e.clone()).code(),
            DistributionError::Staking(e) => e.code(),
            DistributionError::Corrupt(_) => 1,
            DistributionError::Invalid(_) => 2,
            DistributionError::NoValidator(_) => 12,
            DistributionError::NoDelegation { .. } => 13,
            DistributionError::NoCommission(_) => 7,
            DistributionError::WithdrawAddressDisabled => 8,
            DistributionError::InvalidParams(_) => 14,
        }
    }
}

impl From<DistributionError> for MsgError {
    fn from(e: DistributionError) -> Self {
        match e {
            DistributionError::State(s) => s.into(),
            DistributionError::Bank(b) => b.into(),
            DistributionError::Staking(s) => s.into(),
            DistributionError::Corrupt(c) => MsgError::Internal(c),
            other => MsgError::module(other),
        }
    }
}

impl From<DistributionError> for QueryError {
    fn from(e: DistributionError) -> Self {
        match e {
            DistributionError::Invalid(m) => QueryError::invalid(m),
            DistributionError::NoValidator(v) => QueryError::not_found(format!("validator {v}")),
            DistributionError::NoDelegation {
                delegator,
                validator,
            } => QueryError::not_found(format!("delegation of {delegator} to {validator}")),
            DistributionError::Staking(s) => s.into(),
            other => QueryError::from_module(&other),
        }
    }
}

/// What staking's hooks return: storage and bank errors as themselves,
/// anything else as a corrupt record (a listener fails on nothing users
/// can put in state).
impl From<DistributionError> for StakingError {
    fn from(e: DistributionError) -> Self {
        match e {
            DistributionError::State(s) => StakingError::State(s),
            DistributionError::Bank(b) => StakingError::Bank(b),
            DistributionError::Staking(s) => s,
            other => StakingError::Corrupt(format!("distribution: {other}")),
        }
    }
}
