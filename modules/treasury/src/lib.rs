//! The treasury module owns the DAO's funds: a module account
//! (`Address::module("treasury")`) that anyone may fund, that receives a
//! governable share of every transaction fee, and that pays out only
//! through messages whose authority is the governance module account: a
//! one-shot spend, or a stream paying a fixed amount per block for a number
//! of blocks. A stream pays at the end of a block only when the treasury
//! holds the whole amount and the epoch's spend cap allows it; otherwise it
//! waits and resumes when refilled, so the treasury never goes negative.
//!
//! Block order: the app calls [`end_block`] once per block, after the
//! block's transactions and after governance has executed its proposals.
//!
//! What may stop a block: [`end_block`] returns an error only when storage
//! fails (I/O error, disk full, corruption such as an undecodable record):
//! carrying on past that would diverge from the network. Whatever users or
//! governance can put in state is handled without an error: a stream that
//! cannot be paid (short funds, the epoch cap, an overflowing balance, a
//! recipient the bank refuses) waits with a `treasury_stream_waiting`
//! event, its attempt dropped whole; a queue entry whose stream is gone is
//! dropped with an event; counters saturate; and every parameter and stream
//! is bounded ([`params::TreasuryParams::validate`], `MAX_STREAM_PAYMENTS`).
//!
//! Cost: active streams sit in a payment queue keyed by the height of
//! their next payment, read from a stored cursor, so an end block walks the
//! streams due (at most `max_active_streams`) and never the deletion
//! markers of the payments and streams before it.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod component;
pub mod error;
pub mod event;
pub mod genesis;
pub mod msg;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;

pub use component::TreasuryModule;
use deai_types::{Address, Event, StateWrite};
pub use error::TreasuryError;
pub use genesis::TreasuryGenesis;
pub use params::TreasuryParams;
pub use state::{TreasuryRead, TreasuryWrite};

/// The name of the treasury's module account.
pub const MODULE_NAME: &str = "treasury";

/// The treasury's module account.
pub fn address() -> Address {
    Address::module(MODULE_NAME)
}

/// The only authority that may spend: the governance module account.
pub fn authority() -> Address {
    Address::module("gov")
}

/// Type URL of `MsgFund`.
pub const MSG_FUND_TYPE_URL: &str = "/deai.treasury.v1.MsgFund";
/// Type URL of `MsgSpend`.
pub const MSG_SPEND_TYPE_URL: &str = "/deai.treasury.v1.MsgSpend";
/// Type URL of `MsgCreateStream`.
pub const MSG_CREATE_STREAM_TYPE_URL: &str = "/deai.treasury.v1.MsgCreateStream";
/// Type URL of `MsgCancelStream`.
pub const MSG_CANCEL_STREAM_TYPE_URL: &str = "/deai.treasury.v1.MsgCancelStream";
/// Type URL of `MsgUpdateParams`.
pub const MSG_UPDATE_PARAMS_TYPE_URL: &str = "/deai.treasury.v1.MsgUpdateParams";

/// End-of-block work: pays every active stream that the treasury can afford
/// now. Bounded by `max_active_streams`; errors only when storage fails.
pub fn end_block<S: StateWrite>(state: &mut S, height: u64) -> Result<Vec<Event>, TreasuryError> {
    state.pay_streams(height)
}
