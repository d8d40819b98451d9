//! Errors of the governance module (codespace `gov`).

use deai_bank::BankError;
use deai_staking::StakingError;
use deai_types::{ModuleError, MsgError, StateError};

/// Why a governance operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GovError {
    /// Reading or writing state failed (including running out of gas).
    #[error(transparent)]
    State(#[from] StateError),
    /// A bank operation failed (insufficient funds among them).
    #[error(transparent)]
    Bank(#[from] BankError),
    /// An address field is not a valid `deai…` address.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// A malformed proposal.
    #[error("invalid proposal: {0}")]
    InvalidProposal(String),
    /// A malformed vote.
    #[error("invalid vote: {0}")]
    InvalidVote(String),
    /// A malformed or too small deposit.
    #[error("invalid deposit: {0}")]
    InvalidDeposit(String),
    /// No proposal has that id.
    #[error("proposal {0} does not exist")]
    UnknownProposal(u64),
    /// The proposal is not in the period the message needs.
    #[error("proposal {id} is {status}: {need}")]
    WrongStatus {
        /// The proposal.
        id: u64,
        /// Its status.
        status: String,
        /// What the message needed.
        need: &'static str,
    },
    /// The voter has no voting power on this proposal.
    #[error("{0} has no voting power on proposal {1} (no udeai, staked or unbonding, at the height voting began, and no delegators)")]
    NoVotingPower(String, u64),
    /// The sender may not do this.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Delegation to oneself or similar.
    #[error("invalid delegation: {0}")]
    InvalidDelegation(String),
    /// Reading a voter's stake failed (a storage failure, or a staking
    /// record that does not decode).
    #[error(transparent)]
    Staking(#[from] StakingError),
    /// Parameters out of range.
    #[error("invalid gov params: {0}")]
    InvalidParams(String),
    /// The state the tally needs is no longer stored.
    #[error("voting power at height {0} is not readable: {1}")]
    HistoryUnavailable(u64, String),
}

impl GovError {
    /// Whether the error is the node's own (its storage failed, or it no
    /// longer keeps the history a tally needs) rather than the data's. Only
    /// these may stop an end block: anything users or governance can put in
    /// state is handled there by failing or skipping one proposal.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            GovError::State(_)
                | GovError::Bank(BankError::State(_))
                | GovError::Staking(StakingError::State(_))
                | GovError::Staking(StakingError::Bank(BankError::State(_)))
                | GovError::HistoryUnavailable(..)
        )
    }
}

impl ModuleError for GovError {
    fn codespace(&self) -> &'static str {
        match self {
            GovError::State(e) => BankError::State(e.clone()).codespace(),
            GovError::Bank(e) => e.codespace(),
            GovError::Staking(e) => e.codespace(),
            _ => "gov",
        }
    }

    /// Codes follow the Cosmos SDK's x/gov where one matches.
    fn code(&self) -> u32 {
        match self {
            GovError::State(e) => BankError::State(e.clone()).code(),
            GovError::Bank(e) => e.code(),
            GovError::Staking(e) => e.code(),
            GovError::UnknownProposal(_) => 2,
            GovError::WrongStatus { .. } => 3,
            GovError::InvalidProposal(_) => 5,
            GovError::InvalidVote(_) => 6,
            GovError::InvalidDeposit(_) => 7,
            GovError::Unauthorized(_) => 13,
            GovError::InvalidAddress(_) => 14,
            GovError::NoVotingPower(..) => 15,
            GovError::InvalidDelegation(_) => 16,
            GovError::InvalidParams(_) => 17,
            GovError::HistoryUnavailable(..) => 18,
        }
    }
}

impl From<GovError> for MsgError {
    fn from(e: GovError) -> Self {
        match e {
            GovError::State(s) => s.into(),
            GovError::Bank(b) => b.into(),
            GovError::Staking(s) => s.into(),
            other => MsgError::module(other),
        }
    }
}
