//! The compute module owns the on-chain side of DeAI's compute market: the
//! governance-run model registry, bonded compute providers, jobs that are
//! escrowed, assigned to `R` providers drawn by bond weight, answered by
//! commit-reveal, and settled by strict majority, with rewards minted for
//! agreeing providers and slashes (to the treasury) for wrong or missing ones.
//!
//! # Block-order contract (for the app)
//!
//! For a block at height `h` whose previous block's app hash is `p`, the app
//! calls, with `ctx = BlockCtx { height: h, prev_app_hash: p }`:
//!
//! 1. [`begin_block`]`(state, &ctx)` before any transaction: jobs submitted in
//!    earlier blocks get their providers (seed `SHA3-256(p || job id)`), wait
//!    (put back, to be examined again later) when too few providers are
//!    eligible, or expire with a refund once they have waited
//!    `max_pending_blocks` or their deadline can no longer be met.
//! 2. For each compute message, [`Msg::from_any`] (stateless checks) then
//!    [`Msg::execute`]`(scratch, &ctx)` on a scratch layer that is dropped if
//!    it fails. `execute` checks before it writes, but a bank failure midway
//!    (an overflow) can leave partial writes, so the scratch layer is required.
//! 3. [`end_block`]`(state, &ctx)` after the last transaction: settlements due
//!    at `h` (at most `max_settlements_per_block`, the rest carried to `h+1`),
//!    then unbonding payouts and jail releases due at `h` (same bound each).
//!
//! Genesis ([`ComputeGenesis::init`]) runs after the bank's genesis, because
//! provider bonds must already sit in the compute module account.
//!
//! # What can make a block hook fail
//!
//! Nothing a user or governance can put in state: every governable param is
//! bounded ([`ComputeParams::validate`]) and the hooks read params clamped
//! into those bounds ([`ComputeParams::clamped`]) in case a stored value
//! escaped validation; heights saturate instead of overflowing; a job that
//! cannot be assigned waits or expires with an event; a job nobody answered
//! is refunded; mints are capped per epoch. What can still come out of
//! `begin_block` or `end_block` is:
//!
//! * a storage error ([`ComputeError::State`]): the store failed to read or
//!   write (I/O error, disk full, a value that no longer decodes);
//! * a broken invariant of the module's own books: a provider record missing
//!   for an assignment, an unbonding entry or a slot the module wrote itself,
//!   escrow or unbonding below what the module recorded, the module account
//!   short of the bonds and escrow it holds (a bank error on a payout), or a
//!   sampling index out of step with its weights.
//!
//! Both mean the state is corrupt; committing a block on top of it would
//! spread the damage, so the app should halt rather than commit.
//!
//! # Timing of a job submitted at height `s`
//!
//! * refused at submission if `R` exceeds the providers eligible then (bond ≥
//!   `min_provider_bond`, not jailed, not the requester); assigned in
//!   `begin_block(s + 1)` if that many are still eligible; otherwise examined
//!   again at `s + 2`, `s + 4`, `s + 8`, … (each wait as long as the time
//!   already waited) and expired and refunded once `a > s + max_pending_blocks`;
//! * commitments accepted at heights `a ..= a + commit_window` (the commit deadline);
//! * reveals accepted once every assigned provider has committed or the
//!   commit deadline has passed, up to `commit deadline + reveal_window` (the
//!   reveal deadline). Before that nobody could copy a revealed result: once
//!   every commitment is in, no new one can be made;
//! * settled in `end_block` of the reveal deadline (or the first block after
//!   it with room). A job with `R = 1` is paid when its single reveal lands.
//!
//! Commit and reveal windows are the params' windows at assignment time. A
//! requester may set a `deadline` (a height) by which the job must settle:
//! it shortens the job's life, never a window past the params', and each
//! phase keeps at least `min_phase_window` blocks, so a requester cannot set
//! honest providers up to miss; a job that can no longer meet its deadline
//! expires with a refund. The rules are in [`deadline`].
//!
//! # Money
//!
//! The compute module account ([`module_address`]) holds exactly the bonds,
//! the unbonding withdrawals and the escrow of open jobs (it can therefore be
//! neither a requester nor a provider). Settlement pays each agreeing provider
//! the price from escrow ([`block::settle`] has the rules). Tokens are minted
//! (the only tokens this module creates) only for independent agreement: a
//! job with `R ≥ 3` whose strict majority (so at least two providers) agreed
//! on a real result mints each of them `reward_per_work_unit × work units`,
//! never more than the price it is paid, and never more in total per epoch
//! (`epoch_blocks`) than `max_minted_per_epoch`. Work units come from the work
//! the input asks for (a gemm's multiply-adds, an embed or classify text's
//! bytes up to what the tokenizer reads), and the price must be at least
//! `min_price_per_work_unit` per work unit. A job nobody revealed is refunded
//! and nobody slashed; a majority on the canonical invalid-input answer
//! ([`input::invalid_input_result_hash`]) is paid the price without mint.
//! Slashes move bond to the treasury ([`treasury_address`]); whatever escrow
//! is left returns to the requester, which may be any account, module
//! accounts such as the treasury included (the bank must accept that send).
//! A provider with unsettled jobs cannot unbond, so its bond covers its slashes.
//!
//! # Integration surface
//!
//! * [`Msg`]: `from_any`, `signer`, `type_url`, `execute`; type URLs are the
//!   `MSG_*_TYPE_URL` constants. Governance messages (`MsgRegisterModel`,
//!   `MsgRemoveModel`, `MsgUpdateParams`) name `authority`, which must be
//!   [`gov_address`]; the app executes them from proposals.
//! * [`begin_block`], [`end_block`] with a [`BlockCtx`].
//! * [`query::query`] answers `/deai.compute.v1.Query/{Jobs,Job,Result,Providers,Provider,Models,Params}`.
//! * [`ComputeGenesis`] (`params`, `models`, `providers`) with `validate` and `init`.
//! * Events are built in [`event`]; kinds start with `compute_`.
//!
//! # Limits worth knowing
//!
//! * `begin_block` examines at most `max_assignments_per_block` jobs due for
//!   examination, earliest due first; each draw reads `O(R log N)` keys of
//!   the sampling index ([`sampler`]), never the provider list. A job
//!   examined late expires when it is examined (its deadline too: a
//!   deadline is checked when the job is examined, and settlement may run
//!   after the reveal deadline when `max_settlements_per_block` is reached,
//!   though no commit or reveal is accepted after it).
//! * Every queue (pending, settlement, unbonding, jail release) is keyed by
//!   height and drained from a stored cursor ([`ComputeWrite::take_due`]), so
//!   a block's cost does not grow with the deleted entries the store keeps.
//!   Entries are never deleted ahead of the cursor: a settled `R = 1` job
//!   and an extended jail term leave their old entry, skipped when due.
//! * The assignment seed is the previous app hash, which the previous block's
//!   proposer influences by choosing transactions; it cannot pick partners
//!   cheaply, but the seed is not a beacon.
//! * Settled jobs stay in state with their input; nothing prunes them yet.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]
// Money code: every operation on amounts is checked.
#![deny(clippy::arithmetic_side_effects)]

pub mod block;
pub mod component;
pub mod deadline;
pub mod error;
pub mod event;
pub mod genesis;
pub mod input;
pub mod msg;
pub mod params;
pub mod query;
pub mod record;
pub mod sampler;
pub mod state;
pub mod state_key;
pub mod suite;
#[cfg(test)]
mod tests;

pub use block::{begin_block, end_block, select_providers};
pub use component::ComputeModule;
pub use error::ComputeError;
pub use genesis::ComputeGenesis;
pub use msg::Msg;
pub use params::ComputeParams;
pub use record::{Job, JobStatus, Kind, Model, Provider};
pub use state::{ComputeRead, ComputeWrite};

use deai_types::Address;

/// What the compute module needs to know about the block being executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCtx {
    /// The height of the block being executed.
    pub height: u64,
    /// The app hash after the previous block (the header's `app_hash`); the
    /// seed of provider assignment.
    pub prev_app_hash: Vec<u8>,
}

/// The compute module account, which holds bonds and escrow.
pub fn module_address() -> Address {
    Address::module("compute")
}

/// The governance module account, the only authority for models and params.
pub fn gov_address() -> Address {
    Address::module("gov")
}

/// The treasury module account, which receives slashed bonds.
pub fn treasury_address() -> Address {
    Address::module("treasury")
}

/// Type URL of `MsgRegisterProvider`.
pub const MSG_REGISTER_PROVIDER_TYPE_URL: &str = "/deai.compute.v1.MsgRegisterProvider";
/// Type URL of `MsgBond`.
pub const MSG_BOND_TYPE_URL: &str = "/deai.compute.v1.MsgBond";
/// Type URL of `MsgUnbond`.
pub const MSG_UNBOND_TYPE_URL: &str = "/deai.compute.v1.MsgUnbond";
/// Type URL of `MsgSubmitJob`.
pub const MSG_SUBMIT_JOB_TYPE_URL: &str = "/deai.compute.v1.MsgSubmitJob";
/// Type URL of `MsgCommitResult`.
pub const MSG_COMMIT_RESULT_TYPE_URL: &str = "/deai.compute.v1.MsgCommitResult";
/// Type URL of `MsgRevealResult`.
pub const MSG_REVEAL_RESULT_TYPE_URL: &str = "/deai.compute.v1.MsgRevealResult";
/// Type URL of `MsgRegisterModel`.
pub const MSG_REGISTER_MODEL_TYPE_URL: &str = "/deai.compute.v1.MsgRegisterModel";
/// Type URL of `MsgRemoveModel`.
pub const MSG_REMOVE_MODEL_TYPE_URL: &str = "/deai.compute.v1.MsgRemoveModel";
/// Type URL of `MsgUpdateParams`.
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/deai.compute.v1.MsgUpdateParams";
/// Type URL of `MsgRegisterEvalSuite`.
pub const MSG_REGISTER_EVAL_SUITE_TYPE_URL: &str = "/deai.compute.v1.MsgRegisterEvalSuite";
/// Type URL of `MsgRemoveEvalSuite`.
pub const MSG_REMOVE_EVAL_SUITE_TYPE_URL: &str = "/deai.compute.v1.MsgRemoveEvalSuite";
/// Type URL of `MsgRunEvalSuite`.
pub const MSG_RUN_EVAL_SUITE_TYPE_URL: &str = "/deai.compute.v1.MsgRunEvalSuite";
