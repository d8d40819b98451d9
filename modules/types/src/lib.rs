//! Shared vocabulary of the DeAI chain modules: account addresses, coins, the
//! key-value state traits every module reads and writes through, the layered
//! scratch state used to make a failed transaction write nothing, and gas
//! metering. It owns no state keys of its own.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

pub mod address;
pub mod coin;
pub mod error;
pub mod event;
pub mod gas;
pub mod module;
pub mod query;
pub mod state;
pub mod testing;
pub mod tx_hash;

pub use address::{Address, AddressError, BECH32_PREFIX};
pub use coin::{Coin, CoinError, BASE_DENOM};
pub use error::{ModuleError, MsgError};
pub use event::Event;
pub use gas::{GasConfig, GasMeter, Metered};
pub use module::{
    BlockCtx, BlockHooks, BlockHost, BlockInfo, DecodeCtx, GenesisHandler, GovernedParams,
    HeldElsewhere, HistoryNeed, HookError, Module, ModuleAccount, ModuleMsg, MsgCtx, MsgDecoder,
    MsgHandler, MsgHistory, MsgHost, NonVoting, QueryCtx, QueryHandler, UpdateParams,
    ValidatorUpdate,
};
pub use query::{Page, QueryError};
pub use state::{
    Changes, CountingState, Entries, MarkedState, MemState, StateReadExt, StateWriteExt,
};
pub use state::{Overlay, StateError, StateRead, StateWrite};
pub use tx_hash::tx_hash;
