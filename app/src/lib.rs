//! The DeAI chain application. It owns the block lifecycle (InitChain,
//! PrepareProposal, ProcessProposal, FinalizeBlock, Commit), the transaction
//! pipeline (decode and stateless checks in [`tx`], signatures, sequences
//! and fees in [`ante`], messages in [`exec`]), query routing, and the ABCI
//! server that CometBFT v0.38 drives (`deaid devnet` drives the same [`App`]
//! in-process, from the `deai-devnet` crate). Modules are composed
//! through the traits of `deai_types::module`, from one ordered list:
//! [`modules::MODULES`], whose docs give the order and why. Block hooks,
//! queries and messages all go through that list: [`tx::Registry`] hands
//! each message to the module that handles its type URL, and
//! [`exec::AppHost`] is the glue between modules that messages need.
//!
//! Talking to a chain as a user (tx building, signing, the RPC client, the
//! keyring) is `deai-client`'s: this crate carries no HTTP client.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod abci;
pub mod ante;
pub mod app;
pub mod bench;
pub mod end_block;
pub mod error;
pub mod event;
pub mod exec;
pub mod history;
pub mod home;
pub mod modules;
pub mod query;
pub mod rounds_glue;
pub mod state_key;
pub mod statesync;
pub mod tx;

pub use app::{App, BlockOutcome, PreChecked, SigVerifier, TxOutcome};
pub use deai_types::BlockInfo;
pub use error::TxError;
