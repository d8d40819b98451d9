//! The rounds module owns private data rounds: federated training of a
//! classification head (`classes x 384` i32 weights atop the frozen MiniLM
//! encoder of a registered compute model) from contributors' private data,
//! aggregated under pairwise masks so that the chain sees only the sum,
//! with distributed Skellam noise so that the sum is differentially
//! private, an acceptance gate on a public evaluation set, and payment from
//! a reward pool the treasury funds. `README.md` beside this crate states
//! the protocol, what the chain enforces and the privacy guarantee.
//!
//! # Lifecycle of a round opened at height `h`
//!
//! 1. Governance executes `MsgOpenRound`: the configuration and the
//!    evaluation set are checked, the pool moves from the treasury into the
//!    rounds module account (counted against the treasury's spend cap).
//! 2. Join window `(h, join_end]`: bonded compute providers (at least the
//!    round's bond, not jailed; one join per address) post X25519 keys.
//! 3. Submit window `(join_end, submit_end]`: each posts its masked update
//!    and a commitment to each pairwise seed.
//! 4. If someone dropped out, reveal window `(submit_end, reveal_end]`:
//!    submitters reveal the seeds they share with dropped peers, each
//!    checked against its commitment.
//! 5. End block of the last window: unmask, bound check, learning rule,
//!    evaluation of parent and new head; accept (new version, equal pay,
//!    remainder to the treasury) or reject/fail (pool back to the treasury).
//!    With an evaluation set of texts the two evaluations are classify jobs
//!    in the compute market (bit-exact, quorum-verified, paid from the
//!    pool): the round is `EVALUATING` until both have settled, then the
//!    gate decides on their agreed outputs.
//!
//! # Block order
//!
//! [`block::end_block`] runs after governance (so a round opened by a
//! proposal this block is queued) and reads only the rounds due now.
//! Nothing a user puts in state makes it fail: a round that cannot be
//! finished fails with an event; only storage errors or the module's own
//! corrupt records stop the block.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]
// Money code: every operation on amounts is checked.
#![deny(clippy::arithmetic_side_effects)]

pub mod block;
pub mod component;
pub mod dp;
pub mod error;
pub mod event;
pub mod head;
pub mod mask;
pub mod msg;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;

pub use component::RoundsModule;
use deai_types::{Address, Event, StateRead, StateWrite};
pub use error::RoundsError;
pub use state::{RoundsRead, RoundsWrite};

/// The module's name, its key prefix and its module account's name.
pub const MODULE_NAME: &str = "rounds";

/// Type URL of `MsgOpenRound` (governance only).
pub const MSG_OPEN_ROUND_TYPE_URL: &str = "/deai.rounds.v1.MsgOpenRound";
/// Type URL of `MsgJoinRound`.
pub const MSG_JOIN_ROUND_TYPE_URL: &str = "/deai.rounds.v1.MsgJoinRound";
/// Type URL of `MsgSubmitUpdate`.
pub const MSG_SUBMIT_UPDATE_TYPE_URL: &str = "/deai.rounds.v1.MsgSubmitUpdate";
/// Type URL of `MsgRevealSeeds`.
pub const MSG_REVEAL_SEEDS_TYPE_URL: &str = "/deai.rounds.v1.MsgRevealSeeds";

/// Taking contributors.
pub const STATUS_JOINING: &str = "JOINING";
/// Taking masked updates.
pub const STATUS_SUBMITTING: &str = "SUBMITTING";
/// Taking seeds shared with dropped contributors.
pub const STATUS_REVEALING: &str = "REVEALING";
/// Waiting for the compute market's evaluation jobs.
pub const STATUS_EVALUATING: &str = "EVALUATING";
/// Finished: a new version, contributors paid.
pub const STATUS_ACCEPTED: &str = "ACCEPTED";
/// Finished: the sum was over bound or the new head did not pass the gate.
pub const STATUS_REJECTED: &str = "REJECTED";
/// Finished: too few contributors, or the masks could not be removed.
pub const STATUS_FAILED: &str = "FAILED";

/// The rounds module account, which holds open rounds' reward pools.
pub fn module_address() -> Address {
    Address::module(MODULE_NAME)
}

/// The treasury's account, which funds pools and takes back what is not paid.
pub fn treasury_address() -> Address {
    Address::module("treasury")
}

/// What the rounds module needs to know of the compute module, which the
/// app wires to compute's records (so neither module depends on the other).
pub trait Providers: Send + Sync {
    /// The bond of `addr` if it is a registered compute provider that is
    /// not jailed at `height`; `None` otherwise.
    fn eligible_bond(
        &self,
        state: &dyn StateRead,
        addr: &Address,
        height: u64,
    ) -> Result<Option<u128>, RoundsError>;

    /// Whether `model_id` is in the compute model registry.
    fn model_registered(&self, state: &dyn StateRead, model_id: &str) -> Result<bool, RoundsError>;

    /// The input of a `classify` job of `head` (`classes` rows of
    /// [`params::HIDDEN`]) over `texts` (an `embed` input), and its text
    /// count; `Err(why)` when compute would not run it.
    fn classify_input(
        &self,
        classes: u32,
        head: &[i32],
        texts: &[u8],
    ) -> Result<(Vec<u8>, u32), String>;

    /// Submits a `classify` job on `model_id` paid by `requester` at the
    /// block `job.height`: its id and compute's events, or `Ok(Err(why))`
    /// when compute refuses it (the caller runs this on a scratch layer and
    /// drops it then).
    fn submit_classify(
        &self,
        state: &mut dyn StateWrite,
        job: ClassifyJob<'_>,
    ) -> Result<Result<(u64, Vec<Event>), String>, RoundsError>;

    /// Where job `job_id` stands.
    fn job_outcome(&self, state: &dyn StateRead, job_id: u64) -> Result<JobOutcome, RoundsError>;
}

/// A `classify` job a round submits to evaluate a head.
#[derive(Debug, Clone, Copy)]
pub struct ClassifyJob<'a> {
    /// Who pays (the rounds module account).
    pub requester: &'a Address,
    /// The registered encoder.
    pub model_id: &'a str,
    /// The input, from [`Providers::classify_input`].
    pub input: &'a [u8],
    /// Providers that run it.
    pub replication: u32,
    /// udeai paid to each provider in the agreeing majority.
    pub price_per_replica: u128,
    /// The block.
    pub height: u64,
    /// The previous block's app hash (compute's assignment seed).
    pub prev_app_hash: &'a [u8],
}

/// Where a compute job stands, as a round needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Not settled yet; it cannot settle before the end block of
    /// `settles_at` (its reveal deadline once assigned; 0 while it waits
    /// for providers).
    Running {
        /// The earliest height at which it may have settled.
        settles_at: u64,
    },
    /// Settled: the output a strict majority agreed on (`None` when none
    /// did, or it was the invalid-input answer, or nobody revealed the
    /// bytes), and what the requester paid in all (the rest of the escrow
    /// came back).
    Settled {
        /// The agreed output.
        output: Option<Vec<u8>>,
        /// udeai paid to providers.
        spent: u128,
    },
}
